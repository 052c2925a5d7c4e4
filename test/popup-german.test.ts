/**
 * The second language for real: Chromium in German, the built extension, no host
 * installed. The popup, its language tag, the badge tooltip and the extension's
 * name come out in German, and the German popup passes axe-core too.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchExtensionBrowser, type ExtensionBrowser } from './machine/browser.ts';
import { runAxe } from './helpers/popup-checks.ts';
import { BACKUP, openPopup, productState } from './machine/popup-states.ts';
import { waitFor } from './machine/wait.ts';
import { startCustomerMachine, type CustomerMachine } from './machine/customer-machine.ts';

let world: CustomerMachine;
let browser: ExtensionBrowser | undefined;

beforeAll(async () => {
  world = await startCustomerMachine({ label: 'popup-de' });
  // Chromium on Linux takes its interface language from the environment.
  browser = await launchExtensionBrowser({
    userDataDir: world.userDataDir,
    env: { ...(world.env as Record<string, string>), LANGUAGE: 'de', LANG: 'de_DE.UTF-8' },
  });
});

afterAll(async () => {
  await browser?.close();
  await world?.close();
});

it('speaks German in the popup, the badge and the extension name', { timeout: 120_000 }, async () => {
  await world.buy(await browser!.context.newPage(), BACKUP);
  const popup = await openPopup(browser!);
  await waitFor(async () => (await productState(popup, BACKUP)) === 'fallback', {
    timeoutMs: 60_000,
    what: 'the fallback state',
  });

  expect(await popup.getAttribute('html', 'lang')).toBe('de');
  expect(await popup.textContent('#host-heading')).toBe('Begleit-App');
  const row = popup.locator(`li.product[data-product="${BACKUP}"]`);
  expect(await row.locator('.product-state strong').textContent()).toContain(
    'Ihr Schritt: den Schlüssel in die Begleit-App einfügen',
  );
  expect(await row.locator('button[data-action="copy-key"]').textContent()).toBe('Schlüssel kopieren');
  // Commands are not translated.
  expect(await row.locator('.fallback-command').textContent()).toBe(`devpay-companion activate --product ${BACKUP}`);
  // The screen reader hears the state in German.
  expect(await popup.textContent('#live')).toContain('Acme Backup: Ihr Schritt');

  const [title, name] = await browser!.serviceWorker.evaluate(async () => [
    await chrome.action.getTitle({}),
    chrome.i18n.getMessage('manifest_name'),
  ]);
  expect(title).toBe('Acme Backup: Handlung nötig. Öffnen, um zu sehen, was zu tun ist.');
  expect(name).toBe(`${world.config.vendor.name} Aktivierungshelfer`);

  const severe = (await runAxe(popup)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(severe).toEqual([]);
});
