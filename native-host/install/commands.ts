/**
 * `install`, `uninstall` and `doctor`: the command-line side of registering the
 * host with the customer's browsers. The work is done in install.ts and doctor.ts;
 * this file turns flags and the process into their inputs and their results into
 * text and exit codes.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { ConfigError } from '../../shared/config.ts';
import { ENV, type GlobalOptions, type HostContext } from '../cli/context.ts';
import { EXIT } from '../cli/exit-codes.ts';
import { CliError } from '../errors.ts';
import { BROWSER_IDS, BROWSERS, browserSpec, isBrowserId, type BrowserId, type InstallPlatform, type OsName, type Scope } from './browsers.ts';
import { doctorReportJson, renderDoctorReport, runDoctor, type DoctorDeps } from './doctor.ts';
import { defaultInstallDir, InstallError, installHost, uninstallHost, type InstallReport, type UninstallReport } from './install.ts';
import { detectSandboxedBrowsers } from './sandbox.ts';
import { runReg } from './windows.ts';
import { isPackaged } from '../sea/packaged.ts';

export const HOST_BUNDLE_NAME = 'devpay-companion.mjs';

/**
 * The host program a launcher should run: this very file when running the bundle,
 * else the bundle built from these sources (dist/devpay-companion.mjs), which starts
 * much faster than the TypeScript sources (see scripts/bench-host-startup.mjs).
 * The packaged executable runs itself.
 */
export function defaultHostScript(moduleUrl: string = import.meta.url): string {
  if (isPackaged()) return process.execPath;
  const here = fileURLToPath(moduleUrl);
  if (basename(here) === HOST_BUNDLE_NAME) return here;
  return resolve(dirname(here), '..', '..', 'dist', HOST_BUNDLE_NAME);
}

/** This machine as install sees it; HOME from the given environment (so tests and the e2e can use a temp home). */
export function currentPlatform(env: NodeJS.ProcessEnv = process.env): InstallPlatform {
  const os = process.platform;
  if (os !== 'linux' && os !== 'darwin' && os !== 'win32') {
    throw new CliError(`This operating system (${os}) is not supported: Linux, macOS and Windows are.`, EXIT.USAGE);
  }
  const home = os !== 'win32' && env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir();
  return { os: os as OsName, home, env };
}

/**
 * What the launcher pins so a browser-started host uses the settings install saw:
 * the configuration and (per user) the data folder always; the License Service when
 * it differs from the configuration's (given by flag or variable), and the CA file
 * when there is one.
 */
export function launcherEnvironment(ctx: HostContext, scope: Scope): Record<string, string> {
  const pinned: Record<string, string> = { [ENV.config]: ctx.configPath };
  if (scope === 'user') pinned[ENV.dataDir] = ctx.dataDir;
  if (ctx.licenseService !== new URL(ctx.config.licenseService).toString()) pinned[ENV.licenseService] = ctx.licenseService;
  if (ctx.caFile) pinned[ENV.caFile] = ctx.caFile;
  return pinned;
}

export interface ContextInstallOptions {
  scope?: Scope;
  /** Default: every browser found (none when userDataDirs or flatpak is given). */
  browsers?: BrowserId[];
  /** Chromium-family profile folders (absolute): manifest in DIR/NativeMessagingHosts/. */
  userDataDirs?: string[];
  flatpak?: boolean;
  /** Default: defaultHostScript(). */
  hostScript?: string;
  /** Default: process.execPath. */
  nodePath?: string;
  /** Default: process.env (HOME, XDG_CONFIG_HOME, PATH decide the folders). */
  env?: NodeJS.ProcessEnv;
}

function layoutFor(ctx: HostContext, options: ContextInstallOptions) {
  const platform = currentPlatform(options.env ?? process.env);
  const scope = options.scope ?? 'user';
  return { platform, scope, config: ctx.config, installDir: defaultInstallDir(platform, scope, ctx.dataDir, ctx.config.vendor.id) };
}

/** `install` for code (the end-to-end tests): the same as the command with these settings. */
export function installForContext(ctx: HostContext, options: ContextInstallOptions = {}): Promise<InstallReport> {
  const layout = layoutFor(ctx, options);
  return installHost({
    layout,
    nodePath: options.nodePath ?? process.execPath,
    hostScript: resolve(options.hostScript ?? defaultHostScript()),
    launcherEnv: launcherEnvironment(ctx, layout.scope),
    browsers: options.browsers,
    userDataDirs: options.userDataDirs,
    flatpak: options.flatpak,
    ...(layout.platform.os === 'win32' ? { runReg } : {}),
  });
}

/** `uninstall` for code: removes what installForContext wrote with the same options. */
export function uninstallForContext(ctx: HostContext, options: ContextInstallOptions = {}): Promise<UninstallReport> {
  const layout = layoutFor(ctx, options);
  return uninstallHost({
    layout,
    browsers: options.browsers,
    userDataDirs: options.userDataDirs,
    flatpak: options.flatpak,
    ...(layout.platform.os === 'win32' ? { runReg } : {}),
  });
}

function parseBrowsers(names: string[] | undefined): BrowserId[] | undefined {
  if (!names || names.length === 0) return undefined;
  const ids = names.flatMap((n) => n.split(',')).map((n) => n.trim().toLowerCase()).filter(Boolean);
  const unknown = ids.filter((n) => !isBrowserId(n));
  if (unknown.length > 0) {
    throw new CliError(`Unknown browser ${unknown.join(', ')}: choose from ${BROWSER_IDS.join(', ')}.`, EXIT.USAGE);
  }
  return [...new Set(ids as BrowserId[])];
}

function absoluteDirs(dirs: string[] | undefined): string[] | undefined {
  return dirs && dirs.length > 0 ? dirs.map((d) => resolve(d)) : undefined;
}

function toCliError(error: unknown): unknown {
  if (error instanceof InstallError) return new CliError(error.message, error.kind === 'usage' ? EXIT.USAGE : EXIT.OTHER);
  return error;
}

function browserNames(ids: readonly BrowserId[]): string {
  return ids.map((b) => browserSpec(b).name).join(', ');
}

function describeInstall(report: InstallReport, hostName: string, scope: Scope): string {
  const lines = [`Registered the native messaging host ${hostName}${scope === 'system' ? ' for every user' : ''}.`, `  launcher: ${report.launcher}${report.launcherChanged ? '' : ' (unchanged)'}`];
  for (const m of report.manifests) {
    const where = m.registryKey ? `${m.registryKey} -> ${m.path}` : m.path;
    lines.push(`  ${browserNames(m.browsers)}${m.flatpak ? ` (Flatpak ${m.flatpak})` : ''}: ${where}${m.changed ? '' : ' (unchanged)'}`);
  }
  for (const s of report.skipped) lines.push(`  skipped ${isBrowserId(s.browser) ? browserSpec(s.browser).name : s.browser}: ${s.reason}`);
  for (const w of report.warnings) lines.push(`  warning: ${w}`);
  const flatpaks = report.manifests.filter((m) => m.flatpak).map((m) => m.flatpak!);
  for (const appId of flatpaks) lines.push(`  next: allow the Flatpak to start it: flatpak override --user --talk-name=org.freedesktop.Flatpak ${appId}`);
  lines.push('Restart the browser if it was running, then check everything with: devpay-companion doctor');
  return `${lines.join('\n')}\n`;
}

function describeUninstall(report: UninstallReport): string {
  const lines: string[] = [];
  if (report.removed.length === 0 && report.registryCommands.length === 0) lines.push('Nothing of this installation was found; nothing removed.');
  else lines.push('Removed:', ...report.removed.map((p) => `  ${p}`), ...report.registryCommands.map((c) => `  registry key ${c[2]}`));
  for (const left of report.leftAlone) lines.push(`  left alone ${left.path}: ${left.reason}`);
  if (!report.complete) lines.push('The host stays registered with the other browsers.');
  return `${lines.join('\n')}\n`;
}

function sandboxAdvice(platform: InstallPlatform, hostName: string, loopbackPort: number): string {
  const findings = detectSandboxedBrowsers(platform, existsSync, hostName, loopbackPort);
  if (findings.length === 0) return '';
  const lines = ['Sandboxed browsers found:'];
  for (const f of findings) {
    lines.push(`  ${browserSpec(f.browser).name} (${f.packaging} ${f.appId}): ${f.summary}`);
    for (const step of f.steps) lines.push(`    - ${step}`);
  }
  return `${lines.join('\n')}\n`;
}

interface TargetFlags {
  browser?: string[];
  system?: boolean;
  userDataDir?: string[];
  flatpak?: boolean;
}

function addTargetOptions(command: Command, verb: string): Command {
  return command
    .option('--browser <name...>', `only these browsers (${BROWSER_IDS.join(', ')}); default: every browser found here`)
    .option('--system', `${verb} for every user (needs administrator rights; HKLM on Windows)`)
    .option('--user-data-dir <dir...>', 'a Chromium-family profile folder started with --user-data-dir (manifest in DIR/NativeMessagingHosts/)')
    .option('--flatpak', 'also the Flatpak browsers found (Linux, per user): a manifest and wrapper inside each sandbox');
}

function writer(cmd: Command): (text: string) => void {
  const out = cmd.configureOutput().writeOut;
  return out ? (text) => out(text) : (text) => void process.stdout.write(text);
}

/** Adds `install`, `uninstall` and `doctor` to the CLI. */
export function registerInstallCommands(program: Command, resolveContext: (opts: GlobalOptions) => Promise<HostContext>): void {
  const browserList = BROWSERS.map((b) => `  ${b.id.padEnd(14)} ${b.name}`).join('\n');

  addTargetOptions(
    program.command('install').description("register the native messaging host with the browsers (writes each browser's host manifest and a launcher)"),
    'register',
  )
    .option('--host-script <file>', `the host program the launcher runs (default: the ${HOST_BUNDLE_NAME} bundle)`)
    .addHelpText('after', `\nBrowsers:\n${browserList}\n\nRunning it again is harmless: unchanged files are left as they are.\n`)
    .action(async (flags: TargetFlags & { hostScript?: string }, cmd: Command) => {
      const ctx = await resolveContext(cmd.optsWithGlobals<GlobalOptions>());
      const scope: Scope = flags.system ? 'system' : 'user';
      try {
        const report = await installForContext(ctx, {
          scope,
          browsers: parseBrowsers(flags.browser),
          userDataDirs: absoluteDirs(flags.userDataDir),
          flatpak: flags.flatpak,
          hostScript: flags.hostScript,
        });
        const write = writer(cmd);
        write(describeInstall(report, ctx.config.nativeHostName, scope));
        if (!flags.flatpak) write(sandboxAdvice(currentPlatform(), ctx.config.nativeHostName, ctx.config.loopbackPort));
        process.exitCode = EXIT.OK;
      } catch (error) {
        throw toCliError(error);
      }
    });

  addTargetOptions(program.command('uninstall').description('remove what install wrote (manifests, registry keys, the launcher), and nothing else'), 'unregister').action(
    async (flags: TargetFlags, cmd: Command) => {
      const ctx = await resolveContext(cmd.optsWithGlobals<GlobalOptions>());
      try {
        const report = await uninstallForContext(ctx, {
          scope: flags.system ? 'system' : 'user',
          browsers: parseBrowsers(flags.browser),
          userDataDirs: absoluteDirs(flags.userDataDir),
          flatpak: flags.flatpak,
        });
        writer(cmd)(describeUninstall(report));
        process.exitCode = EXIT.OK;
      } catch (error) {
        throw toCliError(error);
      }
    },
  );

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
    .action(async (flags: { json?: boolean; browser?: string[]; system?: boolean; userDataDir?: string[] }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const platform = currentPlatform();
      const scope: Scope = flags.system ? 'system' : 'user';
      const browsers = parseBrowsers(flags.browser);
      let context: Parameters<typeof runDoctor>[0]['context'];
      try {
        context = { ok: true, value: await resolveContext(globals) };
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        context = { ok: false, message: error.message };
      }
      const installDir = context.ok ? defaultInstallDir(platform, scope, context.value.dataDir, context.value.config.vendor.id) : '';
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
    });
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
