/**
 * End to end: a crafted link. The vendor's redirect URL carries `ActivationKey`
 * and `ProductCode`, and anyone can make one with their own valid key. Opened on
 * its own (not inside Amazon's confirmation page, whose top frame shows the same
 * key), it must not activate anything by itself: the popup asks the customer,
 * and only their confirmation sends the key. Real Chromium, host, simulator and
 * gnome-keyring, as in e2e.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { ExtensionBrowser } from './machine/browser.ts';
import { closeAndCheckNothingLeft } from './helpers/after-browser-test.ts';
import { startCustomerMachine, type CustomerMachine } from './machine/customer-machine.ts';
import { waitFor } from './machine/wait.ts';

const BACKUP = 'ACMEBK01';
const VAULT = 'ACMEPV02';
/** Well over the pairing's wait for the other frame (1.5 s), so a wrongly sent key would have gone by then. */
const SETTLE_MS = 3_000;

let world: CustomerMachine;
let browser: ExtensionBrowser | undefined;

beforeAll(async () => {
  world = await startCustomerMachine({ label: 'e2e-link' });
  const install = await world.install();
  if (install.code !== 0) throw new Error(`install failed (exit ${install.code}): ${install.stderr}`);
});

afterAll(async () => {
  await world?.close();
});

afterEach(async () => {
  await closeAndCheckNothingLeft(world, browser);
  browser = undefined;
});

function craftedLink(key: string, productCode: string): string {
  const url = new URL(world.sim.redirectUrl);
  url.searchParams.set('ActivationKey', key);
  url.searchParams.set('ProductCode', productCode);
  return url.href;
}

async function statusOf(code: string) {
  const result = await world.cli(['status', '--json']);
  expect(result.code, result.stderr).toBe(0);
  const status = JSON.parse(result.stdout) as { products: { code: string; activated: boolean }[] };
  return status.products.find((p) => p.code === code)!;
}

async function openPopup(): Promise<Page> {
  const popup = await browser!.context.newPage();
  await popup.goto(browser!.popupUrl);
  await popup.waitForSelector('#app[data-loaded]');
  return popup;
}

const productState = (popup: Page, code: string) =>
  popup.getAttribute(`li.product[data-product="${code}"]`, 'data-state');

/** Opens the crafted link top-level, as a customer lured to it would, and waits well past the pairing. */
async function openLink(code: string): Promise<{ key: string; requestsBefore: number }> {
  const key = world.sim.purchase(code, 'attacker@devpay.test');
  const requestsBefore = world.sim.requests.length;
  const page = await browser!.context.newPage();
  await page.goto(craftedLink(key, code));
  await page.waitForTimeout(SETTLE_MS);
  return { key, requestsBefore };
}

async function storedLocally(): Promise<Record<string, unknown>> {
  return browser!.serviceWorker.evaluate(() => chrome.storage.local.get(null));
}

describe('a crafted link to the vendor’s redirect URL', () => {
  it('activates nothing by itself; the popup asks, and the customer’s confirmation activates', async () => {
    browser = await world.launch();
    const { key, requestsBefore } = await openLink(BACKUP);
    // The License Service never heard of it, and the desktop product is untouched.
    expect(world.sim.requests.length).toBe(requestsBefore);
    expect((await statusOf(BACKUP)).activated).toBe(false);

    const popup = await openPopup();
    await waitFor(async () => (await productState(popup, BACKUP)) === 'confirm-key', {
      what: 'the popup to ask about the key',
    });
    const row = popup.locator(`li.product[data-product="${BACKUP}"]`);
    expect(await row.locator('.product-state').textContent()).toMatch(/waiting for you/i);
    const question = (await row.locator('.confirm-question[data-question="confirm-key"]').textContent()) ?? '';
    expect(question).toContain('Acme Backup');
    expect(question).toMatch(/only if you just bought or reactivated/);
    expect(await row.locator('button[data-action="ignore-key"]').count()).toBe(1);
    // The popup does not show the key itself, and the badge asks for attention.
    expect(await popup.locator('body').textContent()).not.toContain(key);
    expect(await browser.serviceWorker.evaluate(() => chrome.action.getBadgeText({}))).toBe('!');
    // Held in memory / storage.session only.
    expect(JSON.stringify(await storedLocally())).not.toContain(key);
    expect(world.sim.requests.length).toBe(requestsBefore);

    // By keyboard: focus Activate, press Enter.
    await row.locator('button[data-action="confirm-key"]').focus();
    await popup.keyboard.press('Enter');
    await waitFor(async () => (await statusOf(BACKUP)).activated, {
      timeoutMs: 20_000,
      what: 'the product to be activated',
    });
    expect(world.sim.requests.length).toBeGreaterThan(requestsBefore);
    const issued = world.sim.issued.filter((s) => s.productCode === BACKUP).at(-1)!;
    const credentials = JSON.parse((await world.cli(['credentials', '--product', BACKUP])).stdout) as {
      AccessKeyId: string;
    };
    expect(credentials.AccessKeyId).toBe(issued.accessKeyId);
    await waitFor(async () => (await productState(popup, BACKUP)) === 'activated', {
      what: 'the popup to say activated',
    });
    await browser.serviceWorker
      .evaluate(() => chrome.storage.session.get(null))
      .then((session) => expect(JSON.stringify(session)).not.toContain(key));
  });

  it('ignored, the key is forgotten and nothing is sent', async () => {
    browser = await world.launch();
    const { key, requestsBefore } = await openLink(VAULT);
    const popup = await openPopup();
    await waitFor(async () => (await productState(popup, VAULT)) === 'confirm-key', {
      what: 'the popup to ask about the key',
    });
    await popup.click(`li.product[data-product="${VAULT}"] button[data-action="ignore-key"]`);
    await waitFor(async () => (await productState(popup, VAULT)) !== 'confirm-key', { what: 'the question to go' });
    const session = await browser.serviceWorker.evaluate(() => chrome.storage.session.get(null));
    expect(JSON.stringify(session)).not.toContain(key);
    expect(JSON.stringify(await storedLocally())).not.toContain(key);
    // Ample time for anything wrongly sent to arrive.
    await popup.waitForTimeout(1_000);
    expect(world.sim.requests.length).toBe(requestsBefore);
    expect((await statusOf(VAULT)).activated).toBe(false);
  });
});
