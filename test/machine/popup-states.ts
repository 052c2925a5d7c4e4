/**
 * The popup's states, reached for real: a throw-away customer machine (world.ts)
 * with the real host, simulator and keychain, purchases in headless Chromium with
 * the built extension, and the popup opened as its own page. Shared by the popup
 * tests (axe, keyboard) and `npm run screenshots`, so the pictures show what is tested.
 */
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import type { ExtensionBrowser } from './browser.ts';
import { waitFor } from './wait.ts';
import { startCustomerMachine, type CustomerMachine } from './customer-machine.ts';

export const BACKUP = 'ACMEBK01';
export const VAULT = 'ACMEPV02';

/** `host-missing`: the host is not installed, the popup offers the key, the command and the install command. */
export const POPUP_STATES = [
  'activated',
  'confirm-replace',
  'confirm-key',
  'expired-key',
  'activating',
  'host-missing',
] as const;
export type PopupStateName = (typeof POPUP_STATES)[number];

export interface PopupScene {
  name: PopupStateName;
  /** The popup page, loaded and showing this state. */
  popup: Page;
  /** The product row the state is about. */
  product: string;
  world: CustomerMachine;
  browser: ExtensionBrowser;
}

/** The popup's width in Chromium's toolbar is its content's; a page this wide shows it the same. */
export const POPUP_VIEWPORT = { width: 420, height: 640 };

export const rowSelector = (code: string) => `li.product[data-product="${code}"]`;
export const productState = (popup: Page, code: string) => popup.getAttribute(rowSelector(code), 'data-state');

export async function openPopup(browser: ExtensionBrowser): Promise<Page> {
  const popup = await browser.context.newPage();
  await popup.setViewportSize(POPUP_VIEWPORT);
  // Records what the live region says, as a screen reader would hear it over time (see announcements()).
  await popup.addInitScript(() => {
    const heard: string[] = [];
    Object.assign(window, { __announced: heard });
    new MutationObserver(() => {
      const text = document.getElementById('live')?.textContent;
      if (text && heard.at(-1) !== text) heard.push(text);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  await popup.goto(browser.popupUrl);
  await popup.waitForSelector('#app[data-loaded]');
  return popup;
}

/** Everything the popup's live region has said since it opened. */
export function announcements(popup: Page): Promise<string[]> {
  return popup.evaluate(() => (window as unknown as { __announced?: string[] }).__announced ?? []);
}

async function waitForState(popup: Page, code: string, state: string): Promise<void> {
  let retried = false;
  await waitFor(
    async () => {
      const now = await productState(popup, code);
      // On a machine this loaded (2 cores, many browsers) a host's first start can miss the hello's
      // time limit; the popup then offers Retry, and Retry is what a customer would press.
      // (The key may sit in the row of a product not yet known, when the page's two frames came slowly.)
      const retry = popup.locator(
        'li.product:has(.product-error[data-code="HOST_TIMEOUT"]) button[data-action="retry"]',
      );
      if (state !== 'failed' && !retried && (await retry.count()) > 0) {
        retried = true;
        await retry.first().click();
      }
      return now === state;
    },
    { timeoutMs: 60_000, what: `the popup to show ${code} as ${state}` },
  ).catch(async (error: Error) => {
    const shown = await popup
      .evaluate(() => Array.from(document.querySelectorAll('li.product, #host'), (el) => el.textContent).join('\n'))
      .catch(() => '(no page)');
    throw new Error(`${error.message}. The popup shows:\n${shown}`);
  });
  // The host check that opening the popup starts has answered (no "Checking…" in the picture).
  await waitFor(async () => (await popup.getAttribute('#host', 'data-state')) !== 'checking', {
    timeoutMs: 30_000,
    what: 'the host check',
  });
}

function craftedLink(world: CustomerMachine, key: string, code: string): string {
  const url = new URL(world.sim.redirectUrl);
  url.searchParams.set('ActivationKey', key);
  url.searchParams.set('ProductCode', code);
  return url.href;
}

/** Clicks a button of the row if the state is still there (the visit may have used it already). */
async function answer(popup: Page, code: string, action: string): Promise<void> {
  const button = popup.locator(`${rowSelector(code)} button[data-action="${action}"]`);
  if ((await button.count()) > 0 && (await button.isEnabled())) await button.click();
}

/**
 * Brings the popup into each wanted state in turn and calls `visit` there; the
 * popup page is closed after each. Two worlds: one with the host installed, one without.
 */
export async function visitPopupStates(
  visit: (scene: PopupScene) => Promise<void>,
  options: { states?: readonly PopupStateName[]; label?: string } = {},
): Promise<void> {
  const wanted = new Set(options.states ?? POPUP_STATES);
  const withHost = POPUP_STATES.filter((s) => s !== 'host-missing' && wanted.has(s));
  if (withHost.length > 0) await inWorld(true, withHost, visit, options.label);
  if (wanted.has('host-missing')) await inWorld(false, ['host-missing'], visit, options.label);
}

/** States whose visit may press a button that moves the popup on (the keyboard tests). */
const visitMayChangeState = (name: PopupStateName) => name !== 'activating';

async function inWorld(
  installed: boolean,
  states: readonly PopupStateName[],
  visit: (scene: PopupScene) => Promise<void>,
  label = 'popup',
): Promise<void> {
  const world = await startCustomerMachine({ label: `${label}-${installed ? 'host' : 'nohost'}` });
  try {
    if (installed) {
      const install = await world.install();
      if (install.code !== 0) throw new Error(`devpay-companion install failed: ${install.stderr}`);
    }
    const browser = await world.launch();
    // Each purchase in a tab of its own, as a customer would.
    const buy = async (code: string) => world.buy(await browser.context.newPage(), code);
    const scene = async (
      name: PopupStateName,
      product: string,
      state: string,
      after?: (popup: Page) => Promise<void>,
    ) => {
      if (!states.includes(name)) return;
      const popup = await openPopup(browser);
      try {
        await waitForState(popup, product, state);
        await visit({ name, popup, product, world, browser });
        // What was checked or pictured was this state all along (a slow activation may have finished meanwhile).
        const still = await productState(popup, product);
        if (still !== state && !visitMayChangeState(name))
          throw new Error(`The popup left ${state} (now ${still}) while ${name} was being looked at.`);
        await after?.(popup);
      } finally {
        await popup.close();
      }
    };

    if (!installed) {
      await buy(BACKUP);
      await scene('host-missing', BACKUP, 'fallback');
      return;
    }
    // Activated, then a new key for it from Amazon's activate page: the popup asks before replacing.
    await buy(BACKUP);
    await scene('activated', BACKUP, 'activated');
    if (states.includes('confirm-replace')) {
      const page = await browser.context.newPage();
      await page.goto(world.sim.activateUrl);
      if (await page.locator('#sign-in').count()) await page.click('#sign-in');
      await page.click(`button[data-product="${BACKUP}"]`);
      await page.waitForSelector('#activation-key');
      await scene('confirm-replace', BACKUP, 'confirm-replace', (popup) => answer(popup, BACKUP, 'cancel-replace'));
    }
    // A link that carries a key on its own: held until the customer says it is theirs.
    if (states.includes('confirm-key')) {
      await (
        await browser.context.newPage()
      ).goto(craftedLink(world, world.sim.purchase(VAULT, 'someone@devpay.test'), VAULT));
      await scene('confirm-key', VAULT, 'confirm-key', (popup) => answer(popup, VAULT, 'ignore-key'));
    }
    // A key over an hour old: the License Service refuses it, the popup says to get a new one.
    if (states.includes('expired-key')) {
      world.sim.ageNewKeys(2 * 60 * 60_000);
      await buy(VAULT);
      world.sim.ageNewKeys(0);
      await scene('expired-key', VAULT, 'failed', (popup) => answer(popup, VAULT, 'dismiss'));
    }
    // A slow License Service: the popup shows the activation under way.
    if (states.includes('activating')) {
      world.sim.faults.latencyMs = 8_000;
      await buy(VAULT);
      await scene('activating', VAULT, 'in-progress', async (popup) => {
        world.sim.faults.latencyMs = 0;
        await waitFor(async () => (await productState(popup, VAULT)) === 'activated', {
          timeoutMs: 30_000,
          what: 'the slow activation to finish',
        });
      });
    }
  } finally {
    await world.close();
  }
}

/**
 * A picture of the popup as the customer sees it: the page's content only, no focus
 * ring, at the toolbar popup's width. Returns the file's absolute path.
 */
export async function savePopupScreenshot(popup: Page, file: string): Promise<string> {
  await popup.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await popup.locator('body').screenshot({ path: file, animations: 'disabled', caret: 'hide' });
  return resolve(file);
}
