/**
 * The throw-away customer machine of customer-machine.ts (home, keyring, simulator, host
 * registered by its installer), seen through Firefox ESR instead of Chromium:
 * the host registered with `install --browser firefox`, the add-on loaded by
 * firefox.ts, and the few page actions the end-to-end tests need, written for
 * puppeteer's Page.
 */
import type { Frame, Page } from 'puppeteer-core';
import type { CliResult } from './companion.ts';
import { launchExtensionFirefox, type ExtensionFirefox } from './firefox.ts';
import { waitFor } from './wait.ts';
import { startCustomerMachine, type CustomerMachine } from './customer-machine.ts';

export interface FirefoxWorld {
  world: CustomerMachine;
  /** Registers the host with `devpay-companion install --browser firefox`, as a customer would. */
  install(): Promise<CliResult>;
  launch(options?: { grantSiteAccess?: boolean; headless?: boolean }): Promise<ExtensionFirefox>;
  close(): Promise<void>;
}

export async function createFirefoxWorld(label: string): Promise<FirefoxWorld> {
  const world = await startCustomerMachine({ label });
  const launched: ExtensionFirefox[] = [];
  return {
    world,
    install: () => world.cli(['install', '--browser', 'firefox']),
    async launch(options = {}) {
      const firefox = await launchExtensionFirefox({
        home: world.env.HOME!,
        env: world.env as Record<string, string>,
        ...options,
      });
      launched.push(firefox);
      // Firefox keeps both cores busy for a while after it starts; a host started meanwhile can miss the
      // extension's 5 s hello deadline. Wait, as a customer's browser would have, until the popup has
      // checked the host once (reachable or not), then start the test.
      try {
        const popup = await openFirefoxPopup(firefox);
        await waitFor(
          async () =>
            !['checking', 'unknown'].includes(
              (await popup.$eval('#host', (el) => el.getAttribute('data-state'))) ?? 'unknown',
            ),
          {
            timeoutMs: 30_000,
            what: 'the first check of the host',
          },
        );
        await popup.close();
      } catch (error) {
        // The next launch uses the same profile: this Firefox must not outlive a failed start.
        await firefox.close();
        throw error;
      }
      return firefox;
    },
    async close() {
      for (const firefox of launched) await firefox.close().catch(() => {});
      await world.close();
    },
  };
}

/** The frame showing `#activation-key` (Amazon's top frame on the split confirmation page). */
async function keyFrame(page: Page): Promise<Frame> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      if (
        (await frame.evaluate(() => window.name).catch(() => '')) === 'aws' &&
        (await frame.$('#activation-key').catch(() => null))
      )
        return frame;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('The confirmation page showed no frame named "aws" with the activation key.');
}

/** Purchase page → "Place your order" → the split confirmation; returns the key the top frame shows. */
export async function buyInFirefox(world: CustomerMachine, page: Page, productCode: string): Promise<string> {
  await page.goto(world.sim.purchaseUrl(productCode));
  await Promise.all([page.waitForNavigation(), page.click('#place-order')]);
  await page.waitForSelector('frameset');
  const frame = await keyFrame(page);
  return frame.$eval('#activation-key', (el) => (el.textContent ?? '').trim());
}

export async function openFirefoxPopup(firefox: ExtensionFirefox): Promise<Page> {
  const popup = await firefox.newPage();
  // The page loads, but BiDi's wait for it fails on the switch to the add-on's process
  // (NS_ERROR_NOT_AVAILABLE or a timeout), a query made during that switch can fail with a
  // protocol error, and now and then the load itself is dropped: poll for the popup's own
  // "loaded" mark, taking such errors as "not yet", and navigate again when it does not come.
  const deadline = Date.now() + 60_000;
  let last: unknown;
  while (Date.now() < deadline) {
    void popup.goto(firefox.popupUrl, { timeout: 15_000 }).catch(() => undefined);
    const navigated = Date.now();
    while (Date.now() - navigated < 15_000) {
      try {
        if (await popup.$('#app[data-loaded]')) return popup;
      } catch (error) {
        last = error;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(
    `The add-on's popup did not load within 60 s${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}.`,
  );
}

export async function productStateIn(popup: Page, code: string): Promise<string | null> {
  return popup.$eval(`li.product[data-product="${code}"]`, (el) => el.getAttribute('data-state')).catch(() => null);
}

/** The toolbar badge, read through the add-on's own API from its popup page. */
export async function badgeText(popup: Page): Promise<string> {
  return popup.evaluate(() => (globalThis as unknown as { browser: typeof chrome }).browser.action.getBadgeText({}));
}

/** The add-on's storage area, read from its popup page. */
export async function extensionStorage(popup: Page, area: 'local' | 'session'): Promise<Record<string, unknown>> {
  return popup.evaluate(
    (name) => (globalThis as unknown as { browser: typeof chrome }).browser.storage[name].get(null),
    area,
  );
}
