/**
 * Doctor's browser checks: one line per host manifest a browser would read (those
 * install recorded, those asked for, and those of browsers found here), each
 * saying what is wrong and how to fix it; and a failure when no browser can start
 * the host at all. The usable ones are kept for the handshake.
 */
import { existsSync } from 'node:fs';
import { access, constants, readFile, stat } from 'node:fs/promises';
import type { VendorConfig } from '../../shared/config.ts';
import {
  BROWSERS,
  browserSpec,
  detectBrowsers,
  manifestDir,
  pathFor,
  registryKey,
  type BrowserFamily,
  type BrowserId,
  type InstallPlatform,
} from '../install/browsers.ts';
import { recordPath, type HostLayout } from '../install/layout.ts';
import { checkManifest, manifestFileName } from '../install/manifest.ts';
import { readRecord } from '../install/record.ts';
import { parseRegQueryDefault, regQueryCommand, windowsManifestPath, type RegRunner } from '../install/windows.ts';
import type { CheckResult, DoctorInput, DoctorRun, UsableManifest } from './types.ts';

const INSTALL_CMD = 'devpay-companion install';

export function installCommand(browser?: string, extra = ''): string {
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
  /** Set when the manifest is usable. */
  usable?: UsableManifest;
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

async function checkOneManifest(
  subject: ManifestSubject,
  config: VendorConfig,
  os: InstallPlatform['os'],
  runReg?: RegRunner,
): Promise<ManifestOutcome> {
  const base = { id: `manifest:${subject.id}`, title: `${subject.label}: manifest`, category: 'browser' as const };
  const fail = (detail: string, fix: string): ManifestOutcome => ({
    check: { ...base, status: subject.required ? 'fail' : 'warn', detail, fix },
  });
  const reinstall = installCommand(subject.browser, subject.extraInstallArgs ?? '');

  if (subject.registryKey && runReg) {
    const query = await runReg(regQueryCommand(subject.registryKey));
    const value = query.ok ? parseRegQueryDefault(query.stdout) : undefined;
    if (value === undefined) return fail(`registry key ${subject.registryKey} is missing`, reinstall);
    if (value.toLowerCase() !== subject.manifestPath.toLowerCase())
      return fail(`registry key ${subject.registryKey} points at ${value}`, reinstall);
  }

  let text: string;
  try {
    const info = await stat(subject.manifestPath);
    if (info.size > 64 * 1024) return fail(`${subject.manifestPath} is too large to be a host manifest`, reinstall);
    text = await readFile(subject.manifestPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fail(
      code === 'ENOENT' ? `missing: ${subject.manifestPath}` : `cannot read ${subject.manifestPath} (${code})`,
      reinstall,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return fail(`${subject.manifestPath} is not valid JSON`, reinstall);
  }
  const found = checkManifest(data, subject.family, config);
  if (found.problems.length > 0) {
    const idFix =
      found.missingIds.length > 0
        ? `${reinstall} (it writes the extension IDs of the vendor configuration)`
        : reinstall;
    return fail(`${subject.manifestPath}: ${found.problems.join('; ')}`, idFix);
  }
  const exe = found.path!;
  if (!pathFor(os).isAbsolute(exe))
    return fail(`"path" ${exe} is not absolute (browsers on Linux and macOS need an absolute path)`, reinstall);
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
    usable: {
      executable: exe,
      family: subject.family,
      manifestPath: subject.manifestPath,
      ...(subject.flatpak ? { flatpak: true } : {}),
    },
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
  const allowed = (family: BrowserFamily) =>
    (family === 'chromium' ? config.extensions.chromium : config.extensions.firefox).length > 0;

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
    return {
      id,
      label: spec.name,
      family: spec.family,
      manifestPath: path.join(dir, manifestFileName(hostName)),
      required,
      browser: id,
      extraInstallArgs: extra,
    };
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
      const label = file.flatpak
        ? `${spec.name} (Flatpak ${file.flatpak})`
        : file.browsers.map((b) => browserSpec(b).name).join(', ');
      const standard = manifestDir(spec, scope, platform);
      const isProfile = !file.flatpak && standard !== undefined && path.dirname(file.path) !== standard;
      add({
        id: file.flatpak
          ? `${first}-flatpak`
          : isProfile
            ? `profile:${path.dirname(path.dirname(file.path))}`
            : file.browsers.join('+'),
        label: isProfile ? `${spec.name} profile ${path.dirname(path.dirname(file.path))}` : label,
        family: spec.family,
        manifestPath: file.path,
        required: true,
        browser: first,
        extraInstallArgs: isProfile
          ? ` --user-data-dir ${path.dirname(path.dirname(file.path))}`
          : file.flatpak
            ? ' --flatpak'
            : scope === 'system'
              ? ' --system'
              : '',
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

/** A line per manifest, and a failure when no browser can start the host; the usable manifests go to run.usableManifests. */
export async function checkManifests(run: DoctorRun): Promise<CheckResult[]> {
  const { input, layout } = run;
  const subjects = await manifestSubjects(input, layout);
  const outcomes: ManifestOutcome[] = [];
  for (const subject of subjects)
    outcomes.push(await checkOneManifest(subject, layout.config, input.platform.os, input.runReg));
  const checks = outcomes.map((o) => o.check);
  run.usableManifests = outcomes.flatMap((o) => (o.usable ? [o.usable] : []));
  if (subjects.length === 0 || (run.usableManifests.length === 0 && !checks.some((c) => c.status === 'fail'))) {
    checks.push({
      id: 'browsers',
      title: 'Browsers',
      status: 'fail',
      detail:
        subjects.length === 0
          ? 'no supported browser found, and the companion is registered with none'
          : 'the companion is registered with no browser',
      fix: `${installCommand()} (or name one: --browser ${BROWSERS.map((b) => b.id).join('|')})`,
      category: 'browser',
    });
  }
  return checks;
}
