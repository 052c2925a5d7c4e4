/**
 * `install`: writes the launcher, each browser's host manifest (a Flatpak
 * wrapper where needed, registry keys on Windows) and a record of it all, so
 * uninstall removes exactly that. Refuses before writing anything when a path
 * cannot be used; running it again leaves unchanged files alone.
 */
import { stat } from 'node:fs/promises';
import { BROWSERS, pathFor, type BrowserId } from './browsers.ts';
import { InstallError } from './errors.ts';
import { describeFsError, makeDirs, writeIfChanged } from './files.ts';
import { assertSafePath, buildFlatpakWrapper, buildLauncherScript, sha256 } from './launcher.ts';
import { launcherPath, planTargets, recordPath, type HostLayout, type Skipped, type TargetRequest } from './layout.ts';
import { buildManifest, serializeManifest } from './manifest.ts';
import { emptyRecord, mergeDirs, mergeFile, mergeKey, readRecord, writeRecord, type InstallRecord } from './record.ts';
import { regAddCommand, type RegArgv, type RegRunner } from './windows.ts';

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
    const why =
      skipped.length > 0
        ? skipped.map((s) => `${s.browser}: ${s.reason}`).join('; ')
        : 'no supported browser was found on this machine';
    throw new InstallError(
      `Nothing to install (${why}). Name a browser with --browser (${BROWSERS.map((b) => b.id).join(', ')}) or a profile folder with --user-data-dir.`,
      'usage',
    );
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
    throw new InstallError(
      `The host program ${options.hostScript} does not exist. Build it first (npm run build:host) or pass --host-script.`,
      'usage',
    );
  }

  const warnings: string[] = [];
  if (scope === 'system' && os !== 'win32') {
    for (const [what, p] of [
      ['Node.js', options.nodePath],
      ['host program', options.hostScript],
    ] as const) {
      if (p.startsWith(platform.home + '/'))
        warnings.push(
          `The ${what} (${p}) is inside your home folder: other users may not be able to run it. Install Node.js and the companion system-wide for a --system install.`,
        );
    }
  }

  const previous = await readRecord(record);
  const rec: InstallRecord = previous.state === 'ok' ? previous.record : emptyRecord(config.nativeHostName, scope);
  if (previous.state === 'unreadable')
    warnings.push(`The previous install record (${record}) was unreadable (${previous.reason}); starting a new one.`);

  const dirMode = scope === 'system' ? 0o755 : 0o700;
  const execMode = scope === 'system' ? 0o755 : 0o700;
  let current = launcher;
  try {
    mergeDirs(rec, await makeDirs(layout.installDir, dirMode, os));
    const launcherChanged = await writeIfChanged(launcher, launcherText, execMode);
    rec.launcher = { path: launcher, sha256: sha256(launcherText) };

    const report: InstallReport = {
      launcher,
      launcherChanged,
      manifests: [],
      registryCommands: [],
      skipped,
      warnings,
      recordPath: record,
    };
    for (const target of targets) {
      if (target.flatpak) {
        current = target.executable;
        const wrapper = buildFlatpakWrapper(launcher);
        mergeDirs(rec, await makeDirs(path.dirname(target.executable), 0o700, os));
        await writeIfChanged(target.executable, wrapper, 0o700);
        mergeFile(rec, {
          kind: 'wrapper',
          path: target.executable,
          sha256: sha256(wrapper),
          browsers: target.browsers,
          flatpak: target.flatpak.appId,
        });
      }
      current = target.manifestPath;
      const text = serializeManifest(buildManifest(target.family, config, target.executable));
      mergeDirs(rec, await makeDirs(path.dirname(target.manifestPath), 0o755, os));
      const changed = await writeIfChanged(target.manifestPath, text, 0o644);
      mergeFile(rec, {
        kind: 'manifest',
        path: target.manifestPath,
        sha256: sha256(text),
        browsers: target.browsers,
        ...(target.flatpak ? { flatpak: target.flatpak.appId } : {}),
      });
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
          if (!result.ok)
            throw new InstallError(
              `Could not set the registry key ${target.registryKey}: ${result.stderr.trim() || 'reg.exe failed'}.`,
            );
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
    return buildLauncherScript({
      os: options.layout.platform.os,
      nodePath: options.nodePath,
      hostScript: options.hostScript,
      env: options.launcherEnv,
    });
  } catch (error) {
    throw new InstallError((error as Error).message, 'usage');
  }
}
