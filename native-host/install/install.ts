/**
 * Registers the native host with browsers (install) and removes exactly that
 * registration (uninstall). Pure of the running machine: every folder comes from
 * an InstallPlatform, so tests install for Linux and macOS layouts into temp homes.
 *
 * Layout written by install:
 *   <installDir>/<hostName>            the launcher (.bat on Windows)
 *   <installDir>/install-record.json   what was written (0600)
 *   <browser manifest folder>/<hostName>.json   per browser (Linux, macOS)
 *   <installDir>/<hostName>.<family>.json + registry keys  (Windows)
 */
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { VendorConfig } from '../../shared/config.ts';
import {
  BROWSERS,
  browserSpec,
  detectBrowsers,
  manifestDir,
  pathFor,
  registryKey,
  systemPath,
  type BrowserFamily,
  type BrowserId,
  type BrowserSpec,
  type Exists,
  type InstallPlatform,
  type Scope,
} from './browsers.ts';
import { assertSafePath, buildFlatpakWrapper, buildLauncherScript, launcherFileName, sha256 } from './launcher.ts';
import { buildManifest, manifestFileName, serializeManifest } from './manifest.ts';
import {
  emptyRecord,
  mergeDirs,
  mergeFile,
  mergeKey,
  readRecord,
  removeRecord,
  writeRecord,
  type InstallRecord,
} from './record.ts';
import { FLATPAKS, flatpakManifestDir, flatpakWrapperPath, type FlatpakSpec } from './sandbox.ts';
import { parseRegQueryDefault, regAddCommand, regDeleteCommand, regQueryCommand, windowsManifestPath, windowsSystemLauncherDir, type RegArgv, type RegRunner } from './windows.ts';

/** A problem the customer can fix; `usage` ones come from how the command was called. */
export class InstallError extends Error {
  override name = 'InstallError';
  constructor(
    message: string,
    readonly kind: 'usage' | 'filesystem' = 'filesystem',
  ) {
    super(message);
  }
}

/** Where one installation lives: the same inputs give the same paths for install, uninstall and doctor. */
export interface HostLayout {
  platform: InstallPlatform;
  scope: Scope;
  config: VendorConfig;
  /** Folder of the launcher, the record and (Windows) the manifests. */
  installDir: string;
}

/**
 * Per user: `<dataDir>/native-host` (private to the user, like the data folder).
 * System-wide: a folder every user can read and only administrators write.
 */
export function defaultInstallDir(platform: InstallPlatform, scope: Scope, dataDir: string, vendorId: string): string {
  if (scope === 'user') return pathFor(platform.os).join(dataDir, 'native-host');
  switch (platform.os) {
    case 'linux':
      return systemPath(platform, `/usr/local/lib/devpay-companion/${vendorId}`);
    case 'darwin':
      return systemPath(platform, `/Library/Application Support/DevPay Companion/${vendorId}`);
    case 'win32':
      return windowsSystemLauncherDir(platform, vendorId);
  }
}

export function launcherPath(layout: HostLayout): string {
  return pathFor(layout.platform.os).join(layout.installDir, launcherFileName(layout.config.nativeHostName, layout.platform.os));
}

export function recordPath(layout: HostLayout): string {
  return pathFor(layout.platform.os).join(layout.installDir, 'install-record.json');
}

/** One manifest to write (shared by every browser that reads the same file or key). */
export interface Target {
  browsers: BrowserId[];
  family: BrowserFamily;
  /** Where the manifest goes. */
  manifestPath: string;
  /** What the manifest's `path` names: the launcher, or a Flatpak wrapper. */
  executable: string;
  /** Windows: the key whose default value is manifestPath. */
  registryKey?: string;
  /** Set for Flatpak targets: the wrapper must be written too. */
  flatpak?: FlatpakSpec;
}

export interface Skipped {
  browser: BrowserId | string;
  reason: string;
}

export interface TargetRequest {
  /** Browsers to register; undefined: every browser found on the machine. */
  browsers?: BrowserId[];
  /** Chromium-family user data folders given with --user-data-dir. */
  userDataDirs?: string[];
  /** Register the Flatpak browsers found (with wrappers), as well as the normal ones. */
  flatpak?: boolean;
  exists?: Exists;
}

function familyAllowed(config: VendorConfig, family: BrowserFamily): boolean {
  return family === 'chromium' ? config.extensions.chromium.length > 0 : config.extensions.firefox.length > 0;
}

/** Works out which manifests (and keys) to write for a request. */
export function planTargets(layout: HostLayout, request: TargetRequest): { targets: Target[]; skipped: Skipped[] } {
  const { platform, scope, config } = layout;
  const exists = request.exists ?? existsSync;
  const path = pathFor(platform.os);
  const hostName = config.nativeHostName;
  const launcher = launcherPath(layout);
  const skipped: Skipped[] = [];
  const byPath = new Map<string, Target>();
  const add = (browser: BrowserId, target: Omit<Target, 'browsers'>) => {
    const id = `${target.manifestPath}\0${target.registryKey ?? ''}`;
    const existing = byPath.get(id);
    if (existing) {
      if (!existing.browsers.includes(browser)) existing.browsers.push(browser);
    } else byPath.set(id, { ...target, browsers: [browser] });
  };

  const userDataDirs = request.userDataDirs ?? [];
  let specs: BrowserSpec[];
  if (request.browsers && request.browsers.length > 0) specs = request.browsers.map(browserSpec);
  else if (userDataDirs.length > 0 || request.flatpak) specs = [];
  else specs = detectBrowsers(platform, exists);

  for (const spec of specs) {
    if (!familyAllowed(config, spec.family)) {
      skipped.push({ browser: spec.id, reason: `the vendor configuration allows no ${spec.family === 'chromium' ? 'Chromium' : 'Firefox'} extension` });
      continue;
    }
    if (platform.os === 'win32') {
      add(spec.id, {
        family: spec.family,
        manifestPath: windowsManifestPath(layout.installDir, hostName, spec.family),
        executable: launcher,
        registryKey: registryKey(spec, scope, hostName),
      });
      continue;
    }
    const dir = manifestDir(spec, scope, platform);
    if (dir === undefined) {
      skipped.push({ browser: spec.id, reason: `${spec.name} has no documented system-wide manifest folder on this OS: install without --system` });
      continue;
    }
    add(spec.id, { family: spec.family, manifestPath: path.join(dir, manifestFileName(hostName)), executable: launcher });
  }

  for (const dir of userDataDirs) {
    if (!path.isAbsolute(dir)) throw new InstallError(`--user-data-dir must be an absolute path (got "${dir}").`, 'usage');
    const browser = request.browsers?.find((b) => browserSpec(b).family === 'chromium') ?? 'chromium';
    if (!familyAllowed(config, 'chromium')) {
      skipped.push({ browser, reason: 'the vendor configuration allows no Chromium extension' });
      continue;
    }
    if (platform.os === 'win32') throw new InstallError('--user-data-dir is for Linux and macOS; Windows browsers find hosts through the registry.', 'usage');
    add(browser, { family: 'chromium', manifestPath: path.join(dir, 'NativeMessagingHosts', manifestFileName(hostName)), executable: launcher });
  }

  if (request.flatpak) {
    if (platform.os !== 'linux' || scope !== 'user') throw new InstallError('--flatpak is for per-user installs on Linux.', 'usage');
    const wanted = request.browsers && request.browsers.length > 0 ? request.browsers : undefined;
    for (const spec of FLATPAKS) {
      if (wanted && !wanted.includes(spec.browser)) continue;
      if (!exists(posix.join(platform.home, '.var', 'app', spec.appId)) && !exists(posix.join(platform.home, '.local/share/flatpak/app', spec.appId)) && !exists(systemPath(platform, posix.join('/var/lib/flatpak/app', spec.appId)))) continue;
      if (!familyAllowed(config, spec.family)) continue;
      add(spec.browser, {
        family: spec.family,
        manifestPath: posix.join(flatpakManifestDir(platform, spec), manifestFileName(hostName)),
        executable: flatpakWrapperPath(platform, spec, hostName),
        flatpak: spec,
      });
    }
  }
  return { targets: [...byPath.values()], skipped };
}

// --- file helpers ---

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** mkdir -p that reports which folders it created, outermost first. */
async function makeDirs(dir: string, mode: number, os: InstallPlatform['os']): Promise<string[]> {
  const path = pathFor(os);
  const missing: string[] = [];
  let current = dir;
  for (;;) {
    try {
      const info = await stat(current);
      if (!info.isDirectory()) throw new InstallError(`${current} exists but is not a folder; move it away and try again.`);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      missing.unshift(current);
      const parent = path.dirname(current);
      if (parent === current) break;
      current = parent;
    }
  }
  for (const d of missing) await mkdir(d, { mode });
  return missing;
}

/** Writes a file unless it already has this content and mode; returns whether it wrote. */
async function writeIfChanged(path: string, content: string, mode: number): Promise<boolean> {
  const existing = await readIfExists(path);
  if (existing !== undefined && existing.equals(Buffer.from(content))) {
    const info = await lstat(path);
    // Windows has no POSIX modes to compare (files report 0666).
    if (info.isFile() && (process.platform === 'win32' || (info.mode & 0o777) === mode)) return false;
  }
  await writeFileAtomic(path, content, { mode });
  await chmod(path, mode); // write-file-atomic keeps an existing file's mode; we want ours
  return true;
}

function describeFsError(error: unknown, path: string, scope: Scope): InstallError {
  const code = (error as NodeJS.ErrnoException).code;
  if (error instanceof InstallError) return error;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new InstallError(
      scope === 'system'
        ? `Cannot write ${path} (${code}): a system-wide install needs administrator rights. Run it with sudo (or as Administrator), or install for yourself without --system.`
        : `Cannot write ${path} (${code}). Check that you own this folder, or choose another with --data-dir.`,
    );
  }
  return new InstallError(`Cannot write ${path} (${code ?? (error as Error).message}).`);
}

// --- install ---

export interface InstallOptions extends TargetRequest {
  layout: HostLayout;
  /** Absolute path of node (process.execPath). */
  nodePath: string;
  /** Absolute path of the host bundle. */
  hostScript: string;
  /** Settings pinned in the launcher (DEVPAY_CONFIG, ...). */
  launcherEnv: Record<string, string>;
  /** Windows only: runs reg.exe (injected by tests). */
  runReg?: RegRunner;
}

export interface InstallReport {
  launcher: string;
  launcherChanged: boolean;
  manifests: { browsers: BrowserId[]; path: string; changed: boolean; registryKey?: string; flatpak?: string }[];
  registryCommands: RegArgv[];
  skipped: Skipped[];
  warnings: string[];
  recordPath: string;
}

export async function installHost(options: InstallOptions): Promise<InstallReport> {
  const { layout } = options;
  const { platform, scope, config } = layout;
  const os = platform.os;
  const path = pathFor(os);
  const launcher = launcherPath(layout);
  const record = recordPath(layout);

  if (!path.isAbsolute(options.nodePath) || !path.isAbsolute(options.hostScript)) {
    throw new InstallError('The Node.js and host program paths must be absolute.', 'usage');
  }
  const { targets, skipped } = planTargets(layout, options);
  if (targets.length === 0) {
    const why = skipped.length > 0 ? skipped.map((s) => `${s.browser}: ${s.reason}`).join('; ') : 'no supported browser was found on this machine';
    throw new InstallError(`Nothing to install (${why}). Name a browser with --browser (${BROWSERS.map((b) => b.id).join(', ')}) or a profile folder with --user-data-dir.`, 'usage');
  }
  // Refuse before writing anything.
  try {
    assertSafePath('install folder', layout.installDir, os);
    assertSafePath('launcher', launcher, os);
    for (const t of targets) {
      assertSafePath('manifest', t.manifestPath, os);
      assertSafePath('launcher', t.executable, os);
    }
  } catch (error) {
    throw new InstallError((error as Error).message, 'usage');
  }
  const launcherText = buildLauncherScriptSafe(options);
  try {
    const info = await stat(options.hostScript);
    if (!info.isFile()) throw new Error('not a file');
  } catch {
    throw new InstallError(`The host program ${options.hostScript} does not exist. Build it first (npm run build:host) or pass --host-script.`, 'usage');
  }

  const warnings: string[] = [];
  if (scope === 'system' && os !== 'win32') {
    for (const [what, p] of [['Node.js', options.nodePath], ['host program', options.hostScript]] as const) {
      if (p.startsWith(platform.home + '/')) warnings.push(`The ${what} (${p}) is inside your home folder: other users may not be able to run it. Install Node.js and the companion system-wide for a --system install.`);
    }
  }

  const previous = await readRecord(record);
  const rec: InstallRecord = previous.state === 'ok' ? previous.record : emptyRecord(config.nativeHostName, scope);
  if (previous.state === 'unreadable') warnings.push(`The previous install record (${record}) was unreadable (${previous.reason}); starting a new one.`);

  const dirMode = scope === 'system' ? 0o755 : 0o700;
  const execMode = scope === 'system' ? 0o755 : 0o700;
  let current = launcher;
  try {
    mergeDirs(rec, await makeDirs(layout.installDir, dirMode, os));
    const launcherChanged = await writeIfChanged(launcher, launcherText, execMode);
    rec.launcher = { path: launcher, sha256: sha256(launcherText) };

    const report: InstallReport = { launcher, launcherChanged, manifests: [], registryCommands: [], skipped, warnings, recordPath: record };
    for (const target of targets) {
      if (target.flatpak) {
        current = target.executable;
        const wrapper = buildFlatpakWrapper(launcher);
        mergeDirs(rec, await makeDirs(path.dirname(target.executable), 0o700, os));
        await writeIfChanged(target.executable, wrapper, 0o700);
        mergeFile(rec, { kind: 'wrapper', path: target.executable, sha256: sha256(wrapper), browsers: target.browsers, flatpak: target.flatpak.appId });
      }
      current = target.manifestPath;
      const text = serializeManifest(buildManifest(target.family, config, target.executable));
      mergeDirs(rec, await makeDirs(path.dirname(target.manifestPath), 0o755, os));
      const changed = await writeIfChanged(target.manifestPath, text, 0o644);
      mergeFile(rec, { kind: 'manifest', path: target.manifestPath, sha256: sha256(text), browsers: target.browsers, ...(target.flatpak ? { flatpak: target.flatpak.appId } : {}) });
      report.manifests.push({
        browsers: target.browsers,
        path: target.manifestPath,
        changed,
        ...(target.registryKey ? { registryKey: target.registryKey } : {}),
        ...(target.flatpak ? { flatpak: target.flatpak.appId } : {}),
      });
      if (target.registryKey) {
        const argv = regAddCommand(target.registryKey, target.manifestPath);
        report.registryCommands.push(argv);
        if (options.runReg) {
          const result = await options.runReg(argv);
          if (!result.ok) throw new InstallError(`Could not set the registry key ${target.registryKey}: ${result.stderr.trim() || 'reg.exe failed'}.`);
        }
        mergeKey(rec, { key: target.registryKey, value: target.manifestPath, browsers: target.browsers });
      }
    }
    current = record;
    await writeRecord(record, rec);
    return report;
  } catch (error) {
    // Keep what was written so far on record, so uninstall can still remove it.
    try {
      if (current !== record) await writeRecord(record, rec);
    } catch {
      // the record's folder is the problem; nothing more to do
    }
    throw describeFsError(error, current, scope);
  }
}

function buildLauncherScriptSafe(options: InstallOptions): string {
  try {
    return buildLauncherScript({ os: options.layout.platform.os, nodePath: options.nodePath, hostScript: options.hostScript, env: options.launcherEnv });
  } catch (error) {
    throw new InstallError((error as Error).message, 'usage');
  }
}

// --- uninstall ---

export interface UninstallOptions extends TargetRequest {
  layout: HostLayout;
  runReg?: RegRunner;
}

export interface UninstallReport {
  removed: string[];
  /** Files that look like ours but were changed since, or belong to someone else. */
  leftAlone: { path: string; reason: string }[];
  registryCommands: RegArgv[];
  /** True when nothing of the installation is left (launcher and record removed). */
  complete: boolean;
}

/** True when this file is a manifest for our host that starts our launcher (or one of our Flatpak wrappers). */
function isOurManifest(text: string, layout: HostLayout, executables: Set<string>): boolean {
  try {
    const data = JSON.parse(text) as { name?: unknown; path?: unknown };
    return data.name === layout.config.nativeHostName && typeof data.path === 'string' && executables.has(data.path);
  } catch {
    return false;
  }
}

export async function uninstallHost(options: UninstallOptions): Promise<UninstallReport> {
  const { layout } = options;
  const { platform, scope, config } = layout;
  const os = platform.os;
  const launcher = launcherPath(layout);
  const recPath = recordPath(layout);
  const report: UninstallReport = { removed: [], leftAlone: [], registryCommands: [], complete: false };

  const read = await readRecord(recPath);
  const rec: InstallRecord = read.state === 'ok' ? read.record : emptyRecord(config.nativeHostName, scope);
  const everything = !(options.browsers && options.browsers.length > 0) && !(options.userDataDirs && options.userDataDirs.length > 0);
  const wanted = new Set<BrowserId>(options.browsers ?? []);
  const path = pathFor(os);
  const under = (file: string, dir: string) => file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

  // Recompute where install would have written, so a lost record still gets cleaned up.
  const request: TargetRequest = everything
    ? { browsers: BROWSERS.map((b) => b.id), flatpak: os === 'linux' && scope === 'user', exists: () => true }
    : { ...options, exists: () => true, flatpak: options.flatpak };
  let planned: Target[] = [];
  try {
    planned = planTargets(layout, request).targets;
  } catch (error) {
    if (!(error instanceof InstallError) || error.kind !== 'usage' || !everything) throw error;
  }
  const executables = new Set<string>([launcher, ...planned.map((t) => t.executable)]);
  for (const f of rec.files) if (f.kind === 'wrapper') executables.add(f.path);

  // Decide, per file, whether it goes: record entries lose the browsers being removed.
  const candidates = new Map<string, 'record' | 'planned'>();
  for (const file of rec.files) {
    const selected = everything || file.browsers.some((b) => wanted.has(b)) || (options.userDataDirs ?? []).some((d) => under(file.path, d));
    if (!selected) continue;
    file.browsers = everything ? [] : file.browsers.filter((b) => !wanted.has(b));
    if ((options.userDataDirs ?? []).some((d) => under(file.path, d))) file.browsers = [];
    if (file.browsers.length === 0) candidates.set(file.path, 'record');
  }
  for (const t of planned) {
    const recorded = rec.files.find((f) => f.path === t.manifestPath);
    if (recorded && recorded.browsers.length > 0) continue; // still used by a browser not being removed
    // A Windows manifest serves every key of its family: only recomputed when removing everything.
    if ((!t.registryKey || everything) && !candidates.has(t.manifestPath)) candidates.set(t.manifestPath, 'planned');
    if (t.flatpak && !candidates.has(t.executable)) candidates.set(t.executable, 'planned');
  }

  for (const [file, source] of candidates) {
    const content = await readIfExists(file).catch(() => undefined);
    const entry = rec.files.find((f) => f.path === file);
    if (content === undefined) {
      if (entry) rec.files = rec.files.filter((f) => f !== entry);
      continue;
    }
    const text = content.toString('utf8');
    const ours =
      (entry !== undefined && entry.sha256 === sha256(content)) ||
      isOurManifest(text, layout, executables) ||
      (executables.has(file) && file !== launcher && isOurWrapper(text, launcher));
    if (ours) {
      await rm(file, { force: true });
      report.removed.push(file);
      if (entry) rec.files = rec.files.filter((f) => f !== entry);
    } else if (source === 'record' || entry) {
      report.leftAlone.push({ path: file, reason: 'changed since install; remove it yourself if it is no longer needed' });
      if (entry) rec.files = rec.files.filter((f) => f !== entry);
    } else if (isForeignManifestWithOurName(text, layout)) {
      report.leftAlone.push({ path: file, reason: 'a manifest for this host name that starts another program' });
    }
  }

  // Windows registry keys: recorded ones, plus computed ones that point at our manifests.
  const keyCandidates = new Map<string, string | undefined>();
  for (const key of rec.registry) {
    const selected = everything || key.browsers.some((b) => wanted.has(b));
    if (!selected) continue;
    key.browsers = everything ? [] : key.browsers.filter((b) => !wanted.has(b));
    if (key.browsers.length === 0) keyCandidates.set(key.key, key.value);
  }
  for (const t of planned) {
    if (!t.registryKey || keyCandidates.has(t.registryKey)) continue;
    if (rec.registry.some((k) => k.key.toLowerCase() === t.registryKey!.toLowerCase() && k.browsers.length > 0)) continue;
    keyCandidates.set(t.registryKey, undefined);
  }
  for (const [key, value] of keyCandidates) {
    if (options.runReg) {
      const query = await options.runReg(regQueryCommand(key));
      const current = query.ok ? parseRegQueryDefault(query.stdout) : undefined;
      const ourValues = new Set([value, ...planned.filter((t) => t.registryKey === key).map((t) => t.manifestPath)]);
      if (current === undefined || !ourValues.has(current)) {
        if (current !== undefined) report.leftAlone.push({ path: key, reason: `points at ${current}, not at this installation` });
        rec.registry = rec.registry.filter((k) => k.key !== key);
        continue;
      }
    }
    const argv = regDeleteCommand(key);
    report.registryCommands.push(argv);
    if (options.runReg) {
      const result = await options.runReg(argv);
      if (!result.ok) throw new InstallError(`Could not delete the registry key ${key}: ${result.stderr.trim() || 'reg.exe failed'}.`);
    }
    rec.registry = rec.registry.filter((k) => k.key !== key);
  }

  // Windows manifests are shared by a family: drop them once no key uses them.
  rec.files = rec.files.filter((f) => f.browsers.length > 0);
  const stillInstalled = rec.files.length > 0 || rec.registry.length > 0;
  if (!stillInstalled) {
    const content = await readIfExists(launcher).catch(() => undefined);
    if (content !== undefined) {
      if (!rec.launcher || rec.launcher.sha256 === sha256(content) || content.toString('utf8').includes('Written by "devpay-companion install"')) {
        await rm(launcher, { force: true });
        report.removed.push(launcher);
      } else report.leftAlone.push({ path: launcher, reason: 'changed since install' });
    }
    if (read.state !== 'missing') {
      await removeRecord(recPath);
      report.removed.push(recPath);
    }
    // Folders install created, deepest first, only when empty.
    for (const dir of [...rec.createdDirs].sort((a, b) => b.length - a.length)) {
      try {
        if ((await readdir(dir)).length === 0) await rmdir(dir);
      } catch {
        // gone already, or not empty: leave it
      }
    }
    report.complete = true;
  } else if (read.state === 'ok') {
    await writeRecord(recPath, rec);
  }
  return report;
}

function isOurWrapper(text: string, launcher: string): boolean {
  try {
    return text === buildFlatpakWrapper(launcher);
  } catch {
    return false;
  }
}

function isForeignManifestWithOurName(text: string, layout: HostLayout): boolean {
  try {
    return (JSON.parse(text) as { name?: unknown }).name === layout.config.nativeHostName;
  } catch {
    return false;
  }
}
