/**
 * Install and uninstall on the machine this runs on, for resolved settings: the
 * platform (HOME from the given environment, so tests and the e2e can use a temp
 * home), the host program the launcher runs, and the settings it pins. The CLI's
 * install/uninstall commands and the end-to-end tests both go through here.
 */
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinnedLauncherEnv } from '../messaging/pinned-settings.ts';
import { ENV, type Settings } from '../settings.ts';
import type { BrowserId, InstallPlatform, Scope } from './browsers.ts';
import { InstallError } from './errors.ts';
import { installHost, type InstallReport } from './install.ts';
import { defaultInstallDir, type HostLayout } from './layout.ts';
import { uninstallHost, type UninstallReport } from './uninstall.ts';
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

/** This machine as install sees it; HOME from the given environment. */
export function currentPlatform(env: NodeJS.ProcessEnv = process.env): InstallPlatform {
  const os = process.platform;
  if (os !== 'linux' && os !== 'darwin' && os !== 'win32') {
    throw new InstallError(`This operating system (${os}) is not supported: Linux, macOS and Windows are.`, 'usage');
  }
  const home = os !== 'win32' && env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir();
  return { os, home, env };
}

/**
 * What the launcher pins so a browser-started host uses the settings install saw:
 * the configuration and (per user) the data folder; and always the License Service
 * and CA file (or none), which is all a browser-started host trusts (messaging/pinned-settings.ts).
 */
export function launcherEnvironment(settings: Settings, scope: Scope): Record<string, string> {
  const pinned: Record<string, string> = { [ENV.config]: settings.configPath };
  if (scope === 'user') pinned[ENV.dataDir] = settings.dataDir;
  return { ...pinned, ...pinnedLauncherEnv(settings.licenseService, settings.caFile) };
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

/** Where this machine's installation for these settings lives. */
function layoutFor(settings: Settings, options: Pick<ContextInstallOptions, 'scope' | 'env'> = {}): HostLayout {
  const platform = currentPlatform(options.env ?? process.env);
  const scope = options.scope ?? 'user';
  return {
    platform,
    scope,
    config: settings.config,
    installDir: defaultInstallDir(platform, scope, settings.dataDir, settings.config.vendor.id),
  };
}

/** `install` for code (the end-to-end tests): the same as the command with these settings. */
export function installForContext(settings: Settings, options: ContextInstallOptions = {}): Promise<InstallReport> {
  const layout = layoutFor(settings, options);
  return installHost({
    layout,
    nodePath: options.nodePath ?? process.execPath,
    hostScript: resolve(options.hostScript ?? defaultHostScript()),
    launcherEnv: launcherEnvironment(settings, layout.scope),
    browsers: options.browsers,
    userDataDirs: options.userDataDirs,
    flatpak: options.flatpak,
    ...(layout.platform.os === 'win32' ? { runReg } : {}),
  });
}

/** `uninstall` for code: removes what installForContext wrote with the same options. */
export function uninstallForContext(settings: Settings, options: ContextInstallOptions = {}): Promise<UninstallReport> {
  const layout = layoutFor(settings, options);
  return uninstallHost({
    layout,
    browsers: options.browsers,
    userDataDirs: options.userDataDirs,
    flatpak: options.flatpak,
    ...(layout.platform.os === 'win32' ? { runReg } : {}),
  });
}
