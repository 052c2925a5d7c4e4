/**
 * The loopback channel, the whole path, as a customer with a sandboxed browser
 * lives it: no native host registered anywhere Chromium looks, `devpay-companion
 * serve` (the built bundle) running against the simulator and a real
 * gnome-keyring, and the extension built for a vendor configuration whose
 * loopbackPort is the port serve got. The customer buys on the simulator's
 * pages; the extension finds native messaging missing, hands the key over the
 * loopback channel, and the popup says so. A web page in the same browser that
 * tries the port is refused before the upgrade.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExtensionBrowser } from './machine/browser.ts';
import { HOST_BUNDLE, findSecrets } from './machine/companion.ts';
import { buildExtension } from './helpers/extension-build.ts';
import { waitFor } from './machine/wait.ts';
import { startCustomerMachine, type CustomerMachine } from './machine/customer-machine.ts';

const BACKUP = 'ACMEBK01';

let world: CustomerMachine;
let buildDir: string;
let extensionDir: string;
let serve: ChildProcess | undefined;
let serveLog = '';
let port: number;
let browser: ExtensionBrowser;

/** `devpay-companion serve --port 0` as the customer would run it; resolves with the port it got. */
async function startServe(): Promise<number> {
  const child = spawn(process.execPath, [HOST_BUNDLE, 'serve', '--port', '0', '--pair'], {
    env: { ...world.env, DEVPAY_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  serve = child;
  child.stdout.on('data', (d: Buffer) => (serveLog += d.toString()));
  child.stderr.on('data', (d: Buffer) => (serveLog += d.toString()));
  let found: number | undefined;
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`serve exited (${child.exitCode}): ${serveLog}`);
      found = Number(/listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(serveLog)?.[1]) || undefined;
      return found !== undefined;
    },
    { timeoutMs: 15_000, what: 'devpay-companion serve to listen' },
  );
  return found!;
}

/** SIGTERM, as Ctrl+C would; resolves with how it ended. */
async function stopServe(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const child = serve;
  serve = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null)
    return { code: child?.exitCode ?? null, signal: child?.signalCode ?? null };
  const ended = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const [code, signal] = await ended;
  clearTimeout(timer);
  return { code, signal };
}

/** What a web page in the same browser gets when it opens the port. */
function pageTriesPort(page: Page, url: string): Promise<{ opened: boolean; code: number }> {
  return page.evaluate(
    (target) =>
      new Promise<{ opened: boolean; code: number }>((resolve) => {
        const ws = new WebSocket(target);
        let opened = false;
        ws.onopen = () => (opened = true);
        ws.onclose = (e) => resolve({ opened, code: e.code });
      }),
    url,
  );
}

beforeAll(async () => {
  world = await startCustomerMachine({ label: 'loopback-browser' });
  port = await startServe();
  // The extension learns the port from the vendor configuration it is built with: a copy of the demo's, with serve's port.
  buildDir = await mkdtemp(join(tmpdir(), 'devpay-loopback-extension-'));
  const configPath = join(buildDir, 'vendor-config.json');
  const demo = JSON.parse(await readFile(world.env.DEVPAY_CONFIG!, 'utf8')) as Record<string, unknown>;
  await writeFile(configPath, JSON.stringify({ ...demo, loopbackPort: port }));
  extensionDir = await buildExtension('chrome', join(buildDir, 'out'), { DEVPAY_CONFIG: configPath });
  // No `devpay-companion install`: Chromium finds no native host, as in a Snap.
  browser = await world.launch({ extensionDir });
}, 180_000);

afterAll(async () => {
  await stopServe().catch(() => {});
  await world?.close();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

describe('a sandboxed browser: activation through the loopback channel', () => {
  it('has no native host to talk to', async () => {
    const error = await browser.serviceWorker.evaluate(
      (name) =>
        new Promise<string>((resolve) => {
          chrome.runtime.sendNativeMessage(name, { type: 'status', id: 'n' }, () =>
            resolve(chrome.runtime.lastError?.message ?? 'answered'),
          );
        }),
      world.config.nativeHostName,
    );
    expect(error).toContain('not found');
  });

  it('unpaired, the popup says keys fall back to copy and paste; the code serve --pair shows pairs it', async () => {
    const popup = await browser.context.newPage();
    await popup.goto(browser.popupUrl);
    await popup.waitForSelector('#pairing[data-paired="false"]');
    expect(await popup.locator('#pairing-status').textContent()).toContain('copy and paste');
    const code = /pairing code ([0-9A-Z]{5}-[0-9A-Z]{5})/.exec(serveLog)?.[1];
    expect(code).toBeDefined();
    // A wrong code first: refused, and not paired.
    await popup.fill('#pairing-code', code!.startsWith('0') ? '11111-11111' : '00000-00000');
    await popup.click('#pair');
    await popup.waitForSelector('#pairing-result[data-result="bad-code"]', { timeout: 30_000 });
    await popup.fill('#pairing-code', code!.toLowerCase());
    await popup.click('#pair');
    await popup.waitForSelector('#pairing-result[data-result="ok"]', { timeout: 30_000 });
    await popup.waitForSelector('#pairing[data-paired="true"]');
    expect(serveLog).toContain('paired a browser extension');
    await popup.close();
  });

  it('the key from the purchase is activated through the loopback channel, and the popup says so', async () => {
    const page = await browser.context.newPage();
    const shownKey = await world.buy(page, BACKUP);

    const popup = await browser.context.newPage();
    await popup.goto(browser.popupUrl);
    await popup.waitForSelector('#app[data-loaded]');
    const row = popup.locator(`li.product[data-product="${BACKUP}"]`);
    await waitFor(async () => (await row.getAttribute('data-state')) === 'activated', {
      timeoutMs: 30_000,
      what: 'the popup to say activated',
    });
    expect(await row.getAttribute('data-route')).toBe('loopback');
    // In words, not only in an attribute.
    expect(await row.locator('.product-route').textContent()).toMatch(
      /How the key went:.*loopback channel.*devpay-companion serve/,
    );
    await waitFor(async () => (await popup.getAttribute('#host', 'data-state')) === 'reachable', {
      what: 'the host to show as reachable',
    });
    expect(await popup.getAttribute('#host', 'data-route')).toBe('loopback');
    expect(await popup.locator('#host-route').textContent()).toContain('loopback channel');
    expect(await popup.locator('.fallback-key').count()).toBe(0);

    // The stored set is exactly the one the simulator issued for this purchase.
    expect(world.sim.issued).toHaveLength(1);
    const credentials = await world.cli(['credentials', '--product', BACKUP]);
    expect(credentials.code, credentials.stderr).toBe(0);
    expect(JSON.parse(credentials.stdout)).toEqual(world.issuedCredentialProcess(BACKUP));
    expect(world.sim.mintedKeys()).toContain(shownKey);

    // serve admitted the extension by its Origin; no native host ever ran (runningHosts leaves serve out), only serve.
    expect(serveLog).toContain(`extension="${browser.extensionId}"`);
    expect(await world.runningHosts()).toEqual([]);
    expect(serve?.exitCode).toBeNull();
    await popup.close();
    await page.close();
  });

  it('a web page in the same browser is refused before the upgrade', async () => {
    const page = await browser.context.newPage();
    try {
      await page.goto(world.sim.hostileUrl);
      for (const url of [`ws://127.0.0.1:${port}/`, `ws://localhost:${port}/`]) {
        const before = serveLog.length;
        expect(await pageTriesPort(page, url), url).toEqual({ opened: false, code: 1006 });
        await waitFor(() => serveLog.slice(before).includes('refused a loopback connection'), {
          timeoutMs: 5_000,
          what: 'serve to log the refusal',
        });
        const refusal = serveLog
          .slice(before)
          .split('\n')
          .find((l) => l.includes('refused a loopback connection'))!;
        expect(refusal).toContain('status=403');
        expect(refusal).toContain(`origin="${new URL(world.sim.hostileUrl).origin}"`);
      }
    } finally {
      await page.close();
    }
  });

  it('serve shuts down cleanly; nothing secret was logged or left at rest', async () => {
    await browser.close();
    expect(await stopServe()).toEqual({ code: 0, signal: null });
    expect(serveLog).toContain('loopback channel closed');
    expect(await world.runningHosts()).toEqual([]);
    const secrets = [...world.secrets(), ...world.sim.issued.map((s) => s.accessKeyId)];
    expect(await findSecrets(secrets, { texts: { 'serve output': serveLog } })).toEqual([]);
    expect(await world.findAtRest(world.secrets())).toEqual([]);
  });
});
