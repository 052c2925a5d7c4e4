/**
 * Headless Firefox ESR with the built add-on (.output/firefox-mv3), for the
 * Firefox end-to-end tests and the demo. See ../shared/reference/testing-here.md
 * ("Real Firefox"): Playwright cannot load an add-on into Debian's Firefox, so
 * puppeteer-core drives it over WebDriver BiDi and installs the add-on
 * temporarily (`webExtension.install`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { launch, type Browser, type Page } from 'puppeteer-core';

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
export const BUILT_FIREFOX_EXTENSION_DIR = resolve('.output/firefox-mv3');
/**
 * Firefox gives each install of an add-on a random UUID for its moz-extension:// origin;
 * the pref `extensions.webextensions.uuids` pins it, so the test knows the popup's address.
 */
export const FIREFOX_ADDON_UUID = '5d0c5f0e-9a3b-4c7e-8f21-0d7e6a1b2c3d';

export interface ExtensionFirefox {
  browser: Browser;
  addonId: string;
  /** moz-extension://<uuid>/ */
  extensionBase: string;
  popupUrl: string;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export interface FirefoxLaunchOptions {
  /** The customer's home: Firefox looks for host manifests in $HOME/.mozilla/native-messaging-hosts/. */
  home: string;
  /** The environment Firefox passes on to the native host (HOME is set to `home`). */
  env: Record<string, string>;
  extensionDir?: string;
  headless?: boolean;
  /**
   * `extensions.originControls.grantByDefault`: whether an MV3 add-on gets its host
   * permissions at install (Firefox's default), or must ask for them.
   */
  grantSiteAccess?: boolean;
}

function addonIdOf(extensionDir: string): string {
  const path = join(extensionDir, 'manifest.json');
  if (!existsSync(path))
    throw new Error(`No built Firefox add-on in ${extensionDir}: run "npm run build:firefox" first.`);
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as {
    browser_specific_settings?: { gecko?: { id?: string } };
  };
  const id = manifest.browser_specific_settings?.gecko?.id;
  if (!id) throw new Error(`${path} has no gecko add-on ID: build it with "npm run build:firefox".`);
  return id;
}

export async function launchExtensionFirefox(options: FirefoxLaunchOptions): Promise<ExtensionFirefox> {
  const extensionDir = options.extensionDir ?? BUILT_FIREFOX_EXTENSION_DIR;
  const addonId = addonIdOf(extensionDir);
  // The profile lives in the customer's home, so the at-rest scan covers what Firefox writes.
  const profile = join(options.home, '.mozilla', 'firefox', 'devpay-test');
  await mkdir(profile, { recursive: true });
  const browser = await launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: options.headless ?? true,
    userDataDir: profile,
    enableExtensions: [extensionDir],
    env: { ...options.env, HOME: options.home },
    // The simulator's certificate is self-signed, made at its start.
    acceptInsecureCerts: true,
    // Lets WebDriver BiDi open the add-on's own pages (moz-extension://): the popup, as a tab.
    args: ['--remote-allow-system-access'],
    extraPrefsFirefox: {
      // The simulator plays several sites (Amazon's pages, the vendor's, a hostile one) on one loopback port.
      'network.dns.forceResolve': '127.0.0.1',
      'extensions.webextensions.uuids': JSON.stringify({ [addonId]: FIREFOX_ADDON_UUID }),
      'extensions.originControls.grantByDefault': options.grantSiteAccess ?? true,
      'browser.shell.checkDefaultBrowser': false,
      'datareporting.policy.dataSubmissionEnabled': false,
      // Less background work competing with the host for the CPU.
      'browser.safebrowsing.malware.enabled': false,
      'browser.safebrowsing.phishing.enabled': false,
      'network.captive-portal-service.enabled': false,
    },
  });
  const extensionBase = `moz-extension://${FIREFOX_ADDON_UUID}/`;
  return {
    browser,
    addonId,
    extensionBase,
    popupUrl: `${extensionBase}popup.html`,
    newPage: () => browser.newPage(),
    close: async () => {
      if (browser.connected) await browser.close();
    },
  };
}
