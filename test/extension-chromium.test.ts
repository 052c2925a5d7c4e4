/**
 * The built extension in real headless Chromium, on a split confirmation page
 * served over HTTPS (top frame: the confirmation with the key; bottom frame: the
 * vendor's redirect URL with ActivationKey and ProductCode).
 *
 * First with no native host (fallback: the popup offers the key and the command),
 * then with a small fake host speaking native messaging (already activated ->
 * confirm in the popup -> replaced). The real host is the lead's end-to-end test.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseVendorConfig } from '../shared/config.ts';
import { launchExtensionBrowser, type ExtensionBrowser } from './machine/browser.ts';
import { buildExtension } from './helpers/extension-build.ts';
import { waitFor } from './machine/wait.ts';
import { makeThrowAwayCertificate } from './simulator/certificate.ts';

const vendor = parseVendorConfig(JSON.parse(readFileSync('shared/config/demo.json', 'utf8')));
const KEY = 'ADMAY7DVLJTWHJ76MMBMQYT5LATA';
const EVIL_KEY = 'EV1LKEY7DVLJTWHJ76MMBMQYT5LA';
const SANDBOX_KEY = 'SANDB0X7DVLJTWHJ76MMBMQYT5LA';
const AMBIGUOUS_A = 'AMBIGA7DVLJTWHJ76MMBMQYT5LAT';
const AMBIGUOUS_B = 'AMBIGB7DVLJTWHJ76MMBMQYT5LAT';

let work: string;
let server: Server;
let port: number;
let browser: ExtensionBrowser;
let hostLog: string;
let hostState: string;

const confirmation = (key: string) =>
  readFileSync('test/fixtures/pages/amazon-confirmation.html', 'utf8')
    .replaceAll('ADMAY7DVLJTWHJ76MMBMQYT5LATA', key)
    // Records every window message the page receives, to show the key never reaches it.
    .replace(
      '</head>',
      `<script>window.__messages = []; addEventListener('message', (e) => __messages.push(JSON.stringify(e.data)));</script></head>`,
    );

function route(host: string, path: string): string | null {
  const portal = `https://aws-portal.devpay.test:${port}`;
  const vendorSite = `https://vendor.devpay.test:${port}`;
  if (host === 'aws-portal.devpay.test') {
    if (path === '/gp/aws/user/subscription/confirm.html')
      return `<!doctype html><html><head><title>Order confirmation</title></head><frameset rows="70%,30%">
        <frame name="top" src="${portal}/gp/aws/user/subscription/thankyou.html">
        <frame name="bottom" src="${vendorSite}/welcome?ActivationKey=${KEY}&ProductCode=ACMEBK01">
      </frameset></html>`;
    if (path === '/gp/aws/user/subscription/thankyou.html') return confirmation(KEY);
    if (path === '/gp/aws/user/subscription/sandboxed.html')
      return `<!doctype html><p>Order</p><iframe sandbox="allow-scripts" src="${portal}/gp/aws/user/subscription/inner.html"></iframe>`;
    if (path === '/gp/aws/user/subscription/inner.html')
      return `<!doctype html><p>Activation key: <b>${SANDBOX_KEY}</b></p>`;
    if (path === '/gp/aws/user/subscription/two-keys.html')
      return `<!doctype html><p>Activation key: <b>${AMBIGUOUS_A}</b></p><p>Activation key: <b>${AMBIGUOUS_B}</b></p>`;
  }
  if (host === 'vendor.devpay.test' && path === '/welcome')
    return '<!doctype html><h1>Welcome! Download Acme Backup.</h1>';
  if (host === 'evil.devpay.test') return `<!doctype html><p>Activation key: <b>${EVIL_KEY}</b></p>`;
  return null;
}

/** A native messaging host that answers like the real one would, and logs what it was asked (never a whole key). */
function installFakeHost(userDataDir: string): void {
  const script = join(work, 'fake-host.mjs');
  writeFileSync(
    script,
    `import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
const LOG = ${JSON.stringify(hostLog)}, STATE = ${JSON.stringify(hostState)};
const products = [{ code: 'ACMEBK01', name: 'Acme Backup' }, { code: 'ACMEPV02', name: 'Acme Photo Vault' }];
const activated = () => (existsSync(STATE) ? JSON.parse(readFileSync(STATE, 'utf8')) : {});
function send(message) {
  const body = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(4); head.writeUInt32LE(body.length);
  process.stdout.write(Buffer.concat([head, body]));
}
function handle(m) {
  appendFileSync(LOG, JSON.stringify({ type: m.type, productCode: m.productCode, replace: m.replace, keyEnd: m.key?.slice(-4), caller: process.argv[2] }) + '\\n');
  if (m.type === 'hello') return send({ type: 'hello', id: m.id, protocol: 1, hostVersion: '9.9.9-fake', products, activateUrl: 'https://www.devpay.test/dp-activate' });
  const state = activated();
  if (m.type === 'status') return send({ type: 'status', id: m.id, hostVersion: '9.9.9-fake', products: products.map((p) => ({ ...p, activated: !!state[p.code], activatedAt: state[p.code] ?? null, accessKeyId: state[p.code] ? 'AKIAFAKEFAKEFAKEWXYZ' : null, state: state[p.code] ? 'activated' : 'not-activated' })) });
  const product = products.find((p) => p.code === m.productCode) ?? products[0];
  if (state[product.code] && !m.replace) return send({ type: 'error', id: m.id, code: 'ALREADY_ACTIVATED', message: product.name + ' is already activated on this computer.', product });
  const at = new Date().toISOString();
  writeFileSync(STATE, JSON.stringify({ ...state, [product.code]: at }));
  send({ type: 'activated', id: m.id, product, accessKeyId: 'AKIAFAKEFAKEFAKEWXYZ', activatedAt: at, replaced: !!state[product.code] });
}
let buffer = Buffer.alloc(0);
process.stdin.on('data', (chunk) => {
  buffer = Buffer.concat([buffer, chunk]);
  while (buffer.length >= 4 && buffer.length >= 4 + buffer.readUInt32LE(0)) {
    const length = buffer.readUInt32LE(0);
    handle(JSON.parse(buffer.subarray(4, 4 + length).toString('utf8')));
    buffer = buffer.subarray(4 + length);
  }
});
process.stdin.on('end', () => process.exit(0));
`,
  );
  const launcher = join(work, 'fake-host.sh');
  writeFileSync(launcher, `#!/bin/sh\nexec '${process.execPath}' '${script}' "$@"\n`);
  chmodSync(launcher, 0o755);
  const dir = join(userDataDir, 'NativeMessagingHosts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${vendor.nativeHostName}.json`),
    JSON.stringify({
      name: vendor.nativeHostName,
      description: 'fake host for tests',
      path: launcher,
      type: 'stdio',
      allowed_origins: [`chrome-extension://${browser.extensionId}/`],
    }),
  );
}

type LoggedRequest = { type: string; productCode?: string; replace?: boolean; keyEnd?: string; caller?: string };
const hostRequests = (): LoggedRequest[] => {
  try {
    return readFileSync(hostLog, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LoggedRequest);
  } catch {
    return [];
  }
};

async function openPopup(): Promise<Page> {
  const popup = await browser.context.newPage();
  await popup.goto(browser.popupUrl);
  await popup.waitForSelector('#app[data-loaded="true"]');
  return popup;
}

const stateOf = (popup: Page, code: string) => popup.getAttribute(`li.product[data-product="${code}"]`, 'data-state');

let userDataDir: string;

/** A port that was free a moment ago (taken and released), so nothing answers on it. */
async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port: free } = probe.address() as { port: number };
  await new Promise((done) => probe.close(done));
  return free;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'extension-chromium-'));
  hostLog = join(work, 'host.log');
  hostState = join(work, 'host-state.json');
  // Built for a loopback port nothing listens on (a `devpay-companion serve` on the default port must not
  // change what these tests see): native messaging is the only way to the host here.
  const configPath = join(work, 'vendor-config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      ...JSON.parse(readFileSync('shared/config/demo.json', 'utf8')),
      loopbackPort: await closedPort(),
    }),
  );
  const extensionDir = await buildExtension('chrome', join(work, 'build'), { DEVPAY_CONFIG: configPath });
  const certificate = await makeThrowAwayCertificate([
    'aws-portal.devpay.test',
    'vendor.devpay.test',
    'evil.devpay.test',
  ]);
  server = createServer({ cert: certificate.certPem, key: certificate.keyPem }, (req, res) => {
    const body = route((req.headers.host ?? '').split(':')[0]!, new URL(req.url ?? '/', 'https://x').pathname);
    res.writeHead(body === null ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body ?? 'not found');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  port = (server.address() as { port: number }).port;
  userDataDir = join(work, 'profile');
  mkdirSync(userDataDir);
  const home = join(work, 'home');
  mkdirSync(home);
  browser = await launchExtensionBrowser({
    userDataDir,
    extensionDir: resolve(extensionDir),
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_CACHE_HOME: join(home, '.cache'),
    },
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((done) => (server ? server.close(done) : done(undefined)));
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the built extension in Chromium', () => {
  it('without a host: captures the key from the split page and offers it for manual paste', async () => {
    const tab = await browser.context.newPage();
    await tab.goto(`https://aws-portal.devpay.test:${port}/gp/aws/user/subscription/confirm.html`);
    const popup = await openPopup();
    await waitFor(async () => (await stateOf(popup, 'ACMEBK01')) === 'fallback', {
      what: 'the fallback state in the popup',
    });

    const row = popup.locator('li.product[data-product="ACMEBK01"]');
    expect(await row.getAttribute('data-key-held')).toBe('true');
    expect(await row.locator('.fallback-key').textContent()).toBe(KEY);
    expect(await row.locator('.fallback-command').textContent()).toBe('devpay-companion activate --product ACMEBK01');
    expect(await popup.locator('.install-command').first().textContent()).toBe('devpay-companion install');
    expect(await row.locator('a[data-link="activate"]').getAttribute('href')).toBe(vendor.activateUrl);
    expect(await row.locator('a[data-link="homepage"]').getAttribute('href')).toBe(vendor.products[0]!.homepage);
    expect(await popup.getAttribute('#host', 'data-state')).toBe('unreachable');
    expect(await popup.getAttribute('#host-reason', 'data-reason')).toBe('not-installed');
    expect(await stateOf(popup, 'ACMEPV02')).not.toBe('fallback');
    // States are written out, not only coloured.
    expect(await row.locator('.product-state').textContent()).toMatch(/paste the key/i);
    // Neither native messaging nor the loopback channel: the key goes by copy and paste.
    expect(await row.getAttribute('data-route')).toBe('paste');
    expect(await row.locator('.product-route').textContent()).toMatch(/How the key went:.*copy and paste/);
    expect(await popup.getAttribute('#host', 'data-route')).toBeNull();
    expect(await popup.locator('#sandbox-help').textContent()).toContain('devpay-companion serve');

    // Keyboard: Tab reaches the Copy button, Enter copies.
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await row.locator('button[data-action="copy-key"]').focus();
    await popup.keyboard.press('Enter');
    await waitFor(async () => ((await row.locator('.copy-result').textContent()) ?? '') !== '', {
      what: 'the copy result',
    });
    expect(await row.locator('.copy-result').textContent()).toBe('Copied.');
    expect(await popup.evaluate(() => navigator.clipboard.readText())).toBe(KEY);

    // Where the key is, and is not.
    const storage = await browser.serviceWorker.evaluate(async () => ({
      local: await chrome.storage.local.get(null),
      sync: await chrome.storage.sync.get(null),
      session: await chrome.storage.session.get(null),
      badge: await chrome.action.getBadgeText({}),
    }));
    expect(storage.local).toEqual({});
    expect(storage.sync).toEqual({});
    expect(storage.badge).toBe('!');
    const { ['devpay.heldKeys']: held, ...rest } = storage.session as Record<string, unknown>;
    expect(JSON.stringify(held)).toContain(KEY);
    expect(JSON.stringify(rest)).not.toContain(KEY);

    // The page learnt nothing: no window message carries the key, and the page was not written to.
    const topFrame = tab.frame({ name: 'top' })!;
    const messages = await topFrame.evaluate(() => (window as unknown as { __messages: string[] }).__messages);
    expect(messages.filter((m) => m.includes(KEY))).toEqual([]);
    expect(await topFrame.evaluate(() => document.querySelectorAll('[data-devpay], devpay, iframe').length)).toBe(0);
    await popup.close();
    await tab.close();
  });

  it('with a host: Retry meets "already activated", the customer confirms, the product is activated', async () => {
    writeFileSync(hostState, JSON.stringify({ ACMEBK01: '2026-01-01T00:00:00.000Z' }));
    installFakeHost(userDataDir);
    const popup = await openPopup();
    await waitFor(async () => (await popup.getAttribute('#host', 'data-state')) === 'reachable', {
      what: 'the host to be reachable',
    });
    expect(await popup.getAttribute('#host', 'data-version')).toBe('9.9.9-fake');
    expect(await popup.locator('#host-status').textContent()).toContain('9.9.9-fake');
    expect(hostRequests()[0]).toMatchObject({ type: 'hello', caller: `chrome-extension://${browser.extensionId}/` });

    await popup.click('li.product[data-product="ACMEBK01"] button[data-action="retry"]');
    await waitFor(async () => (await stateOf(popup, 'ACMEBK01')) === 'confirm-replace', {
      what: 'the confirm question',
    });
    expect(await popup.locator('li.product[data-product="ACMEBK01"] .confirm-question').textContent()).toContain(
      'already activated',
    );

    await popup.click('li.product[data-product="ACMEBK01"] button[data-action="confirm-replace"]');
    await waitFor(async () => (await stateOf(popup, 'ACMEBK01')) === 'activated', { what: 'the activated state' });
    const activations = hostRequests().filter((r) => r.type === 'activate');
    expect(activations).toEqual([
      expect.objectContaining({ productCode: 'ACMEBK01', replace: false, keyEnd: KEY.slice(-4) }),
      expect.objectContaining({ productCode: 'ACMEBK01', replace: true, keyEnd: KEY.slice(-4) }),
    ]);
    const after = await browser.serviceWorker.evaluate(async () => ({
      session: await chrome.storage.session.get(null),
      local: await chrome.storage.local.get(null),
      badge: await chrome.action.getBadgeText({}),
      title: await chrome.action.getTitle({}),
      notifications: await chrome.notifications.getAll(),
    }));
    expect(JSON.stringify(after.session)).not.toContain(KEY);
    expect(after.local).toEqual({});
    expect(after.badge).toBe('✓');
    expect(after.title).toBe('Acme Backup activated');
    expect(Object.keys(after.notifications)).toContain('devpay-activated-ACMEBK01');
    expect(await popup.locator('li.product[data-product="ACMEBK01"] .product-state').textContent()).toBe('Activated');
    // The key went by native messaging, and the popup says so.
    expect(await popup.getAttribute('li.product[data-product="ACMEBK01"]', 'data-route')).toBe('native');
    expect(await popup.locator('li.product[data-product="ACMEBK01"] .product-route').textContent()).toContain(
      'native messaging',
    );
    await waitFor(async () => (await popup.getAttribute('#host', 'data-route')) === 'native', {
      what: 'the host route',
    });
    await popup.close();
  });

  it('takes nothing from pages outside the configuration, sandboxed frames, or a page with two keys', async () => {
    const before = hostRequests().filter((r) => r.type === 'activate').length;
    const tab = await browser.context.newPage();
    await tab.goto(`https://evil.devpay.test:${port}/gp/aws/user/subscription/thankyou.html`);
    await tab.goto(`https://aws-portal.devpay.test:${port}/gp/aws/user/subscription/sandboxed.html`);
    await tab.goto(`https://aws-portal.devpay.test:${port}/gp/aws/user/subscription/two-keys.html`);
    const popup = await openPopup();
    await waitFor(async () => (await popup.getAttribute('#notice', 'data-kind')) === 'ambiguous', {
      what: 'the two-keys notice',
    });
    // Give a wrongly accepted key time to reach the host (pairing waits 1.5 s).
    await new Promise((r) => setTimeout(r, 2500));
    expect(hostRequests().filter((r) => r.type === 'activate')).toHaveLength(before);
    expect(await popup.locator('li.product[data-product="*"]').count()).toBe(0);
    await popup.close();
    await tab.close();
  });
});
