/**
 * End to end without the host installed: the popup's fallback shows the key and
 * the command, and the customer finishes by pasting the key at the prompt of
 * `devpay-companion activate`, driven in a real terminal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCustomerMachine, type CustomerMachine } from './machine/customer-machine.ts';
import { HOST_BUNDLE } from './machine/companion.ts';
import { startTerminal } from './helpers/terminal.ts';
import { waitFor } from './machine/wait.ts';

const BACKUP = 'ACMEBK01';

let world: CustomerMachine;

beforeAll(async () => {
  world = await startCustomerMachine({ label: 'e2e-fallback' });
});

afterAll(async () => {
  await world?.close();
});

describe('when the host is not installed', () => {
  it('the popup offers the key and the command, and the terminal prompt finishes the job', async () => {
    const browser = await world.launch();
    const page = await browser.context.newPage();
    const shownKey = await world.buy(page, BACKUP);

    const popup = await browser.context.newPage();
    await popup.goto(browser.popupUrl);
    const row = popup.locator(`li.product[data-product="${BACKUP}"]`);
    await waitFor(async () => (await row.getAttribute('data-state')) === 'fallback', { what: 'the fallback state' });
    expect(await popup.getAttribute('#host', 'data-state')).toBe('unreachable');
    expect(await popup.getAttribute('#host-reason', 'data-reason')).toBe('not-installed');
    // What the customer copies, and where to paste it.
    const heldKey = (await row.locator('.fallback-key').textContent())!.trim();
    expect(heldKey).toBe(shownKey);
    expect(await row.locator('button[data-action="copy-key"]').count()).toBe(1);
    expect(await row.locator('.fallback-command').textContent()).toContain(
      `devpay-companion activate --product ${BACKUP}`,
    );
    expect(await popup.locator('.install-command').first().textContent()).toContain('devpay-companion install');
    await browser.close();

    // Nothing was sent anywhere yet.
    expect(world.sim.issued).toEqual([]);

    const terminal = await startTerminal([process.execPath, HOST_BUNDLE, 'activate', '--product', BACKUP], {
      env: world.env,
    });
    try {
      const prompt = await terminal.waitFor(/activation key/i);
      expect(prompt).toContain(world.config.activateUrl);
      await terminal.type(heldKey);
      await terminal.press('Enter');
      const screen = await terminal.waitFor(/activated/i, 20_000);
      expect(await terminal.waitForExit()).toBe(0);
      const issued = world.sim.issued.at(-1)!;
      expect(screen).toContain('Acme Backup');
      // The access key id is shown masked, never whole; the secret never.
      expect(screen).not.toContain(issued.accessKeyId);
      expect(screen).not.toContain(issued.secretAccessKey);
      expect(screen).toContain(issued.accessKeyId.slice(-4));
    } finally {
      await terminal.stop();
    }

    const credentials = JSON.parse((await world.cli(['credentials', '--product', BACKUP])).stdout) as {
      AccessKeyId: string;
    };
    expect(credentials.AccessKeyId).toBe(world.sim.issued.at(-1)!.accessKeyId);
    expect(await world.findAtRest(world.secrets())).toEqual([]);
    expect(await world.runningHosts()).toEqual([]);
  });
});
