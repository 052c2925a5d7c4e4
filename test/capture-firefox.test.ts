/**
 * The production path, in Firefox ESR: the BUILT add-on's capture script on the
 * corpus pages (test/fixtures/pages/), served on the real key-page URLs, from page
 * load to the message the add-on receives. A page gives its key, or nothing.
 * The Chromium twin is capture-chromium.test.ts.
 *
 * Firefox MV3 has no service worker to evaluate in, so the recorder lives in one of
 * the add-on's own pages (popup.html, opened as a tab): `runtime.sendMessage` from a
 * content script reaches every extension page's `runtime.onMessage`, the background's
 * and this one's alike, with the sending frame's URL.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseOfUrl, loadCorpus, serveCorpus, type CorpusCase, type CorpusServer } from './capture/corpus.ts';
import { launchExtensionFirefox, type ExtensionFirefox } from './machine/firefox.ts';
import { extensionStorage, openFirefoxPopup } from './machine/firefox-machine.ts';
import { buildExtension } from './helpers/extension-build.ts';
import { waitFor } from './machine/wait.ts';

interface Received {
  type: string;
  key?: string;
  url: string;
}

const corpus = loadCorpus();
let work: string;
let server: CorpusServer;
let firefox: ExtensionFirefox;
/** The add-on's page holding the recorder. */
let recorder: Page;
const received = new Map<string, Received[]>();

/** A port that was free a moment ago: no `devpay-companion serve` answers there, so no key leaves the browser. */
async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as { port: number };
  await new Promise((done) => probe.close(done));
  return port;
}

/** Records every message from outside the add-on that its pages receive, next to the background's own listener. */
async function listenInAddonPage(): Promise<void> {
  await recorder.evaluate(() => {
    const g = globalThis as unknown as { browser: typeof chrome; __corpusReceived?: { type: string; key?: string; url: string }[] };
    if (g.__corpusReceived) return;
    g.__corpusReceived = [];
    g.browser.runtime.onMessage.addListener((message: { type?: unknown; key?: unknown }, sender) => {
      // The background's own broadcasts to its pages (state-changed) are not what a web page sent.
      if ((sender.url ?? '').startsWith(`${location.origin}/`)) return;
      g.__corpusReceived!.push({ type: String(message?.type), ...(typeof message?.key === 'string' ? { key: message.key } : {}), url: sender.url ?? '' });
    });
  });
}

async function collect(): Promise<void> {
  const all = await recorder.evaluate(() => {
    const g = globalThis as unknown as { __corpusReceived?: Received[] };
    if (!g.__corpusReceived) throw new Error('the recording page was reloaded: its recorder is gone');
    return g.__corpusReceived.splice(0);
  });
  for (const message of all) {
    const name = caseOfUrl(message.url) ?? '(outside the corpus)';
    received.set(name, [...(received.get(name) ?? []), message]);
  }
}

const keysFrom = (name: string) => (received.get(name) ?? []).filter((m) => m.type === 'devpay:key-found').map((m) => m.key);
const notTakenFrom = (name: string) => (received.get(name) ?? []).filter((m) => m.type === 'devpay:key-not-taken');

/** What a case has delivered so far is what it should finally deliver. */
function settled(c: CorpusCase): boolean {
  if (c.key) return keysFrom(c.name).length > 0;
  if (c.ambiguous) return notTakenFrom(c.name).length > 0;
  return true;
}

async function visit(cases: CorpusCase[]): Promise<void> {
  const started = Date.now();
  const tabs: Page[] = await Promise.all(
    cases.map(async (c) => {
      const tab = await firefox.newPage();
      await tab.goto(server.url(c), { waitUntil: 'load', timeout: 30_000 });
      return tab;
    }),
  );
  await waitFor(
    async () => {
      await collect();
      return cases.every(settled);
    },
    { what: 'every page in the batch to give its answer', timeoutMs: 20_000 },
  ).catch(() => {});
  // Time for a wrong answer to arrive too: the watch rescans 300 ms after changes; late pages change for up to 2.5 s.
  await new Promise((r) => setTimeout(r, 3000));
  await collect();
  await Promise.all(tabs.map((t) => t.close()));
  console.info(`firefox corpus batch of ${cases.length} pages: ${Date.now() - started} ms`);
}

beforeAll(async () => {
  const started = Date.now();
  work = mkdtempSync(join(tmpdir(), 'capture-firefox-'));
  const configPath = join(work, 'vendor-config.json');
  writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync('shared/config/demo.json', 'utf8')), loopbackPort: await closedPort() }));
  const extensionDir = await buildExtension('firefox', join(work, 'build'), { DEVPAY_CONFIG: configPath });
  server = await serveCorpus();
  // A home with no native host registered: a taken key ends in the popup's fallback, in this browser only.
  const home = join(work, 'home');
  mkdirSync(home);
  firefox = await launchExtensionFirefox({
    home,
    extensionDir: resolve(extensionDir),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache') },
  });
  recorder = await openFirefoxPopup(firefox);
  await listenInAddonPage();
  console.info(`firefox started with the add-on and its recorder: ${Date.now() - started} ms`);
  // A few tabs at a time: two cores, and the late pages need their timers to run on time.
  for (let i = 0; i < corpus.length; i += 6) await visit(corpus.slice(i, i + 6));
}, 900_000);

afterAll(async () => {
  await firefox?.close();
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the corpus, through the built add-on in Firefox', () => {
  it('has at least 40 pages, with positives and negatives', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
    expect(corpus.filter((c) => c.key).length).toBeGreaterThanOrEqual(20);
    expect(corpus.filter((c) => !c.key).length).toBeGreaterThanOrEqual(20);
  });

  it('hears nothing from outside the corpus', () => {
    expect(received.get('(outside the corpus)') ?? []).toEqual([]);
  });

  for (const c of corpus) {
    it(`${c.name}: ${c.key ? 'gives the key a person sees' : c.ambiguous ? 'gives no key, and says the page is ambiguous' : 'gives nothing'}`, () => {
      const keys = keysFrom(c.name);
      if (c.key) {
        expect(keys.length).toBeGreaterThan(0);
        expect(new Set(keys)).toEqual(new Set([c.key]));
      } else {
        expect(keys).toEqual([]);
      }
      if (c.ambiguous) expect(notTakenFrom(c.name).length).toBeGreaterThan(0);
    });
  }
});

describe('the background took what the pages gave', () => {
  it('the keys it holds for the fallback (storage.session) are corpus keys only', async () => {
    const session = JSON.stringify(await extensionStorage(recorder, 'session'));
    const given = new Set(corpus.flatMap((c) => (c.key ? [c.key] : [])));
    const held = [...session.matchAll(/(?<![A-Z0-9])[A-Z0-9]{28}(?![A-Z0-9])/g)].map((m) => m[0]);
    console.info(`storage.session holds ${held.length} key-shaped strings`);
    expect(held.length).toBeGreaterThan(0);
    for (const k of held) expect(given).toContain(k);
  });
});

describe('nothing in the page', () => {
  it('a key page that listens for every window message, the known WXT event names and any DOM change hears nothing', async () => {
    const c = corpus.find((x) => x.name === 'trace-listener')!;
    const tab = await firefox.newPage();
    await tab.goto(server.url(c), { waitUntil: 'load' });
    await waitFor(
      async () => {
        await collect();
        return keysFrom(c.name).length > 1;
      },
      { what: 'the key from the trace page (again)' },
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(await tab.evaluate(() => (window as unknown as { __heard: string[] }).__heard)).toEqual([]);
    // The page's ears work: what it does itself, it hears.
    await tab.evaluate(() => {
      window.postMessage('self', '*');
      document.dispatchEvent(new CustomEvent('wxt:content-script-started'));
      document.body.append('x');
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(await tab.evaluate(() => (window as unknown as { __heard: string[] }).__heard)).toEqual([
      'window:wxt:content-script-started',
      'document:wxt:content-script-started',
      'mutation:childList',
      'window:message',
    ]);
    await tab.close();
  });
});
