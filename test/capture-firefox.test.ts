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
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCorpus, serveCorpus, type CorpusCase, type CorpusServer } from './capture/corpus.ts';
import {
  closedPort,
  corpusRecording,
  describeCorpusAnswers,
  expectTracePageHearsNothing,
  type CorpusTab,
  type Received,
} from './capture/corpus-run.ts';
import { launchExtensionFirefox, type ExtensionFirefox } from './machine/firefox.ts';
import { extensionStorage, openFirefoxPopup } from './machine/firefox-machine.ts';
import { buildExtension } from './helpers/extension-build.ts';

const corpus = loadCorpus();
let work: string;
let server: CorpusServer;
let firefox: ExtensionFirefox;
/** The add-on's page holding the recorder. */
let recorder: Page;

/** Records every message from outside the add-on that its pages receive, next to the background's own listener. */
async function listenInAddonPage(): Promise<void> {
  await recorder.evaluate(() => {
    const g = globalThis as unknown as {
      browser: typeof chrome;
      __corpusReceived?: { type: string; key?: string; url: string }[];
    };
    if (g.__corpusReceived) return;
    g.__corpusReceived = [];
    g.browser.runtime.onMessage.addListener((message: { type?: unknown; key?: unknown }, sender) => {
      // The background's own broadcasts to its pages (state-changed) are not what a web page sent.
      if ((sender.url ?? '').startsWith(`${location.origin}/`)) return;
      g.__corpusReceived!.push({
        type: String(message?.type),
        ...(typeof message?.key === 'string' ? { key: message.key } : {}),
        url: sender.url ?? '',
      });
    });
  });
}

const recording = corpusRecording('firefox', () =>
  recorder.evaluate(() => {
    const g = globalThis as unknown as { __corpusReceived?: Received[] };
    if (!g.__corpusReceived) throw new Error('the recording page was reloaded: its recorder is gone');
    return g.__corpusReceived.splice(0);
  }),
);

async function open(c: CorpusCase): Promise<CorpusTab> {
  const tab = await firefox.newPage();
  await tab.goto(server.url(c), { waitUntil: 'load', timeout: 30_000 });
  return { read: (fn) => tab.evaluate(fn), close: () => tab.close() };
}

beforeAll(async () => {
  const started = Date.now();
  work = mkdtempSync(join(tmpdir(), 'capture-firefox-'));
  const configPath = join(work, 'vendor-config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      ...JSON.parse(readFileSync('shared/config/demo.json', 'utf8')),
      loopbackPort: await closedPort(),
    }),
  );
  const extensionDir = await buildExtension('firefox', join(work, 'build'), { DEVPAY_CONFIG: configPath });
  server = await serveCorpus();
  // A home with no native host registered: a taken key ends in the popup's fallback, in this browser only.
  const home = join(work, 'home');
  mkdirSync(home);
  firefox = await launchExtensionFirefox({
    home,
    extensionDir: resolve(extensionDir),
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_CACHE_HOME: join(home, '.cache'),
    },
  });
  recorder = await openFirefoxPopup(firefox);
  await listenInAddonPage();
  console.info(`firefox started with the add-on and its recorder: ${Date.now() - started} ms`);
  // A few tabs at a time: two cores, and the late pages need their timers to run on time.
  for (let i = 0; i < corpus.length; i += 6) await recording.visit(corpus.slice(i, i + 6), open);
}, 900_000);

afterAll(async () => {
  await firefox?.close();
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describeCorpusAnswers('the built add-on in Firefox', corpus, recording);

describe('the background took what the pages gave', () => {
  it('the key it holds for the fallback (storage.session) is a corpus key', async () => {
    const session = JSON.stringify(await extensionStorage(recorder, 'session'));
    const given = new Set(corpus.flatMap((c) => (c.key ? [c.key] : [])));
    const held = [...session.matchAll(/(?<![A-Z0-9])[A-Z0-9]{28}(?![A-Z0-9])/g)].map((m) => m[0]);
    expect(held.length).toBeGreaterThan(0);
    for (const k of held) expect(given).toContain(k);
  });
});

describe('nothing in the page', () => {
  it('a key page that listens for every window message, the known WXT event names and any DOM change hears nothing', async () => {
    const c = corpus.find((x) => x.name === 'trace-listener')!;
    await expectTracePageHearsNothing(recording, await open(c), c.name);
  });
});
