/**
 * `devpay-companion doctor`: one table of everything the customer needs, each
 * failing line with its fix. The checks that reach outside (keychain, License
 * Service) are injected, so this module stays testable and loads no native addon.
 */
import { existsSync } from 'node:fs';
import { access, constants, lstat, readdir, readFile, stat } from 'node:fs/promises';
import type { VendorConfig } from '../../shared/config.ts';
import { EXIT, type ExitCode } from '../cli/exit-codes.ts';
import {
  BROWSERS,
  browserSpec,
  detectBrowsers,
  manifestDir,
  pathFor,
  registryKey,
  type BrowserFamily,
  type BrowserId,
  type Exists,
  type InstallPlatform,
  type Scope,
} from './browsers.ts';
import { helloHandshake } from './handshake.ts';
import { launcherPath, recordPath, type HostLayout } from './install.ts';
import { checkManifest, chromiumOrigin, manifestFileName } from './manifest.ts';
import { readRecord } from './record.ts';
import { detectSandboxedBrowsers } from './sandbox.ts';
import { parseRegQueryDefault, regQueryCommand, windowsManifestPath, type RegRunner } from './windows.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  /** What to do; set on warn and fail. */
  fix?: string;
  /** The exit code a failure of this check gives `doctor`. */
  exitCode: ExitCode;
}

export interface DoctorReport {
  ok: boolean;
  exitCode: ExitCode;
  checks: CheckResult[];
}

export type KeychainProbeResult = { ok: true } | { ok: false; code: string; message: string };
export type LicenseServicePing = { ok: true; requestId?: string } | { ok: false; code: string; message: string };

export interface DoctorDeps {
  probeKeychain(service: string, timeoutMs: number): Promise<KeychainProbeResult>;
  keychainService(vendorId: string): string;
  pingLicenseService(endpoint: string, options: { caPem?: string; timeoutMs: number }): Promise<LicenseServicePing>;
}

export interface DoctorContext {
  config: VendorConfig;
  configPath: string;
  dataDir: string;
  licenseService: string;
  caFile: string | undefined;
}

export interface DoctorInput {
  /** The resolved settings, or why they could not be resolved (then only that is reported). */
  context: { ok: true; value: DoctorContext } | { ok: false; message: string };
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

const INSTALL_CMD = 'devpay-companion install';

function install(browser?: string, extra = ''): string {
  return `run \`${INSTALL_CMD}${browser ? ` --browser ${browser}` : ''}${extra}\``;
}

/** One browser (or profile folder) whose manifest we look at. */
interface ManifestSubject {
  id: string;
  label: string;
  family: BrowserFamily;
  manifestPath: string;
  /** Registered by install (recorded) or named by the customer: a problem is a failure. */
  required: boolean;
  /** For the fix line. */
  browser?: BrowserId;
  extraInstallArgs?: string;
  registryKey?: string;
  /** A Flatpak sandbox's manifest: its `path` is a wrapper that only works inside the sandbox. */
  flatpak?: boolean;
}

interface ManifestOutcome {
  check: CheckResult;
  /** Set when the manifest is usable: what the browser would start. */
  executable?: string;
  family: BrowserFamily;
  manifestPath: string;
  flatpak?: boolean;
}

async function isExecutable(path: string, os: InstallPlatform['os']): Promise<boolean> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return false;
    if (os === 'win32') return /\.(bat|cmd|exe)$/i.test(path);
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function checkOneManifest(subject: ManifestSubject, config: VendorConfig, os: InstallPlatform['os'], runReg?: RegRunner): Promise<ManifestOutcome> {
  const base = { id: `manifest:${subject.id}`, title: `${subject.label}: manifest`, exitCode: EXIT.OTHER };
  const fail = (detail: string, fix: string): ManifestOutcome => ({
    check: { ...base, status: subject.required ? 'fail' : 'warn', detail, fix },
    family: subject.family,
    manifestPath: subject.manifestPath,
  });
  const reinstall = install(subject.browser, subject.extraInstallArgs ?? '');

  if (subject.registryKey && runReg) {
    const query = await runReg(regQueryCommand(subject.registryKey));
    const value = query.ok ? parseRegQueryDefault(query.stdout) : undefined;
    if (value === undefined) return fail(`registry key ${subject.registryKey} is missing`, reinstall);
    if (value.toLowerCase() !== subject.manifestPath.toLowerCase()) return fail(`registry key ${subject.registryKey} points at ${value}`, reinstall);
  }

  let text: string;
  try {
    const info = await stat(subject.manifestPath);
    if (info.size > 64 * 1024) return fail(`${subject.manifestPath} is too large to be a host manifest`, reinstall);
    text = await readFile(subject.manifestPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fail(code === 'ENOENT' ? `missing: ${subject.manifestPath}` : `cannot read ${subject.manifestPath} (${code})`, reinstall);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return fail(`${subject.manifestPath} is not valid JSON`, reinstall);
  }
  const found = checkManifest(data, subject.family, config);
  if (found.problems.length > 0) {
    const idFix = found.missingIds.length > 0 ? `${reinstall} (it writes the extension IDs of the vendor configuration)` : reinstall;
    return fail(`${subject.manifestPath}: ${found.problems.join('; ')}`, idFix);
  }
  const exe = found.path!;
  if (!pathFor(os).isAbsolute(exe)) return fail(`"path" ${exe} is not absolute (browsers on Linux and macOS need an absolute path)`, reinstall);
  if (!(await isExecutable(exe, os))) {
    const exists = existsSync(exe);
    return fail(
      exists ? `the launcher ${exe} is not executable` : `the launcher ${exe} does not exist`,
      exists && os !== 'win32' ? `run \`chmod u+x ${exe}\`, or ${reinstall}` : reinstall,
    );
  }
  const extra = found.extraIds.length > 0 ? `; also allows ${found.extraIds.join(', ')}` : '';
  return {
    check: { ...base, status: 'ok', detail: `${subject.manifestPath} starts ${exe}${extra}` },
    executable: exe,
    family: subject.family,
    manifestPath: subject.manifestPath,
    ...(subject.flatpak ? { flatpak: true } : {}),
  };
}

/** Which manifests to look at: recorded ones, requested ones, and those of browsers found here. */
async function manifestSubjects(input: DoctorInput, layout: HostLayout): Promise<ManifestSubject[]> {
  const { platform, scope } = input;
  const config = layout.config;
  const path = pathFor(platform.os);
  const hostName = config.nativeHostName;
  const subjects = new Map<string, ManifestSubject>();
  const add = (s: ManifestSubject) => {
    const existing = subjects.get(s.manifestPath + (s.registryKey ?? ''));
    if (existing) existing.required ||= s.required;
    else subjects.set(s.manifestPath + (s.registryKey ?? ''), s);
  };
  const allowed = (family: BrowserFamily) => (family === 'chromium' ? config.extensions.chromium : config.extensions.firefox).length > 0;

  const subjectFor = (id: BrowserId, required: boolean): ManifestSubject | undefined => {
    const spec = browserSpec(id);
    if (!allowed(spec.family)) return undefined;
    const extra = scope === 'system' ? ' --system' : '';
    if (platform.os === 'win32') {
      return {
        id,
        label: spec.name,
        family: spec.family,
        manifestPath: windowsManifestPath(layout.installDir, hostName, spec.family),
        registryKey: registryKey(spec, scope, hostName),
        required,
        browser: id,
        extraInstallArgs: extra,
      };
    }
    const dir = manifestDir(spec, scope, platform);
    if (!dir) return undefined;
    return { id, label: spec.name, family: spec.family, manifestPath: path.join(dir, manifestFileName(hostName)), required, browser: id, extraInstallArgs: extra };
  };

  const read = await readRecord(recordPath(layout));
  if (read.state === 'ok') {
    for (const file of read.record.files) {
      if (file.kind !== 'manifest') continue;
      const first = file.browsers[0];
      if (!first) continue;
      const spec = browserSpec(first);
      if (platform.os === 'win32') {
        for (const b of file.browsers) {
          const s = subjectFor(b, true);
          if (s) add(s);
        }
        continue;
      }
      const label = file.flatpak ? `${spec.name} (Flatpak ${file.flatpak})` : file.browsers.map((b) => browserSpec(b).name).join(', ');
      const standard = manifestDir(spec, scope, platform);
      const isProfile = !file.flatpak && standard !== undefined && path.dirname(file.path) !== standard;
      add({
        id: file.flatpak ? `${first}-flatpak` : isProfile ? `profile:${path.dirname(path.dirname(file.path))}` : file.browsers.join('+'),
        label: isProfile ? `${spec.name} profile ${path.dirname(path.dirname(file.path))}` : label,
        family: spec.family,
        manifestPath: file.path,
        required: true,
        browser: first,
        extraInstallArgs: isProfile ? ` --user-data-dir ${path.dirname(path.dirname(file.path))}` : file.flatpak ? ' --flatpak' : scope === 'system' ? ' --system' : '',
        ...(file.flatpak ? { flatpak: true } : {}),
      });
    }
  }
  for (const dir of input.userDataDirs ?? []) {
    add({
      id: `profile:${dir}`,
      label: `Chromium profile ${dir}`,
      family: 'chromium',
      manifestPath: path.join(dir, 'NativeMessagingHosts', manifestFileName(hostName)),
      required: true,
      browser: 'chromium',
      extraInstallArgs: ` --user-data-dir ${dir}`,
    });
  }
  if (input.browsers && input.browsers.length > 0) {
    for (const b of input.browsers) {
      const s = subjectFor(b, true);
      if (s) add(s);
    }
  } else if (!(input.userDataDirs && input.userDataDirs.length > 0)) {
    for (const spec of detectBrowsers(platform, input.exists ?? existsSync)) {
      const s = subjectFor(spec.id, false);
      if (s) add(s);
    }
  }
  return [...subjects.values()];
}

async function checkDataFolder(dataDir: string, os: InstallPlatform['os']): Promise<CheckResult> {
  const base = { id: 'data-folder', title: 'Data folder permissions', exitCode: EXIT.STORAGE };
  if (os === 'win32') return { ...base, status: 'skip', detail: `${dataDir} (Windows: protected by the user profile's ACLs)` };
  let info;
  try {
    info = await lstat(dataDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ...base, status: 'ok', detail: `${dataDir} does not exist yet (created 0700 at the first activation)` };
    return { ...base, status: 'fail', detail: `cannot read ${dataDir} (${(error as NodeJS.ErrnoException).code})`, fix: `check the folder's owner and permissions` };
  }
  const fixAll = `run \`chmod -R go-rwx ${dataDir}\``;
  if (info.isSymbolicLink() || !info.isDirectory()) return { ...base, status: 'fail', detail: `${dataDir} is not a folder`, fix: `move it away; it is recreated at the next activation` };
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    return { ...base, status: 'fail', detail: `${dataDir} belongs to user ${info.uid}, not to you (${uid})`, fix: `run \`sudo chown -R ${uid} ${dataDir}\`` };
  }
  const exposed: string[] = [];
  if ((info.mode & 0o077) !== 0) exposed.push(`${dataDir} (${(info.mode & 0o777).toString(8)})`);
  // Bounded walk: the folder holds a handful of files.
  const queue: { dir: string; depth: number }[] = [{ dir: dataDir, depth: 0 }];
  let seen = 0;
  while (queue.length > 0 && seen < 2000) {
    const { dir, depth } = queue.shift()!;
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      exposed.push(`${dir} (unreadable)`);
      continue;
    }
    for (const name of entries) {
      seen++;
      const p = `${dir}/${name}`;
      const s = await lstat(p).catch(() => undefined);
      if (!s || s.isSymbolicLink()) continue;
      if ((s.mode & 0o077) !== 0) exposed.push(`${p} (${(s.mode & 0o777).toString(8)})`);
      if (s.isDirectory() && depth < 4) queue.push({ dir: p, depth: depth + 1 });
    }
  }
  if (exposed.length > 0) {
    const shown = exposed.slice(0, 3).join(', ') + (exposed.length > 3 ? ` and ${exposed.length - 3} more` : '');
    return { ...base, status: 'fail', detail: `readable by other users: ${shown}`, fix: fixAll };
  }
  return { ...base, status: 'ok', detail: `${dataDir}: only you can read it (folders 0700, files 0600)` };
}

const KEYCHAIN_FIX: Record<string, Partial<Record<InstallPlatform['os'], string>> & { default: string }> = {
  KEYCHAIN_UNAVAILABLE: {
    linux: 'start a Secret Service in your desktop session (GNOME Keyring or KWallet), e.g. install gnome-keyring and log out and in',
    darwin: 'open Keychain Access and check that a login keychain exists',
    default: 'check that the system credential store is available to your user',
  },
  KEYCHAIN_LOCKED: {
    linux: 'unlock your login keyring (Passwords and Keys / Seahorse), or log out and in',
    darwin: 'unlock the login keychain in Keychain Access',
    default: 'unlock the system credential store',
  },
};

const SERVICE_FIX: Record<string, string> = {
  SERVICE_UNTRUSTED: 'the certificate is not trusted: check the computer clock and any HTTPS-inspecting proxy or antivirus (or pass --ca-file for a private CA)',
  SERVICE_UNAVAILABLE: 'check the network connection, proxy and firewall, then try again later',
  VENDOR_CONFIGURATION: 'the License Service address is not usable: correct licenseService in the vendor configuration or --license-service',
  SERVICE_BAD_ANSWER: 'something between you and the License Service answers instead of it (a captive portal or proxy?): check --license-service and the network',
};

function firstChromium(config: VendorConfig): string | undefined {
  return config.extensions.chromium[0];
}

export async function runDoctor(input: DoctorInput, deps: DoctorDeps): Promise<DoctorReport> {
  const checks: CheckResult[] = [];
  const timeouts = { handshakeMs: 10_000, keychainMs: 5_000, licenseServiceMs: 10_000, ...input.timeouts };

  if (!input.context.ok) {
    checks.push({
      id: 'config',
      title: 'Vendor configuration',
      status: 'fail',
      detail: input.context.message,
      fix: 'correct the file (each problem is listed), or pass --config FILE',
      exitCode: EXIT.USAGE,
    });
    return finish(checks);
  }
  const ctx = input.context.value;
  const config = ctx.config;
  checks.push({
    id: 'config',
    title: 'Vendor configuration',
    status: 'ok',
    detail: `${ctx.configPath}: ${config.vendor.name}, ${config.products.length} product${config.products.length === 1 ? '' : 's'}, host ${config.nativeHostName}`,
    exitCode: EXIT.USAGE,
  });

  // Browsers and their manifests.
  const layout: HostLayout = { platform: input.platform, scope: input.scope, config, installDir: input.installDir };
  const subjects = await manifestSubjects(input, layout);
  const outcomes: ManifestOutcome[] = [];
  for (const subject of subjects) outcomes.push(await checkOneManifest(subject, config, input.platform.os, input.runReg));
  checks.push(...outcomes.map((o) => o.check));
  const usable = outcomes.filter((o) => o.executable);
  if (subjects.length === 0 || (usable.length === 0 && !outcomes.some((o) => o.check.status === 'fail'))) {
    checks.push({
      id: 'browsers',
      title: 'Browsers',
      status: 'fail',
      detail: subjects.length === 0 ? 'no supported browser found, and the companion is registered with none' : 'the companion is registered with no browser',
      fix: `${install()} (or name one: --browser ${BROWSERS.map((b) => b.id).join('|')})`,
      exitCode: EXIT.OTHER,
    });
  }
  for (const finding of detectSandboxedBrowsers(input.platform, input.exists ?? existsSync, config.nativeHostName, config.loopbackPort)) {
    checks.push({
      id: `sandbox:${finding.appId}`,
      title: `${browserSpec(finding.browser).name} (${finding.packaging} ${finding.appId})`,
      status: finding.support === 'works' ? 'ok' : 'warn',
      detail: finding.summary,
      ...(finding.support === 'works' ? {} : { fix: finding.steps.join(' ') }),
      exitCode: EXIT.OTHER,
    });
  }

  // The host answers a browser-like start.
  const handshakeBase = { id: 'handshake', title: 'Host answers a browser', exitCode: EXIT.OTHER };
  // Prefer a browser outside any sandbox; a Flatpak wrapper only works inside its sandbox, so for
  // those the launcher it relays to is started directly.
  const byPreference = [...usable].sort((a, b) => Number(a.flatpak ?? false) - Number(b.flatpak ?? false));
  const chromiumTarget = byPreference.find((o) => o.family === 'chromium');
  const firefoxTarget = byPreference.find((o) => o.family === 'firefox');
  const firstId = firstChromium(config);
  const chosen = chromiumTarget && firstId ? chromiumTarget : firefoxTarget;
  const target = chosen?.flatpak ? { ...chosen, executable: launcherPath(layout) } : chosen;
  if (!target) {
    const launcher = launcherPath(layout);
    checks.push({ ...handshakeBase, status: 'fail', detail: 'no usable manifest to start the host from', fix: `fix the manifest lines above (launcher: ${launcher})` });
  } else {
    const args = target.family === 'chromium' ? [chromiumOrigin(firstId!)] : [target.manifestPath, config.extensions.firefox[0]!];
    const result = await helloHandshake({ executable: target.executable!, args, timeoutMs: timeouts.handshakeMs, env: input.env });
    if (result.ok) {
      const version = typeof result.reply.hostVersion === 'string' ? ` ${result.reply.hostVersion}` : '';
      checks.push({ ...handshakeBase, status: 'ok', detail: `host${version} answered hello in ${result.ms} ms (${target.executable})` });
    } else {
      checks.push({
        ...handshakeBase,
        status: 'fail',
        detail: `${target.executable}: ${result.detail}`,
        fix:
          result.reason === 'spawn'
            ? `${install()} to rewrite the launcher`
            : `run \`${target.executable} ${args.join(' ')}\` in a terminal to see what it prints, or ${install()} to rewrite the launcher`,
      });
    }
  }

  // The keychain: write, read and delete a probe entry.
  const keychain = await deps.probeKeychain(deps.keychainService(config.vendor.id), timeouts.keychainMs).catch(
    (error: unknown): KeychainProbeResult => ({ ok: false, code: 'KEYCHAIN_UNAVAILABLE', message: (error as Error).message }),
  );
  if (keychain.ok) checks.push({ id: 'keychain', title: 'Keychain', status: 'ok', detail: 'a probe entry was written, read back and deleted', exitCode: EXIT.STORAGE });
  else {
    const fixes = KEYCHAIN_FIX[keychain.code] ?? KEYCHAIN_FIX.KEYCHAIN_UNAVAILABLE!;
    checks.push({
      id: 'keychain',
      title: 'Keychain',
      status: 'fail',
      detail: `${keychain.code}: ${keychain.message}`,
      fix: fixes[input.platform.os] ?? fixes.default,
      exitCode: EXIT.STORAGE,
    });
  }

  // The License Service over verified HTTPS.
  let caPem: string | undefined;
  if (ctx.caFile) caPem = await readFile(ctx.caFile, 'utf8').catch(() => undefined);
  const ping = await deps
    .pingLicenseService(ctx.licenseService, { ...(caPem !== undefined ? { caPem } : {}), timeoutMs: timeouts.licenseServiceMs })
    .catch((error: unknown): LicenseServicePing => ({ ok: false, code: 'SERVICE_UNAVAILABLE', message: (error as Error).message }));
  if (ping.ok) {
    checks.push({
      id: 'license-service',
      title: 'License Service',
      status: 'ok',
      detail: `${ctx.licenseService} answered over verified HTTPS${ping.requestId ? ` (request ${ping.requestId})` : ''}`,
      exitCode: EXIT.SERVICE,
    });
  } else {
    checks.push({
      id: 'license-service',
      title: 'License Service',
      status: 'fail',
      detail: `${ctx.licenseService}: ${ping.code}: ${ping.message}`,
      fix: SERVICE_FIX[ping.code] ?? SERVICE_FIX.SERVICE_UNAVAILABLE!,
      exitCode: EXIT.SERVICE,
    });
  }

  checks.push(await checkDataFolder(ctx.dataDir, input.platform.os));
  return finish(checks);
}

function finish(checks: CheckResult[]): DoctorReport {
  const failed = checks.find((c) => c.status === 'fail');
  return { ok: !failed, exitCode: failed ? failed.exitCode : EXIT.OK, checks };
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
  lines.push(report.ok ? 'Everything the companion needs works.' : `${failures} check${failures === 1 ? '' : 's'} failed: see the fix lines above.`);
  return `${lines.join('\n')}\n`;
}

/** --json: the same checks, stable field names. */
export function doctorReportJson(report: DoctorReport): string {
  return `${JSON.stringify({ ok: report.ok, exitCode: report.exitCode, checks: report.checks.map(({ id, title, status, detail, fix }) => ({ id, title, status, detail, ...(fix ? { fix } : {}) })) }, null, 2)}\n`;
}

