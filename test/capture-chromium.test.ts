/**
 * The production path, in Chromium: the BUILT extension's capture script on the
 * corpus pages (test/fixtures/pages/), served on the real key-page URLs, from page
 * load to the message the background receives. A page gives its key, or nothing.
 * Then: the capture script leaves no trace a page can see.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseOfUrl, loadCorpus, serveCorpus, type CorpusCase, type CorpusServer } from './capture/corpus.ts';
import { launchExtensionBrowser, type ExtensionBrowser } from './machine/browser.ts';
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
let browser: ExtensionBrowser;
const received = new Map<string, Received[]>();

/** A port that was free a moment ago: no `devpay-companion serve` answers there, so no key leaves the browser. */
async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as { port: number };
  await new Promise((done) => probe.close(done));
  return port;
}

/** Records every message the background receives, next to its own listener. */
async function listenInBackground(): Promise<void> {
  await browser.serviceWorker.evaluate(() => {
    const g = globalThis as unknown as { __corpusReceived?: { type: string; key?: string; url: string }[] };
    if (g.__corpusReceived) return;
    g.__corpusReceived = [];
    chrome.runtime.onMessage.addListener((message: { type?: unknown; key?: unknown }, sender) => {
      g.__corpusReceived!.push({ type: String(message?.type), ...(typeof message?.key === 'string' ? { key: message.key } : {}), url: sender.url ?? '' });
    });
  });
}

async function collect(): Promise<void> {
  const all = await browser.serviceWorker.evaluate(() => {
    const g = globalThis as unknown as { __corpusReceived?: Received[] };
    if (!g.__corpusReceived) throw new Error('the background was restarted: its recorder is gone');
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
      const tab = await browser.context.newPage();
      await tab.goto(server.url(c), { waitUntil: 'load' });
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
  console.info(`corpus batch of ${cases.length} pages: ${Date.now() - started} ms`);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'capture-chromium-'));
  const configPath = join(work, 'vendor-config.json');
  writeFileSync(configPath, JSON.stringify({ ...JSON.parse(readFileSync('shared/config/demo.json', 'utf8')), loopbackPort: await closedPort() }));
  const extensionDir = await buildExtension('chrome', join(work, 'build'), { DEVPAY_CONFIG: configPath });
  server = await serveCorpus();
  const home = join(work, 'home');
  mkdirSync(home);
  browser = await launchExtensionBrowser({
    userDataDir: join(work, 'profile'),
    extensionDir: resolve(extensionDir),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache') },
  });
  await listenInBackground();
  // A few tabs at a time: two cores, and the late pages need their timers to run on time.
  for (let i = 0; i < corpus.length; i += 8) await visit(corpus.slice(i, i + 8));
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the corpus, through the built extension in Chromium', () => {
  it('has at least 40 pages, with positives and negatives', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
    expect(corpus.filter((c) => c.key).length).toBeGreaterThanOrEqual(20);
    expect(corpus.filter((c) => !c.key).length).toBeGreaterThanOrEqual(20);
  });

  it('hears nothing from outside the corpus', () => {
    expect(received.get('(outside the corpus)') ?? []).toEqual([]);
  });

  for (const c of corpus) {
    it(`${c.name}: ${c.key ? 'gives the key a person sees' : 'gives no key'}`, () => {
      // The one key, however often the page gave it; or nothing at all.
      expect(new Set(keysFrom(c.name))).toEqual(new Set(c.key ? [c.key] : []));
    });
  }

  for (const c of corpus.filter((page) => page.ambiguous)) {
    it(`${c.name}: says the page is ambiguous`, () => {
      expect(notTakenFrom(c.name).length).toBeGreaterThan(0);
    });
  }
});

describe('nothing in the page', () => {
  it('a key page that listens for every window message, the known WXT event names and any DOM change hears nothing', async () => {
    const c = corpus.find((x) => x.name === 'trace-listener')!;
    const tab = await browser.context.newPage();
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
