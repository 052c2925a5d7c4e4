/**
 * The loopback channel from a real browser: the built extension in headless
 * Chromium with NO native host registered activates through the channel (with
 * extension/lib/loopback-transport.ts running in its service worker on the
 * browser's own WebSocket), while a web page in the same browser is refused
 * before the upgrade completes. Real simulator, real gnome-keyring.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VendorConfig } from '../shared/config.ts';
import { PROTOCOL_VERSION } from '../shared/messages.ts';
import { loadVendorConfig } from '../native-host/cli/context.ts';
import { createLogger } from '../native-host/log.ts';
import { serveLoopback, type LoopbackServer } from '../native-host/loopback/index.ts';
import { DEMO_CONFIG, findSecrets, isolatedEnv, runCli } from './helpers/companion.ts';
import { launchExtensionBrowser, type ExtensionBrowser } from './helpers/browser.ts';
import { startKeyring, type Keyring } from './helpers/keyring.ts';
import { startSimulator, type Simulator } from './simulator/server.ts';

let keyring: Keyring;
let sim: Simulator;
let root: string;
let demo: VendorConfig;
let browser: ExtensionBrowser;
let server: LoopbackServer;
let configPath: string;
let dataDir: string;
const logLines: string[] = [];

/** The extension's loopback transport, bundled for evaluation in the service worker. */
async function transportBundle(): Promise<string> {
  const result = await build({
    entryPoints: ['extension/lib/loopback-transport.ts'],
    bundle: true,
    format: 'iife',
    globalName: 'DevpayLoopbackTransport',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
  });
  // Evaluated in a function scope: hand the module to the worker's global explicitly.
  return `${result.outputFiles[0]!.text}\nglobalThis.DevpayLoopbackTransport = DevpayLoopbackTransport;`;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'devpay-loopback-browser-'));
  demo = await loadVendorConfig(DEMO_CONFIG);
  [keyring, sim] = await Promise.all([startKeyring(), startSimulator({ config: demo })]);
  Object.assign(process.env, keyring.env);
  delete process.env.DISPLAY;
  // No NativeMessagingHosts folder anywhere Chromium looks: native messaging is unavailable, as in a Snap.
  browser = await launchExtensionBrowser({ userDataDir: join(root, 'profile'), env: isolatedEnv({ HOME: root, XDG_CONFIG_HOME: join(root, 'config') }) as Record<string, string> });
  configPath = join(root, 'vendor-config.json');
  await writeFile(configPath, JSON.stringify({ ...demo, vendor: { ...demo.vendor, id: 'loopback-browser-test' }, extensions: { chromium: [browser.extensionId] } }));
  dataDir = join(root, 'data');
  server = await serveLoopback({
    config: configPath,
    dataDir,
    licenseService: sim.licenseServiceUrl,
    caFile: sim.caFile,
    env: {},
    port: 0,
    log: createLogger({ level: 'info', stream: { write: (line: string) => logLines.push(line) } }),
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await sim?.close();
  await keyring?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the loopback channel from headless Chromium', () => {
  it('has no native host to talk to', async () => {
    const error = await browser.serviceWorker.evaluate(
      (name) =>
        new Promise<string>((resolve) => {
          chrome.runtime.sendNativeMessage(name, { type: 'status', id: 'n' }, () => resolve(chrome.runtime.lastError?.message ?? 'answered'));
        }),
      demo.nativeHostName,
    );
    expect(error).toContain('not found');
  });

  it('activates from the extension through the loopback transport', async () => {
    await browser.serviceWorker.evaluate(await transportBundle());
    const key = sim.purchase('ACMEBK01');
    const replies = await browser.serviceWorker.evaluate(
      async ({ port, key, protocol }) => {
        const { createLoopbackTransport } = (globalThis as unknown as { DevpayLoopbackTransport: typeof import('../extension/lib/loopback-transport.ts') }).DevpayLoopbackTransport;
        const transport = createLoopbackTransport({ port, newId: () => crypto.randomUUID(), client: 'devpay-extension/browser-test' });
        const hello = await transport.request({ type: 'hello', id: 'h', protocol });
        const activated = await transport.request({ type: 'activate', id: 'a', key, productCode: 'ACMEBK01', capturedAt: Date.now(), replace: false });
        const status = await transport.request({ type: 'status', id: 's' });
        transport.close();
        return { hello, activated, status };
      },
      { port: server.port, key, protocol: PROTOCOL_VERSION },
    );
    expect(replies.hello).toMatchObject({ type: 'hello', id: 'h' });
    expect(replies.activated).toMatchObject({ type: 'activated', id: 'a', product: { code: 'ACMEBK01' }, replaced: false });
    expect(replies.status).toMatchObject({ type: 'status', products: [{ code: 'ACMEBK01', activated: true }, { code: 'ACMEPV02', activated: false }] });
    // Chromium sent its real Origin, which the server recognised.
    expect(logLines.join('')).toContain(`extension="${browser.extensionId}"`);

    const env = isolatedEnv({ ...keyring.env, HOME: root, DEVPAY_CONFIG: configPath, DEVPAY_DATA_DIR: dataDir });
    const creds = await runCli(['credentials', '--product', 'ACMEBK01'], { env });
    expect(JSON.parse(creds.stdout)).toMatchObject({ AccessKeyId: sim.issued.at(-1)!.accessKeyId });
    const secrets = [key, ...sim.issued.flatMap((s) => [s.accessKeyId, s.secretAccessKey, s.userToken])];
    expect(await findSecrets(secrets, { texts: { replies: JSON.stringify(replies), log: logLines.join('') } })).toEqual([]);
  });

  it('refuses a web page in the same browser before the upgrade', async () => {
    const page = await browser.context.newPage();
    try {
      await page.goto(sim.hostileUrl);
      const before = logLines.length;
      const outcome = await page.evaluate(
        (port) =>
          new Promise<{ opened: boolean; code: number }>((resolve) => {
            const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
            let opened = false;
            ws.onopen = () => (opened = true);
            ws.onclose = (e) => resolve({ opened, code: e.code });
          }),
        server.port,
      );
      expect(outcome).toEqual({ opened: false, code: 1006 });
      const refusal = logLines.slice(before).find((l) => l.includes('refused a loopback connection'));
      expect(refusal).toContain('status=403');
      expect(refusal).toContain(`origin="${new URL(sim.hostileUrl).origin}"`);
    } finally {
      await page.close();
    }
  });
});
