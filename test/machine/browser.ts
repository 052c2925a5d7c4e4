/**
 * Chromium (Debian's, or CHROMIUM_PATH) with a built extension loaded, headless
 * unless asked otherwise: the customer machine's browser, also started directly
 * by the extension's own browser tests. The flags keep it from reaching out and
 * let the simulator play several sites on one loopback port.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type BrowserContext, type Worker } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const BUILT_EXTENSION_DIR = resolve('.output/chrome-mv3');

export interface ExtensionBrowser {
  context: BrowserContext;
  extensionId: string;
  serviceWorker: Worker;
  popupUrl: string;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Chromium looks for native messaging manifests in <userDataDir>/NativeMessagingHosts/. */
  userDataDir: string;
  extensionDir?: string;
  /** The environment Chromium passes on to the native host. */
  env: Record<string, string>;
  headless?: boolean;
  slowMo?: number;
}

export async function launchExtensionBrowser(options: LaunchOptions): Promise<ExtensionBrowser> {
  const extensionDir = options.extensionDir ?? BUILT_EXTENSION_DIR;
  if (!existsSync(resolve(extensionDir, 'manifest.json'))) {
    throw new Error(`No built extension in ${extensionDir}: run "npm run build" first.`);
  }
  const context = await chromium.launchPersistentContext(options.userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: options.headless ?? true,
    slowMo: options.slowMo,
    env: options.env,
    // The simulator's certificate is self-signed, made at its start.
    ignoreHTTPSErrors: true,
    ignoreDefaultArgs: ['--disable-extensions'],
    args: [
      `--disable-extensions-except=${extensionDir}`,
      `--load-extension=${extensionDir}`,
      // The simulator plays several sites (Amazon's pages, the vendor's, a hostile one) on one loopback port.
      '--host-resolver-rules=MAP *.devpay.test 127.0.0.1',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  try {
    const serviceWorker =
      context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: 15_000 }));
    const extensionId = new URL(serviceWorker.url()).host;
    return {
      context,
      extensionId,
      serviceWorker,
      popupUrl: `chrome-extension://${extensionId}/popup.html`,
      close: () => context.close(),
    };
  } catch (error) {
    await context.close();
    throw error;
  }
}
