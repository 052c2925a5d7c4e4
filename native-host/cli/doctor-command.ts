/**
 * `devpay-companion doctor`: runs doctor's checks, prints them as a table (or
 * JSON) and exits with the code of the first failing line's category.
 */
import { Command } from 'commander';
import { ConfigError } from '../../shared/config.ts';
import { runDoctorChecks } from '../doctor/doctor.ts';
import type { CheckCategory, CheckResult, CheckStatus, DoctorDeps, DoctorInput } from '../doctor/types.ts';
import type { Scope } from '../install/browsers.ts';
import { defaultInstallDir } from '../install/layout.ts';
import { currentPlatform } from '../install/this-machine.ts';
import { runReg } from '../install/windows.ts';
import type { Settings, SettingsOptions } from '../settings.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';
import { absoluteDirs, parseBrowsers, writer } from './install-commands.ts';

/** The exit code a failing line of each category gives doctor. */
const EXIT_FOR_CATEGORY: Record<CheckCategory, ExitCode> = {
  configuration: EXIT.USAGE,
  browser: EXIT.OTHER,
  storage: EXIT.STORAGE,
  'license-service': EXIT.SERVICE,
};

export interface DoctorReport {
  ok: boolean;
  /** The first failing line decides. */
  exitCode: ExitCode;
  checks: CheckResult[];
}

export async function runDoctor(input: DoctorInput, deps: DoctorDeps): Promise<DoctorReport> {
  const checks = await runDoctorChecks(input, deps);
  const failed = checks.find((c) => c.status === 'fail');
  return { ok: !failed, exitCode: failed ? EXIT_FOR_CATEGORY[failed.category] : EXIT.OK, checks };
}

const LABEL: Record<CheckStatus, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

/** The table for a terminal: status, check, detail; the fix under each line that needs one. */
export function renderDoctorReport(report: DoctorReport): string {
  const width = Math.min(40, Math.max(...report.checks.map((c) => c.title.length)));
  const lines = report.checks.flatMap((c) => {
    const row = `${LABEL[c.status].padEnd(4)}  ${c.title.padEnd(width)}  ${c.detail}`;
    return c.fix && c.status !== 'ok' ? [row, `${' '.repeat(6 + width)}  fix: ${c.fix}`] : [row];
  });
  const failures = report.checks.filter((c) => c.status === 'fail').length;
  lines.push('');
  lines.push(
    report.ok
      ? 'Everything the companion needs works.'
      : `${failures} check${failures === 1 ? '' : 's'} failed: see the fix lines above.`,
  );
  return `${lines.join('\n')}\n`;
}

/** --json: the same checks, stable field names. */
export function doctorReportJson(report: DoctorReport): string {
  return `${JSON.stringify({ ok: report.ok, exitCode: report.exitCode, checks: report.checks.map(({ id, title, status, detail, fix }) => ({ id, title, status, detail, ...(fix ? { fix } : {}) })) }, null, 2)}\n`;
}

/** Adds `doctor` to the CLI. */
export function registerDoctorCommand(
  program: Command,
  resolveSettings: (opts: SettingsOptions) => Promise<Settings>,
): void {
  program
    .command('doctor')
    .description('check everything the companion needs, each problem with its fix; exits 0 only when all of it works')
    .option('--json', 'print the checks as JSON: {"ok", "exitCode", "checks":[{"id","title","status","detail","fix"}]}')
    .option('--browser <name...>', 'check these browsers (default: those registered and those found here)')
    .option('--system', 'check the system-wide registration')
    .option('--user-data-dir <dir...>', 'also check this Chromium-family profile folder')
    .addHelpText(
      'after',
      '\nExit codes: 0 everything works; 2 the configuration is invalid; 1 a browser registration or the host start fails;\n' +
        '5 the keychain or data folder; 4 the License Service (the first failing line decides).\n',
    )
    .action(
      async (flags: { json?: boolean; browser?: string[]; system?: boolean; userDataDir?: string[] }, cmd: Command) => {
        const globals = cmd.optsWithGlobals<SettingsOptions>();
        const platform = currentPlatform();
        const scope: Scope = flags.system ? 'system' : 'user';
        const browsers = parseBrowsers(flags.browser);
        let context: DoctorInput['context'];
        try {
          context = { ok: true, value: await resolveSettings(globals) };
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          context = { ok: false, message: error.message };
        }
        const installDir = context.ok
          ? defaultInstallDir(platform, scope, context.value.dataDir, context.value.config.vendor.id)
          : '';
        const report = await runDoctor(
          {
            context,
            platform,
            scope,
            installDir,
            ...(browsers ? { browsers } : {}),
            ...(flags.userDataDir ? { userDataDirs: absoluteDirs(flags.userDataDir) } : {}),
            ...(platform.os === 'win32' ? { runReg } : {}),
          },
          await realDoctorDeps(),
        );
        writer(cmd)(flags.json ? doctorReportJson(report) : renderDoctorReport(report));
        process.exitCode = report.exitCode;
      },
    );
}

/** The real keychain and License Service checks, loaded only when doctor runs (keytar is a native addon). */
export async function realDoctorDeps(): Promise<DoctorDeps> {
  const [{ probeKeychain, keychainServiceName }, { pingLicenseService }] = await Promise.all([
    import('../store/keychain.ts'),
    import('../license-service/client.ts'),
  ]);
  return {
    probeKeychain: (service, timeoutMs) => probeKeychain(service, timeoutMs),
    keychainService: keychainServiceName,
    pingLicenseService: (endpoint, options) => pingLicenseService(endpoint, options),
  };
}
