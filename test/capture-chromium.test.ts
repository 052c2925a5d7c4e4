/**
 * The production path, in Chromium: the BUILT extension's capture script on the
 * corpus pages (test/fixtures/pages/), served on the real key-page URLs, from page
 * load to the message the background receives. A page gives its key, or nothing.
 * Then: the capture script leaves no trace a page can see.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { loadCorpus, serveCorpus, type CorpusCase, type CorpusServer } from './capture/corpus.ts';
import {
  closedPort,
  corpusRecording,
  describeCorpusAnswers,
  expectTracePageHearsNothing,
  type CorpusTab,
  type Received,
} from './capture/corpus-run.ts';
import { launchExtensionBrowser, type ExtensionBrowser } from './machine/browser.ts';
import { buildExtension } from './helpers/extension-build.ts';

const corpus = loadCorpus();
let work: string;
let server: CorpusServer;
let browser: ExtensionBrowser;

/** Records every message the background receives, next to its own listener. */
async function listenInBackground(): Promise<void> {
  await browser.serviceWorker.evaluate(() => {
    const g = globalThis as unknown as { __corpusReceived?: { type: string; key?: string; url: string }[] };
    if (g.__corpusReceived) return;
    g.__corpusReceived = [];
    chrome.runtime.onMessage.addListener((message: { type?: unknown; key?: unknown }, sender) => {
      g.__corpusReceived!.push({
        type: String(message?.type),
        ...(typeof message?.key === 'string' ? { key: message.key } : {}),
        url: sender.url ?? '',
      });
    });
  });
}

const recording = corpusRecording('chromium', () =>
  browser.serviceWorker.evaluate(() => {
    const g = globalThis as unknown as { __corpusReceived?: Received[] };
    if (!g.__corpusReceived) throw new Error('the background was restarted: its recorder is gone');
    return g.__corpusReceived.splice(0);
  }),
);

async function open(c: CorpusCase): Promise<CorpusTab> {
  const tab = await browser.context.newPage();
  await tab.goto(server.url(c), { waitUntil: 'load' });
  return { read: (fn) => tab.evaluate(fn), close: () => tab.close() };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'capture-chromium-'));
  const configPath = join(work, 'vendor-config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      ...JSON.parse(readFileSync('shared/config/demo.json', 'utf8')),
      loopbackPort: await closedPort(),
    }),
  );
  const extensionDir = await buildExtension('chrome', join(work, 'build'), { DEVPAY_CONFIG: configPath });
  server = await serveCorpus();
  const home = join(work, 'home');
  mkdirSync(home);
  browser = await launchExtensionBrowser({
    userDataDir: join(work, 'profile'),
    extensionDir: resolve(extensionDir),
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_CACHE_HOME: join(home, '.cache'),
    },
  });
  await listenInBackground();
  // A few tabs at a time: two cores, and the late pages need their timers to run on time.
  for (let i = 0; i < corpus.length; i += 8) await recording.visit(corpus.slice(i, i + 8), open);
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describeCorpusAnswers('the built extension in Chromium', corpus, recording);

describe('nothing in the page', () => {
  it('a key page that listens for every window message, the known WXT event names and any DOM change hears nothing', async () => {
    const c = corpus.find((x) => x.name === 'trace-listener')!;
    await expectTracePageHearsNothing(recording, await open(c), c.name);
  });
});
