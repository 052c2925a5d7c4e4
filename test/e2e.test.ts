/**
 * End to end, as a customer lives it: headless Chromium with the built
 * extension, the real host registered by its own installer, the simulator's
 * purchase pages and License Service, and a real gnome-keyring.
 *
 * The scenarios share one customer (one browser profile, one data folder) and
 * run in order; each starts and closes the browser, then checks that no key or
 * secret is at rest anywhere and that nothing is left running.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { ExtensionBrowser } from './machine/browser.ts';
import { closeAndCheckNothingLeft } from './helpers/after-browser-test.ts';
import { startCustomerMachine, type CustomerMachine } from './machine/customer-machine.ts';
import { waitFor } from './machine/wait.ts';

const BACKUP = 'ACMEBK01';
const VAULT = 'ACMEPV02';
const HOUR = 60 * 60 * 1000;

interface CredentialProcess {
  Version: number;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  UserToken: string;
  ProductToken: string;
}

let world: CustomerMachine;
let browser: ExtensionBrowser | undefined;

beforeAll(async () => {
  world = await startCustomerMachine({ label: 'e2e' });
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

async function credentials(code: string): Promise<CredentialProcess> {
  const result = await world.cli(['credentials', '--product', code]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as CredentialProcess;
}

async function statusOf(code: string) {
  const result = await world.cli(['status', '--json']);
  expect(result.code, result.stderr).toBe(0);
  const status = JSON.parse(result.stdout) as {
    products: { code: string; activated: boolean; activatedAt: string | null }[];
  };
  return status.products.find((p) => p.code === code)!;
}

async function openPopup(): Promise<Page> {
  const popup = await browser!.context.newPage();
  await popup.goto(browser!.popupUrl);
  await popup.waitForSelector('#app[data-loaded]');
  return popup;
}

async function productState(popup: Page, code: string): Promise<string | null> {
  return popup.getAttribute(`li.product[data-product="${code}"]`, 'data-state');
}

async function expectIssuedSet(code: string): Promise<void> {
  expect(await credentials(code)).toEqual(world.issuedCredentialProcess(code));
}

describe('the customer journey in Chromium', () => {
  it('an expired key stores nothing and the popup links the activate URL', async () => {
    world.sim.ageNewKeys(HOUR + 60_000);
    browser = await world.launch();
    const page = await browser.context.newPage();
    await world.buy(page, BACKUP);

    const popup = await openPopup();
    await waitFor(async () => (await productState(popup, BACKUP)) === 'failed', {
      what: 'the popup to report the failure',
    });
    const row = popup.locator(`li.product[data-product="${BACKUP}"]`);
    await expect(row.locator('.product-error').getAttribute('data-code')).resolves.toBe('EXPIRED_KEY');
    await expect(row.locator('a[data-link="activate"]').first().getAttribute('href')).resolves.toBe(
      world.config.activateUrl,
    );
    expect(world.sim.requests.at(-1)?.outcome).toBe('ExpiredActivationKey');
    expect((await statusOf(BACKUP)).activated).toBe(false);
    world.sim.ageNewKeys(0);
  });

  it('a hostile page on an origin that is not allowed cannot hand over a valid key', async () => {
    browser = await world.launch();
    const before = world.sim.requests.length;
    const page = await browser.context.newPage();
    await page.goto(world.sim.hostileUrl);
    await page.waitForSelector('#activation-key');
    // Give a content script (if one wrongly ran) ample time to act.
    await page.waitForTimeout(1_500);
    expect(world.sim.requests.length).toBe(before);
    const popup = await openPopup();
    for (const product of world.config.products)
      expect(await productState(popup, product.code)).not.toBe('in-progress');
    expect((await statusOf(BACKUP)).activated).toBe(false);
  });

  it('a purchase activates the product: the stored set is exactly the one issued', async () => {
    browser = await world.launch();
    const page = await browser.context.newPage();
    await world.buy(page, BACKUP);
    await waitFor(async () => (await statusOf(BACKUP)).activated, { what: 'the product to be activated' });

    await expectIssuedSet(BACKUP);
    const popup = await openPopup();
    await waitFor(async () => (await productState(popup, BACKUP)) === 'activated', {
      what: 'the popup to say activated',
    });
    expect(await popup.getAttribute('#host', 'data-state')).toBe('reachable');
    const badge = await browser.serviceWorker.evaluate(() => chrome.action.getBadgeText({}));
    expect(badge).toBe('✓');
  });

  it('a second product bought in the same browser gets its own, separate set', async () => {
    browser = await world.launch();
    const page = await browser.context.newPage();
    await world.buy(page, VAULT);
    await waitFor(async () => (await statusOf(VAULT)).activated, { what: 'the second product to be activated' });

    await expectIssuedSet(VAULT);
    await expectIssuedSet(BACKUP);
    const [backup, vault] = [await credentials(BACKUP), await credentials(VAULT)];
    expect(backup.AccessKeyId).not.toBe(vault.AccessKeyId);
    expect(backup.ProductToken).not.toBe(vault.ProductToken);
  });

  it('a new key from the activate URL page replaces the set only after the customer confirms', async () => {
    const old = await credentials(BACKUP);
    browser = await world.launch();
    const page = await browser.context.newPage();
    await page.goto(world.sim.activateUrl);
    if (await page.locator('#sign-in').count()) await page.click('#sign-in');
    await page.click(`button[data-product="${BACKUP}"]`);
    await page.waitForSelector('#activation-key');

    const popup = await openPopup();
    await waitFor(async () => (await productState(popup, BACKUP)) === 'confirm-replace', {
      what: 'the popup to ask for confirmation',
    });
    // Not replaced while the customer has not confirmed.
    expect(await credentials(BACKUP)).toEqual(old);

    await popup.click(`li.product[data-product="${BACKUP}"] button[data-action="confirm-replace"]`);
    await waitFor(async () => (await credentials(BACKUP)).AccessKeyId !== old.AccessKeyId, {
      what: 'the new set to be stored',
    });
    await expectIssuedSet(BACKUP);
    await waitFor(async () => (await productState(popup, BACKUP)) === 'activated', {
      what: 'the popup to say activated',
    });
  });

  it('the License Service answering 503 a few times does not stop the activation', async () => {
    const old = await credentials(VAULT);
    world.sim.faults.add({ kind: '503' }, 3);
    browser = await world.launch();
    const page = await browser.context.newPage();
    await world.buy(page, VAULT);
    const popup = await openPopup();
    await waitFor(async () => (await productState(popup, VAULT)) === 'confirm-replace', {
      timeoutMs: 20_000,
      what: 'the confirmation prompt',
    });
    await popup.click(`li.product[data-product="${VAULT}"] button[data-action="confirm-replace"]`);
    await waitFor(async () => (await credentials(VAULT)).AccessKeyId !== old.AccessKeyId, {
      timeoutMs: 20_000,
      what: 'the new set',
    });
    await expectIssuedSet(VAULT);
    expect(world.sim.requests.filter((r) => r.status === 503).length).toBe(3);
  });
});
