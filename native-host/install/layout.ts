/**
 * Where an installation lives, computed and never read from the running machine
 * (every folder comes from an InstallPlatform, so tests lay out Linux and macOS
 * installs in temp homes): its folder, launcher and record, and the manifests
 * (and Windows registry keys) a request asks for.
 *
 * Layout:
 *   <installDir>/<hostName>            the launcher (.bat on Windows)
 *   <installDir>/install-record.json   what was written (0600)
 *   <browser manifest folder>/<hostName>.json   per browser (Linux, macOS)
 *   <installDir>/<hostName>.<family>.json + registry keys  (Windows)
 */
import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import type { VendorConfig } from '../../shared/config.ts';
import { unreachable } from '../../shared/unreachable.ts';
import {
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
import { InstallError } from './errors.ts';
import { launcherFileName } from './launcher.ts';
import { manifestFileName } from './manifest.ts';
import { FLATPAKS, flatpakManifestDir, flatpakWrapperPath, type FlatpakSpec } from './sandbox.ts';
import { windowsManifestPath, windowsSystemLauncherDir } from './windows.ts';

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
  return unreachable(platform.os);
}

export function launcherPath(layout: HostLayout): string {
  return pathFor(layout.platform.os).join(
    layout.installDir,
    launcherFileName(layout.config.nativeHostName, layout.platform.os),
  );
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
  browser: BrowserId;
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
      skipped.push({
        browser: spec.id,
        reason: `the vendor configuration allows no ${spec.family === 'chromium' ? 'Chromium' : 'Firefox'} extension`,
      });
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
      skipped.push({
        browser: spec.id,
        reason: `${spec.name} has no documented system-wide manifest folder on this OS: install without --system`,
      });
      continue;
    }
    add(spec.id, {
      family: spec.family,
      manifestPath: path.join(dir, manifestFileName(hostName)),
      executable: launcher,
    });
  }

  for (const dir of userDataDirs) {
    if (!path.isAbsolute(dir))
      throw new InstallError(`--user-data-dir must be an absolute path (got "${dir}").`, 'usage');
    const browser = request.browsers?.find((b) => browserSpec(b).family === 'chromium') ?? 'chromium';
    if (!familyAllowed(config, 'chromium')) {
      skipped.push({ browser, reason: 'the vendor configuration allows no Chromium extension' });
      continue;
    }
    if (platform.os === 'win32')
      throw new InstallError(
        '--user-data-dir is for Linux and macOS; Windows browsers find hosts through the registry.',
        'usage',
      );
    add(browser, {
      family: 'chromium',
      manifestPath: path.join(dir, 'NativeMessagingHosts', manifestFileName(hostName)),
      executable: launcher,
    });
  }

  if (request.flatpak) {
    if (platform.os !== 'linux' || scope !== 'user')
      throw new InstallError('--flatpak is for per-user installs on Linux.', 'usage');
    const wanted = request.browsers && request.browsers.length > 0 ? request.browsers : undefined;
    for (const spec of FLATPAKS) {
      if (wanted && !wanted.includes(spec.browser)) continue;
      if (
        !exists(posix.join(platform.home, '.var', 'app', spec.appId)) &&
        !exists(posix.join(platform.home, '.local/share/flatpak/app', spec.appId)) &&
        !exists(systemPath(platform, posix.join('/var/lib/flatpak/app', spec.appId)))
      )
        continue;
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
