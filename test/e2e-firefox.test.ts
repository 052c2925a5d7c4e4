/**
 * End to end in Firefox ESR, as a Firefox customer lives it: the built add-on
 * (npm run build:firefox), the real host registered by `install --browser
 * firefox`, the simulator's purchase pages and License Service, and a real
 * gnome-keyring. The same scenarios as e2e.test.ts; each starts and closes
 * Firefox, then checks that no key or secret is at rest and no host is left.
 */
import { describe, expect, it } from 'vitest';
import {
  badgeText,
  buyInFirefox,
  openFirefoxPopup,
  productStateIn,
  useFirefoxCustomer,
} from './helpers/firefox-world.ts';
import { waitFor } from './machine/wait.ts';

const BACKUP = 'ACMEBK01';
const HOUR = 60 * 60 * 1000;

const customer = useFirefoxCustomer('e2e-firefox');

async function statusOf(code: string) {
  const result = await customer.world.cli(['status', '--json']);
  expect(result.code, result.stderr).toBe(0);
  const status = JSON.parse(result.stdout) as { products: { code: string; activated: boolean }[] };
  return status.products.find((p) => p.code === code)!;
}

// Firefox takes far longer than Chromium to start (tens of seconds on a loaded two-core machine).
describe('the customer journey in Firefox', { timeout: 120_000 }, () => {
  it('an expired key stores nothing and the popup links the activate URL', async () => {
    const { world } = customer;
    world.sim.ageNewKeys(HOUR + 60_000);
    const firefox = await customer.launch();
    await buyInFirefox(world, await firefox.newPage(), BACKUP);

    const popup = await openFirefoxPopup(firefox);
    await waitFor(async () => (await productStateIn(popup, BACKUP)) === 'failed', {
      what: 'the popup to report the failure',
    });
    const row = `li.product[data-product="${BACKUP}"]`;
    expect(await popup.$eval(`${row} .product-error`, (el) => el.getAttribute('data-code'))).toBe('EXPIRED_KEY');
    expect(await popup.$eval(`${row} a[data-link="activate"]`, (el) => el.getAttribute('href'))).toBe(
      world.config.activateUrl,
    );
    expect(world.sim.requests.at(-1)?.outcome).toBe('ExpiredActivationKey');
    expect((await statusOf(BACKUP)).activated).toBe(false);
    world.sim.ageNewKeys(0);
  });

  it('a hostile page on an origin that is not allowed cannot hand over a valid key', async () => {
    const { world } = customer;
    const firefox = await customer.launch();
    const before = world.sim.requests.length;
    const page = await firefox.newPage();
    await page.goto(world.sim.hostileUrl);
    await page.waitForSelector('#activation-key');
    // Give a content script (if one wrongly ran) ample time to act.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(world.sim.requests.length).toBe(before);
    const popup = await openFirefoxPopup(firefox);
    for (const product of world.config.products)
      expect(await productStateIn(popup, product.code)).not.toBe('in-progress');
    expect((await statusOf(BACKUP)).activated).toBe(false);
  });

  it('a purchase activates the product: the stored set is exactly the one issued', async () => {
    const { world } = customer;
    const firefox = await customer.launch();
    await buyInFirefox(world, await firefox.newPage(), BACKUP);
    await waitFor(async () => (await statusOf(BACKUP)).activated, {
      timeoutMs: 20_000,
      what: 'the product to be activated',
    });

    const result = await world.cli(['credentials', '--product', BACKUP]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(world.issuedCredentialProcess(BACKUP));
    const popup = await openFirefoxPopup(firefox);
    await waitFor(async () => (await productStateIn(popup, BACKUP)) === 'activated', {
      what: 'the popup to say activated',
    });
    expect(await popup.$eval('#host', (el) => el.getAttribute('data-state'))).toBe('reachable');
    expect(await badgeText(popup)).toBe('✓');
  });
});
