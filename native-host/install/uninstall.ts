/**
 * `uninstall`: removes what install wrote and nothing else. The record says what
 * that was; where it is lost, the places install would have written are
 * recomputed, and a file there goes only if it is still ours (same content, or a
 * manifest for our host that starts our launcher). Folders install created go
 * once empty.
 */
import { readdir, rm, rmdir } from 'node:fs/promises';
import { BROWSERS, pathFor, type BrowserId } from './browsers.ts';
import { InstallError } from './errors.ts';
import { readIfExists } from './files.ts';
import { buildFlatpakWrapper, sha256 } from './launcher.ts';
import { launcherPath, planTargets, recordPath, type HostLayout, type Target, type TargetRequest } from './layout.ts';
import { emptyRecord, readRecord, removeRecord, writeRecord, type InstallRecord } from './record.ts';
import { parseRegQueryDefault, regDeleteCommand, regQueryCommand, type RegArgv, type RegRunner } from './windows.ts';

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
  const everything =
    !(options.browsers && options.browsers.length > 0) && !(options.userDataDirs && options.userDataDirs.length > 0);
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
    const selected =
      everything ||
      file.browsers.some((b) => wanted.has(b)) ||
      (options.userDataDirs ?? []).some((d) => under(file.path, d));
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
      report.leftAlone.push({
        path: file,
        reason: 'changed since install; remove it yourself if it is no longer needed',
      });
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
    if (rec.registry.some((k) => k.key.toLowerCase() === t.registryKey!.toLowerCase() && k.browsers.length > 0))
      continue;
    keyCandidates.set(t.registryKey, undefined);
  }
  for (const [key, value] of keyCandidates) {
    if (options.runReg) {
      const query = await options.runReg(regQueryCommand(key));
      const current = query.ok ? parseRegQueryDefault(query.stdout) : undefined;
      const ourValues = new Set([value, ...planned.filter((t) => t.registryKey === key).map((t) => t.manifestPath)]);
      if (current === undefined || !ourValues.has(current)) {
        if (current !== undefined)
          report.leftAlone.push({ path: key, reason: `points at ${current}, not at this installation` });
        rec.registry = rec.registry.filter((k) => k.key !== key);
        continue;
      }
    }
    const argv = regDeleteCommand(key);
    report.registryCommands.push(argv);
    if (options.runReg) {
      const result = await options.runReg(argv);
      if (!result.ok)
        throw new InstallError(
          `Could not delete the registry key ${key}: ${result.stderr.trim() || 'reg.exe failed'}.`,
        );
    }
    rec.registry = rec.registry.filter((k) => k.key !== key);
  }

  // Windows manifests are shared by a family: drop them once no key uses them.
  rec.files = rec.files.filter((f) => f.browsers.length > 0);
  const stillInstalled = rec.files.length > 0 || rec.registry.length > 0;
  if (!stillInstalled) {
    const content = await readIfExists(launcher).catch(() => undefined);
    if (content !== undefined) {
      if (
        !rec.launcher ||
        rec.launcher.sha256 === sha256(content) ||
        content.toString('utf8').includes('Written by "devpay-companion install"')
      ) {
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
