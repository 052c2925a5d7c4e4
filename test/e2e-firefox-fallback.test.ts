/**
 * Firefox without the host installed: native messaging finds no host, and the
 * loopback channel refuses moz-extension:// origins (a per-install UUID the host
 * cannot verify), so the popup's fallback shows the key and the command; the
 * customer finishes by pasting the key at the prompt of `devpay-companion
 * activate`, driven in a real terminal (as in e2e-fallback.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { HOST_BUNDLE } from './machine/companion.ts';
import { findAtRestWithFirefox } from './machine/firefox-at-rest.ts';
import { buyInFirefox, openFirefoxPopup, productStateIn, useFirefoxCustomer } from './helpers/firefox-world.ts';
import { startTerminal } from './helpers/terminal.ts';
import { waitFor } from './machine/wait.ts';

const BACKUP = 'ACMEBK01';

const customer = useFirefoxCustomer('e2e-firefox-fallback', { install: false, checkEachTest: false });

describe('Firefox when the host is not installed', { timeout: 150_000 }, () => {
  it('the popup offers the key and the command, and the terminal prompt finishes the job', async () => {
    const { world } = customer;
    const firefox = await customer.launch();
    const shownKey = await buyInFirefox(world, await firefox.newPage(), BACKUP);

    const popup = await openFirefoxPopup(firefox);
    const row = `li.product[data-product="${BACKUP}"]`;
    await waitFor(async () => (await productStateIn(popup, BACKUP)) === 'fallback', {
      timeoutMs: 20_000,
      what: 'the fallback state',
    });
    expect(await popup.$eval('#host', (el) => el.getAttribute('data-state'))).toBe('unreachable');
    expect(await popup.$eval('#host-reason', (el) => el.getAttribute('data-reason'))).toBe('not-installed');
    // What the customer copies, and where to paste it.
    const heldKey = (await popup.$eval(`${row} .fallback-key`, (el) => el.textContent ?? '')).trim();
    expect(heldKey).toBe(shownKey);
    expect(await popup.$$eval(`${row} button[data-action="copy-key"]`, (els) => els.length)).toBe(1);
    expect(await popup.$eval(`${row} .fallback-command`, (el) => el.textContent)).toContain(
      `devpay-companion activate --product ${BACKUP}`,
    );
    expect(await popup.$eval('.install-command', (el) => el.textContent)).toContain('devpay-companion install');
    await firefox.close();

    // Nothing was sent anywhere yet.
    expect(world.sim.issued).toEqual([]);

    const terminal = await startTerminal([process.execPath, HOST_BUNDLE, 'activate', '--product', BACKUP], {
      env: world.env,
    });
    try {
      const prompt = await terminal.waitFor(/activation key/i, 20_000);
      expect(prompt).toContain(world.config.activateUrl);
      await terminal.type(heldKey);
      await terminal.press('Enter');
      const screen = await terminal.waitFor(/activated/i, 30_000);
      expect(await terminal.waitForExit()).toBe(0);
      const issued = world.sim.issued.at(-1)!;
      expect(screen).toContain('Acme Backup');
      expect(screen).not.toContain(issued.secretAccessKey);
    } finally {
      await terminal.stop();
    }

    const credentials = JSON.parse((await world.cli(['credentials', '--product', BACKUP])).stdout) as {
      AccessKeyId: string;
    };
    expect(credentials.AccessKeyId).toBe(world.sim.issued.at(-1)!.accessKeyId);
    expect(await findAtRestWithFirefox(world)).toEqual([]);
    expect(await world.runningHosts()).toEqual([]);
  });
});
