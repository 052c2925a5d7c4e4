/**
 * Snap and Flatpak browsers run in sandboxes that change how (and whether) they
 * reach a native host. What is known (2026):
 *  - Snap Firefox reaches hosts through the xdg-desktop-portal WebExtensions portal
 *    (Ubuntu 22.04 and later). The portal reads the ordinary per-user manifest
 *    (~/.mozilla/native-messaging-hosts/), which `install` writes; Firefox asks the
 *    customer once to allow the host.
 *  - Snap Chromium (and other Chromium-family snaps) cannot start native hosts.
 *  - Flatpak browsers see only their own ~/.var/app/<id>/ folder and cannot run host
 *    programs. They work with a manifest inside that folder whose `path` is a wrapper
 *    running `flatpak-spawn --host <launcher>`, once the app may talk to
 *    org.freedesktop.Flatpak (`flatpak override`), which lets the browser run any
 *    host command: the customer's decision, so we print it rather than run it.
 *    Firefox 157+ with xdg-native-messaging-proxy running needs none of this.
 */
import { posix } from 'node:path';
import { systemPath, type BrowserFamily, type BrowserId, type Exists, type InstallPlatform } from './browsers.ts';

export type Packaging = 'snap' | 'flatpak';
export type SandboxSupport = 'works' | 'needs-setup' | 'unsupported';

interface SnapSpec {
  browser: BrowserId;
  snap: string;
}

export interface FlatpakSpec {
  browser: BrowserId;
  family: BrowserFamily;
  appId: string;
  /** Manifest folder relative to ~/.var/app/<appId>/ (the app's HOME-visible data). */
  manifestDir: string;
}

const SNAPS: readonly SnapSpec[] = [
  { browser: 'firefox', snap: 'firefox' },
  { browser: 'chromium', snap: 'chromium' },
  { browser: 'brave', snap: 'brave' },
  { browser: 'opera', snap: 'opera' },
  { browser: 'vivaldi', snap: 'vivaldi' },
];

export const FLATPAKS: readonly FlatpakSpec[] = [
  {
    browser: 'firefox',
    family: 'firefox',
    appId: 'org.mozilla.firefox',
    manifestDir: '.mozilla/native-messaging-hosts',
  },
  {
    browser: 'librewolf',
    family: 'firefox',
    appId: 'io.gitlab.librewolf-community',
    manifestDir: '.librewolf/native-messaging-hosts',
  },
  {
    browser: 'waterfox',
    family: 'firefox',
    appId: 'net.waterfox.waterfox',
    manifestDir: '.waterfox/native-messaging-hosts',
  },
  {
    browser: 'chromium',
    family: 'chromium',
    appId: 'org.chromium.Chromium',
    manifestDir: 'config/chromium/NativeMessagingHosts',
  },
  {
    browser: 'chromium',
    family: 'chromium',
    appId: 'io.github.ungoogled_software.ungoogled_chromium',
    manifestDir: 'config/chromium/NativeMessagingHosts',
  },
  {
    browser: 'chrome',
    family: 'chromium',
    appId: 'com.google.Chrome',
    manifestDir: 'config/google-chrome/NativeMessagingHosts',
  },
  {
    browser: 'chrome-dev',
    family: 'chromium',
    appId: 'com.google.ChromeDev',
    manifestDir: 'config/google-chrome-unstable/NativeMessagingHosts',
  },
  {
    browser: 'edge',
    family: 'chromium',
    appId: 'com.microsoft.Edge',
    manifestDir: 'config/microsoft-edge/NativeMessagingHosts',
  },
  {
    browser: 'brave',
    family: 'chromium',
    appId: 'com.brave.Browser',
    manifestDir: 'config/BraveSoftware/Brave-Browser/NativeMessagingHosts',
  },
  {
    browser: 'vivaldi',
    family: 'chromium',
    appId: 'com.vivaldi.Vivaldi',
    manifestDir: 'config/vivaldi/NativeMessagingHosts',
  },
  { browser: 'opera', family: 'chromium', appId: 'com.opera.Opera', manifestDir: 'config/opera/NativeMessagingHosts' },
];

export interface SandboxFinding {
  browser: BrowserId;
  packaging: Packaging;
  /** Snap name or Flatpak application ID. */
  appId: string;
  support: SandboxSupport;
  /** One line for the customer. */
  summary: string;
  /** What to do, in order; commands are exact. */
  steps: string[];
  /** Flatpak only: what `install --flatpak` writes for this app. */
  flatpak?: FlatpakSpec;
}

/** The app's private folder, which Flatpak mounts at the same path inside the sandbox. */
export function flatpakAppDir(platform: InstallPlatform, appId: string): string {
  return posix.join(platform.home, '.var', 'app', appId);
}

export function flatpakManifestDir(platform: InstallPlatform, spec: FlatpakSpec): string {
  return posix.join(flatpakAppDir(platform, spec.appId), spec.manifestDir);
}

/** The wrapper lives in the app's folder so that the sandbox can execute it. */
export function flatpakWrapperPath(platform: InstallPlatform, spec: FlatpakSpec, hostName: string): string {
  return posix.join(flatpakAppDir(platform, spec.appId), 'devpay-companion', hostName);
}

export function flatpakOverrideCommand(appId: string): string {
  return `flatpak override --user --talk-name=org.freedesktop.Flatpak ${appId}`;
}

function snapInstalled(platform: InstallPlatform, snap: string, exists: Exists): boolean {
  return exists(systemPath(platform, `/snap/${snap}/current`)) || exists(posix.join(platform.home, 'snap', snap));
}

function flatpakInstalled(platform: InstallPlatform, appId: string, exists: Exists): boolean {
  return (
    exists(posix.join(platform.home, '.local/share/flatpak/app', appId)) ||
    exists(systemPath(platform, posix.join('/var/lib/flatpak/app', appId))) ||
    exists(flatpakAppDir(platform, appId))
  );
}

function snapFinding(spec: SnapSpec, loopbackPort: number): SandboxFinding {
  if (spec.browser === 'firefox') {
    return {
      browser: spec.browser,
      packaging: 'snap',
      appId: spec.snap,
      support: 'works',
      summary: 'Snap Firefox reaches the companion through the desktop portal (Ubuntu 22.04 or later).',
      steps: [
        'Run `devpay-companion install --browser firefox` (the portal reads ~/.mozilla/native-messaging-hosts/).',
        'When Firefox asks whether the add-on may start the companion, allow it.',
        "If it was refused before: delete ~/.local/share/flatpak/db/webextensions (the portal's saved answers), log out and in, and try again.",
        'If about:config shows widget.use-xdg-desktop-portal.native-messaging changed from its default, reset it.',
        // The host cannot verify a moz-extension:// origin (a random UUID per install), so loopback is no way out here.
        "If the portal is missing (before Ubuntu 22.04): `devpay-companion serve` does not help Firefox, whose add-on origin the companion cannot verify. Copy the activation key from the extension's popup and run `devpay-companion activate` instead.",
      ],
    };
  }
  const loopback = `Use the loopback channel instead: run \`devpay-companion serve\` (keep it running, e.g. from your desktop session's autostart); the extension then reaches it on 127.0.0.1:${loopbackPort}. Or activate by hand: copy the activation key from the extension's popup and run \`devpay-companion activate\`.`;
  return {
    browser: spec.browser,
    packaging: 'snap',
    appId: spec.snap,
    support: 'unsupported',
    summary: `The ${spec.snap} snap cannot start native messaging hosts.`,
    steps: [
      loopback,
      `Or install ${spec.snap} from a .deb / the vendor's package instead of the snap, then run \`devpay-companion install\`.`,
    ],
  };
}

function flatpakFinding(spec: FlatpakSpec, platform: InstallPlatform, hostName: string): SandboxFinding {
  const manifest = posix.join(flatpakManifestDir(platform, spec), `${hostName}.json`);
  const steps = [
    `Run \`devpay-companion install --flatpak --browser ${spec.browser}\`: it writes ${manifest} and a wrapper that runs the companion outside the sandbox.`,
    `Allow the wrapper to do so: \`${flatpakOverrideCommand(spec.appId)}\` (this lets ${spec.appId} run programs outside its sandbox).`,
    `Restart the browser (\`flatpak kill ${spec.appId}\`).`,
  ];
  if (spec.family === 'firefox') {
    steps.push(
      'With Firefox 157 or later and xdg-native-messaging-proxy running, the ordinary `install` is enough and no override is needed.',
    );
  }
  return {
    browser: spec.browser,
    packaging: 'flatpak',
    appId: spec.appId,
    support: 'needs-setup',
    summary: `Flatpak ${spec.appId} needs a manifest inside its sandbox and permission to start host programs.`,
    steps,
    flatpak: spec,
  };
}

/** Snap and Flatpak browsers on this machine (Linux only), with what works and how. */
export function detectSandboxedBrowsers(
  platform: InstallPlatform,
  exists: Exists,
  hostName: string,
  loopbackPort: number,
): SandboxFinding[] {
  if (platform.os !== 'linux') return [];
  const findings: SandboxFinding[] = [];
  for (const spec of SNAPS)
    if (snapInstalled(platform, spec.snap, exists)) findings.push(snapFinding(spec, loopbackPort));
  for (const spec of FLATPAKS)
    if (flatpakInstalled(platform, spec.appId, exists)) findings.push(flatpakFinding(spec, platform, hostName));
  return findings;
}
