/**
 * End to end: the desktop product finds its set unusable (`check` says
 * reactivate) and runs `reactivate --no-open`; the customer gets a new key on
 * the activate page in Chromium; the extension hands it over and the host
 * replaces the set with no popup confirmation; a loopback client (api.ts
 * watchCredentials) hears of it. And what a pending reactivation does not
 * allow: a redirect URL's key, a key after the record expired, a key for
 * another product all still ask. Real Chromium, host, simulator, gnome-keyring.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { maskIdentifier } from '../shared/activation-key.ts';
import type { CredentialsEvent } from '../shared/messages.ts';
import { watchCredentials, type CredentialsWatch } from '../native-host/api.ts';
import type { ExtensionBrowser } from './machine/browser.ts';
import { startCli } from './machine/companion.ts';
import { closeAndCheckNothingLeft } from './helpers/after-browser-test.ts';
import { startCustomerMachine, type CustomerMachine } from './machine/customer-machine.ts';
import { waitFor } from './machine/wait.ts';

const BACKUP = 'ACMEBK01';
const VAULT = 'ACMEPV02';
/** Well over the pairing's wait for another frame (1.5 s): a key wrongly sent would have gone by then. */
const SETTLE_MS = 3_000;

let world: CustomerMachine;
let browser: ExtensionBrowser | undefined;
let serve: ChildProcess | undefined;
let watch: CredentialsWatch | undefined;
const events: CredentialsEvent[] = [];

const recordFile = (code: string) => join(world.dataDir, 'reactivation', `${code}.json`);
const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

async function startReactivate(code: string, timeoutSeconds = 120) {
  const running = startCli(world.env, [
    'reactivate',
    '--product',
    code,
    '--no-open',
    '--timeout',
    String(timeoutSeconds),
  ]);
  await waitFor(() => exists(recordFile(code)), { what: 'the pending reactivation' });
  return running;
}

beforeAll(async () => {
  world = await startCustomerMachine({ label: 'e2e-reactivate' });
  const install = await world.install();
  if (install.code !== 0) throw new Error(`install failed (exit ${install.code}): ${install.stderr}`);
  serve = startCli(world.env, ['serve', '--port', '0']).child;
  let log = '';
  serve.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  let port = 0;
  await waitFor(() => (port = Number(/listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(log)?.[1] ?? 0)) > 0, {
    what: 'serve to listen',
  });
  watch = await watchCredentials(BACKUP, (event) => events.push(event), {
    port,
    tokenFile: join(world.dataDir, 'loopback.token'),
  });
});

afterAll(async () => {
  await watch?.stop();
  serve?.kill('SIGTERM');
  if (serve) await once(serve, 'close');
  await world?.close();
});

afterEach(async () => {
  await closeAndCheckNothingLeft(world, browser);
  browser = undefined;
});

async function accessKeyIdOf(code: string): Promise<string> {
  const result = await world.cli(['credentials', '--product', code]);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { AccessKeyId: string }).AccessKeyId;
}

async function openPopup(): Promise<Page> {
  const popup = await browser!.context.newPage();
  await popup.goto(browser!.popupUrl);
  await popup.waitForSelector('#app[data-loaded]');
  return popup;
}

const productState = (popup: Page, code: string) =>
  popup.getAttribute(`li.product[data-product="${code}"]`, 'data-state');

/** The customer on the activate page: signs in and gets a new key for the product. */
async function newKeyOnActivatePage(code: string): Promise<void> {
  const page = await browser!.context.newPage();
  await page.goto(world.sim.activateUrl);
  if (await page.locator('#sign-in').count()) await page.click('#sign-in');
  await page.click(`button[data-product="${code}"]`);
  await page.waitForSelector('#activation-key');
}

describe('reactivation started by the desktop product', () => {
  it('check says reactivate; the activate page key replaces the set with no confirmation; the command exits 0; a loopback client hears of it', async () => {
    for (const code of [BACKUP, VAULT])
      expect(
        (await world.cli(['activate', '--product', code, '--key', '-'], `${world.sim.purchase(code)}\n`)).code,
      ).toBe(0);
    expect((await world.cli(['check', '--product', BACKUP])).code).toBe(0);
    // The stored set made unreadable: one flipped bit in the ciphertext.
    const file = join(world.dataDir, 'credentials', `${BACKUP}.cred`);
    const envelope = JSON.parse(await readFile(file, 'utf8')) as { data: string };
    const data = Buffer.from(envelope.data, 'base64');
    data[0]! ^= 1;
    await writeFile(file, JSON.stringify({ ...envelope, data: data.toString('base64') }));
    const check = await world.cli(['check', '--product', BACKUP]);
    expect([check.code, check.stderr]).toEqual([
      6,
      expect.stringContaining(`devpay-companion reactivate --product ${BACKUP}`),
    ]);

    browser = await world.launch();
    for (const readable of [false, true]) {
      // Second round: the set is readable (say Amazon S3 refused its user token); the pending record alone lifts the confirmation.
      const before = readable ? await accessKeyIdOf(BACKUP) : undefined;
      events.length = 0;
      const running = await startReactivate(BACKUP);
      const popup = await openPopup();
      await waitFor(
        async () => (await popup.locator(`li.product[data-product="${BACKUP}"] .reactivation-pending`).count()) === 1,
        { what: 'the popup to say it waits for a new key' },
      );
      const row = popup.locator(`li.product[data-product="${BACKUP}"]`);
      expect(await row.locator('.reactivation-pending').textContent()).toContain(
        'Waiting for a new key for Acme Backup',
      );
      expect(await row.locator('.reactivation-pending a[data-link="activate"]').getAttribute('href')).toBe(
        world.config.activateUrl,
      );
      await popup.close();

      await newKeyOnActivatePage(BACKUP);
      const result = await running.done;
      expect(result.code, result.stderr).toBe(0);
      const now = await accessKeyIdOf(BACKUP);
      expect(now).not.toBe(before);
      expect(result.stdout).toBe(`Reactivated Acme Backup (${BACKUP}).\nAccess Key ID: ${maskIdentifier(now)}\n`);
      expect(await accessKeyIdOf(BACKUP)).toBe(world.issuedCredentialProcess(BACKUP).AccessKeyId);
      expect((await world.cli(['check', '--product', BACKUP])).code).toBe(0);
      expect(await exists(recordFile(BACKUP))).toBe(false);
      await waitFor(() => events.some((e) => e.change === 'replaced'), {
        what: 'the loopback client to hear credentials-changed',
      });
      expect(events.every((e) => e.product.code === BACKUP && !JSON.stringify(e).includes(now))).toBe(true);
      // No confirmation was asked for: the popup says activated.
      const after = await openPopup();
      await waitFor(async () => (await productState(after, BACKUP)) === 'activated', {
        what: 'the popup to say activated',
      });
      expect(await after.locator(`li.product[data-product="${BACKUP}"] .reactivation-pending`).count()).toBe(0);
      await after.close();
    }
  }, 120_000);

  it('a redirect URL’s key while a reactivation is pending still asks, twice', async () => {
    const before = await accessKeyIdOf(BACKUP);
    const running = await startReactivate(BACKUP);
    browser = await world.launch();
    const link = new URL(world.sim.redirectUrl);
    link.searchParams.set('ActivationKey', world.sim.purchase(BACKUP));
    link.searchParams.set('ProductCode', BACKUP);
    const page = await browser.context.newPage();
    await page.goto(link.href);
    await page.waitForTimeout(SETTLE_MS);
    const popup = await openPopup();
    await waitFor(async () => (await productState(popup, BACKUP)) === 'confirm-key', {
      what: 'the popup to ask about the key',
    });
    await popup.click(`li.product[data-product="${BACKUP}"] button[data-action="confirm-key"]`);
    // The host, not the extension, keeps the rule: replacing still needs the customer's word.
    await waitFor(async () => (await productState(popup, BACKUP)) === 'confirm-replace', {
      what: 'the popup to ask about replacing',
    });
    expect(await accessKeyIdOf(BACKUP)).toBe(before);
    expect(await exists(recordFile(BACKUP))).toBe(true);
    await popup.click(`li.product[data-product="${BACKUP}"] button[data-action="cancel-replace"]`);
    running.child.kill('SIGTERM');
    expect((await running.done).code).toBe(7);
    expect(await accessKeyIdOf(BACKUP)).toBe(before);
  }, 60_000);

  it('after the record expired, and for another product, the activate page key still asks', async () => {
    const [backup, vault] = [await accessKeyIdOf(BACKUP), await accessKeyIdOf(VAULT)];
    // Left behind by a reactivate that died (its record stays until it expires).
    const dead = await startReactivate(BACKUP, 2);
    dead.child.kill('SIGKILL');
    await dead.done;
    await waitFor(
      async () =>
        (JSON.parse(await readFile(recordFile(BACKUP), 'utf8')) as { expiresAt: number }).expiresAt < Date.now(),
      { what: 'the record to expire' },
    );
    browser = await world.launch();
    await newKeyOnActivatePage(BACKUP);
    const popup = await openPopup();
    await waitFor(async () => (await productState(popup, BACKUP)) === 'confirm-replace', {
      what: 'the popup to ask about replacing',
    });
    expect(await accessKeyIdOf(BACKUP)).toBe(backup);
    await popup.click(`li.product[data-product="${BACKUP}"] button[data-action="cancel-replace"]`);

    // Pending for BACKUP; the activate page gives a key for VAULT: as without a record.
    const running = await startReactivate(BACKUP);
    await newKeyOnActivatePage(VAULT);
    await waitFor(async () => (await productState(popup, VAULT)) === 'confirm-replace', {
      what: 'the popup to ask about replacing the other product',
    });
    expect([await accessKeyIdOf(BACKUP), await accessKeyIdOf(VAULT)]).toEqual([backup, vault]);
    expect(await exists(recordFile(BACKUP))).toBe(true);
    await popup.click(`li.product[data-product="${VAULT}"] button[data-action="cancel-replace"]`);
    running.child.kill('SIGTERM');
    expect((await running.done).code).toBe(7);
  }, 60_000);
});
