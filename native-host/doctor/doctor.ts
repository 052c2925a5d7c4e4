/**
 * `doctor`: every check the companion needs to work, in the order the table
 * shows them. Only the configuration line when the settings cannot be resolved.
 */
import {
  checkConfig,
  checkDataFolder,
  checkHandshake,
  checkKeychain,
  checkLicenseService,
  checkSandboxedBrowsers,
} from './checks.ts';
import { checkManifests } from './manifest-checks.ts';
import type { CheckResult, DoctorCheck, DoctorDeps, DoctorInput, DoctorRun } from './types.ts';

/** After the configuration line; the manifest checks come before the handshake, which starts the host from one of them. */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  checkManifests,
  checkSandboxedBrowsers,
  checkHandshake,
  checkKeychain,
  checkLicenseService,
  checkDataFolder,
];

export async function runDoctorChecks(input: DoctorInput, deps: DoctorDeps): Promise<CheckResult[]> {
  const config = checkConfig(input.context);
  if (!input.context.ok) return [config];
  const settings = input.context.value;
  const run: DoctorRun = {
    input,
    deps,
    settings,
    layout: { platform: input.platform, scope: input.scope, config: settings.config, installDir: input.installDir },
    timeouts: { handshakeMs: 10_000, keychainMs: 5_000, licenseServiceMs: 10_000, ...input.timeouts },
    usableManifests: [],
  };
  const checks = [config];
  for (const check of DOCTOR_CHECKS) checks.push(...(await check(run)));
  return checks;
}
