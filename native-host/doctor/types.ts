/**
 * What doctor's checks take and give: the input (settings, platform, scope), the
 * probes that reach outside (injected, so doctor loads no native addon until it
 * runs), and each check's result, tagged with the category of what it checked
 * (the CLI turns the first failing category into an exit code).
 */
import type { BrowserFamily, BrowserId, Exists, InstallPlatform, Scope } from '../install/browsers.ts';
import type { HostLayout } from '../install/layout.ts';
import type { RegRunner } from '../install/windows.ts';
import type { Settings } from '../settings.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** What a check is about: the vendor configuration, the browsers' registration and the host start, keychain or data folder, the License Service. */
export type CheckCategory = 'configuration' | 'browser' | 'storage' | 'license-service';

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  /** What to do; set on warn and fail. */
  fix?: string;
  category: CheckCategory;
}

export type KeychainProbeResult = { ok: true } | { ok: false; code: string; message: string };
export type LicenseServicePing = { ok: true; requestId?: string } | { ok: false; code: string; message: string };

export interface DoctorDeps {
  probeKeychain(service: string, timeoutMs: number): Promise<KeychainProbeResult>;
  keychainService(vendorId: string): string;
  pingLicenseService(endpoint: string, options: { caPem?: string; timeoutMs: number }): Promise<LicenseServicePing>;
}

export interface DoctorInput {
  /** The resolved settings, or why they could not be resolved (then only that is reported). */
  context: { ok: true; value: Settings } | { ok: false; message: string };
  platform: InstallPlatform;
  scope: Scope;
  installDir: string;
  browsers?: BrowserId[];
  userDataDirs?: string[];
  exists?: Exists;
  runReg?: RegRunner;
  timeouts?: { handshakeMs?: number; keychainMs?: number; licenseServiceMs?: number };
  /** The environment the handshake starts the host with (a browser passes its own). */
  env?: NodeJS.ProcessEnv;
}

/** A manifest a browser would read, usable as far as doctor can tell: what it starts. */
export interface UsableManifest {
  executable: string;
  family: BrowserFamily;
  manifestPath: string;
  flatpak?: boolean;
}

/** One doctor run, as every check sees it (once the settings resolved). */
export interface DoctorRun {
  input: DoctorInput;
  deps: DoctorDeps;
  settings: Settings;
  layout: HostLayout;
  timeouts: { handshakeMs: number; keychainMs: number; licenseServiceMs: number };
  /** Filled by the manifest checks, for the handshake. */
  usableManifests: UsableManifest[];
}

/** One line (or several) of doctor's table. */
export type DoctorCheck = (run: DoctorRun) => Promise<CheckResult[]>;
