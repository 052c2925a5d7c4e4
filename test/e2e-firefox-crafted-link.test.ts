/**
 * Firefox and a crafted link: the vendor's redirect URL carrying someone's own
 * valid key, opened on its own. As in e2e-crafted-link.test.ts, nothing is
 * activated until the customer confirms in the popup, and the key is never kept
 * in the add-on's local storage.
 */
import { describe, expect, it } from 'vitest';
import {
  badgeText,
  extensionStorage,
  openFirefoxPopup,
  productStateIn,
  useFirefoxCustomer,
} from './helpers/firefox-world.ts';
import { waitFor } from './machine/wait.ts';

const BACKUP = 'ACMEBK01';
/** Well over the pairing's wait for the other frame (1.5 s), so a wrongly sent key would have gone by then. */
const SETTLE_MS = 3_000;

const customer = useFirefoxCustomer('e2e-firefox-link');

async function activated(code: string): Promise<boolean> {
  const result = await customer.world.cli(['status', '--json']);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { products: { code: string; activated: boolean }[] }).products.find(
    (p) => p.code === code,
  )!.activated;
}

describe('a crafted link to the vendor’s redirect URL, in Firefox', { timeout: 150_000 }, () => {
  it('activates nothing by itself; the popup asks, and the customer’s confirmation activates', async () => {
    const { world } = customer;
    const firefox = await customer.launch();
    const key = world.sim.purchase(BACKUP, 'attacker@devpay.test');
    const requestsBefore = world.sim.requests.length;
    const link = new URL(world.sim.redirectUrl);
    link.searchParams.set('ActivationKey', key);
    link.searchParams.set('ProductCode', BACKUP);
    await (await firefox.newPage()).goto(link.href);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    expect(world.sim.requests.length).toBe(requestsBefore);
    expect(await activated(BACKUP)).toBe(false);

    const popup = await openFirefoxPopup(firefox);
    await waitFor(async () => (await productStateIn(popup, BACKUP)) === 'confirm-key', {
      timeoutMs: 15_000,
      what: 'the popup to ask about the key',
    });
    const row = `li.product[data-product="${BACKUP}"]`;
    expect(
      await popup.$eval(`${row} .confirm-question[data-question="confirm-key"]`, (el) => el.textContent),
    ).toContain('Acme Backup');
    expect(await popup.$eval('body', (el) => el.textContent)).not.toContain(key);
    expect(await badgeText(popup)).toBe('!');
    expect(JSON.stringify(await extensionStorage(popup, 'local'))).not.toContain(key);
    expect(world.sim.requests.length).toBe(requestsBefore);

    // Pressed in the page: the popup redraws on every state change, which can detach a button between finding and clicking it.
    await popup.$eval(`${row} button[data-action="confirm-key"]`, (button) => button.click());
    await waitFor(() => activated(BACKUP), { timeoutMs: 30_000, what: 'the product to be activated' }).catch(
      async (error: Error) => {
        // Say what the popup showed instead (e.g. the host missing its hello deadline on a loaded machine).
        const shown = await popup.$eval(row, (el) => el.textContent).catch(() => null);
        throw new Error(`${error.message}; the popup showed: ${shown}`);
      },
    );
    const issued = world.sim.issued.filter((s) => s.productCode === BACKUP).at(-1)!;
    const credentials = JSON.parse((await world.cli(['credentials', '--product', BACKUP])).stdout) as {
      AccessKeyId: string;
    };
    expect(credentials.AccessKeyId).toBe(issued.accessKeyId);
    await waitFor(async () => (await productStateIn(popup, BACKUP)) === 'activated', {
      what: 'the popup to say activated',
    });
    expect(JSON.stringify(await extensionStorage(popup, 'session'))).not.toContain(key);
  });
});
