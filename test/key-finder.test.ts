/**
 * The key finder's parts, bundled into a plain page in real headless Chromium:
 * the watch's budgets and limits, and the pure text rules. The corpus of pages
 * runs through the built extension instead (capture-chromium.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as KeyFinder from '../extension/lib/key-finder.ts';
import { pickKeyFromText, type FindResult } from '../extension/lib/key-finder.ts';
import { CHROMIUM_PATH } from './machine/browser.ts';

const FIXTURES = resolve('test/fixtures/pages');
/** The page's global that the bundle below sets. */
type InPage = { __keyFinder: typeof KeyFinder };
const K1 = 'ADMAY7DVLJTWHJ76MMBMQYT5LATA';
const K2 = 'AC6PMWXPBRPDDB426RW4X76I2MXQ';

let browser: Browser;
let page: Page;
let finderSource: string;
let home: string;

beforeAll(async () => {
  const bundle = await esbuild.build({
    stdin: {
      contents: `import * as finder from './extension/lib/key-finder.ts'; globalThis.__keyFinder = finder;`,
      resolveDir: resolve('.'),
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    write: false,
    target: 'chrome120',
  });
  finderSource = bundle.outputFiles[0]!.text;
  home = mkdtempSync(join(tmpdir(), 'key-finder-'));
  browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--headless'],
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: home, XDG_CACHE_HOME: home },
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
});

afterAll(async () => {
  await browser?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

async function open(name: string): Promise<void> {
  await page.goto(pathToFileURL(join(FIXTURES, name)).href);
  await page.addScriptTag({ content: finderSource });
}

function describeResult(result: FindResult): string {
  return result.found ? `key:${result.key}` : `none:${result.reason}`;
}

const findInPage = (limits?: object) =>
  page.evaluate((l) => {
    const kf = (globalThis as unknown as InPage).__keyFinder;
    return kf.findKey(document, l ? { limits: { ...kf.DEFAULT_FINDER_LIMITS, ...l } } : {});
  }, limits);

/** Watches until a key (or ambiguity) is reported, or `ms` pass; resolves with what happened. */
const watchInPage = (ms: number, options: object = {}) =>
  page.evaluate(
    ({ ms: limitMs, options: watchOptions }) =>
      new Promise<{ result: FindResult | null; scans: number; scanMs: number[] }>((done) => {
        const scanMs: number[] = [];
        let stop = () => {};
        const finish = (result: FindResult | null) => {
          stop();
          done({ result, scans: scanMs.length, scanMs });
        };
        const timer = setTimeout(() => finish(null), limitMs);
        stop = (globalThis as unknown as InPage).__keyFinder.watchForKey(
          document,
          (result: FindResult) => {
            clearTimeout(timer);
            finish(result);
          },
          { ...watchOptions, onScan: (_r: FindResult, t: number) => scanMs.push(t) },
        );
      }),
    { ms, options },
  );

describe('watching a page', () => {
  it('stops once the key is found: later changes cost nothing', async () => {
    await open('later.html');
    const scans = await page.evaluate(
      () =>
        new Promise<{ before: number; after: number }>((done) => {
          let count = 0;
          (globalThis as unknown as InPage).__keyFinder.watchForKey(
            document,
            () => {
              const before = count;
              // Keep changing the page after the key was found.
              for (let i = 0; i < 50; i++) document.body.append(document.createElement('p'));
              setTimeout(() => done({ before, after: count }), 300);
            },
            { throttleMs: 20, onScan: () => count++ },
          );
        }),
    );
    expect(scans.before).toBeGreaterThan(0);
    expect(scans.after).toBe(scans.before);
  });

  it('bounds the cost on a busy page that never shows a key', async () => {
    await page.setContent(`<p>Your activation key will appear here.</p><div id="feed"></div>
      <script>setInterval(() => { const p = document.createElement('p'); p.textContent = 'tick ' + Date.now(); document.getElementById('feed').append(p); }, 5);</script>`);
    await page.addScriptTag({ content: finderSource });
    const watched = await watchInPage(2500, { throttleMs: 50, maxScans: 10 });
    expect(watched.result).toBeNull();
    // The initial scan plus at most maxScans rescans, then the watch stops by itself.
    expect(watched.scans).toBeLessThanOrEqual(11);
    expect(watched.scans).toBeGreaterThan(3);
  });

  it('retries a scan cut short by its time limit, even on a still page, within the scan budget', async () => {
    await open('amazon-confirmation.html');
    const watched = await watchInPage(1500, { throttleMs: 10, maxScans: 5, limits: { maxScanMs: 0 } });
    expect(watched.result).toBeNull();
    expect(watched.scans).toBe(6);
  });

  it('gives up within its time budget', async () => {
    await page.setContent(
      `<p>Your activation key will appear here.</p><script>setInterval(() => document.body.append('x'), 10)</script>`,
    );
    await page.addScriptTag({ content: finderSource });
    const watched = await watchInPage(1500, { throttleMs: 20, maxScans: 1000, maxWatchMs: 300 });
    expect(watched.result).toBeNull();
    // 300 ms at one scan per 20 ms at most, with slack for timer jitter.
    expect(watched.scans).toBeLessThanOrEqual(20);
  });

  it('scans a large page within its limits, and refuses to guess past them', async () => {
    const filler = Array.from(
      { length: 2000 },
      (_, i) => `<div class="row"><span>Item ${i}</span> <em>note ${i}</em></div>`,
    ).join('');
    await page.setContent(`<p>Order summary</p>${filler}<p>Activation key: <b>${K1}</b></p>`);
    await page.addScriptTag({ content: finderSource });
    // Correctness without a time limit (this machine may be busy); the time is reported.
    const timed = await page.evaluate(() => {
      const kf = (globalThis as unknown as InPage).__keyFinder;
      const t0 = performance.now();
      const result = kf.findKey(document, { limits: { ...kf.DEFAULT_FINDER_LIMITS, maxScanMs: 60_000 } });
      return { result, ms: performance.now() - t0 };
    });
    expect(describeResult(timed.result)).toBe(`key:${K1}`);
    console.info(`key finder: 6k-element page scanned in ${timed.ms.toFixed(1)} ms`);
    expect(describeResult(await findInPage({ maxNodes: 500 }))).toBe('none:too-large');
    expect(describeResult(await findInPage({ maxScanMs: 0 }))).toBe('none:too-large');
    expect(describeResult(await findInPage({ maxTextChars: 1000 }))).toBe('none:too-large');
  });

  it('does not write into the page or talk to it', async () => {
    await open('label-adjacent.html');
    const before = await page.evaluate(() => document.documentElement.outerHTML);
    const posted = await page.evaluate(
      () =>
        new Promise<number>((done) => {
          let messages = 0;
          window.addEventListener('message', () => messages++);
          (globalThis as unknown as InPage).__keyFinder.watchForKey(document, () => {});
          setTimeout(() => done(messages), 200);
        }),
    );
    expect(posted).toBe(0);
    expect(await page.evaluate(() => document.documentElement.outerHTML)).toBe(before);
  });
});

describe('picking from visible text (no DOM)', () => {
  it('takes the labelled key, tolerating filler words and punctuation', () => {
    expect(pickKeyFromText(`Your activation key is: ${K1}.`)).toEqual({ found: true, key: K1, how: 'labelled' });
    expect(pickKeyFromText(`ACTIVATION-KEY\n\n${K2}`)).toEqual({ found: true, key: K2, how: 'labelled' });
  });

  it('never changes case and accepts up to 30 letters and digits next to a label', () => {
    expect(pickKeyFromText('Activation key: abcd1234efgh5678ijkl90mnop12qr')).toEqual({
      found: true,
      key: 'abcd1234efgh5678ijkl90mnop12qr',
      how: 'labelled',
    });
    expect(pickKeyFromText('Activation key: abcd1234efgh5678ijkl90mnop12qrs')).toEqual({
      found: false,
      reason: 'no-key',
    });
  });

  it('does not take a key glued to other letters', () => {
    expect(pickKeyFromText(`Activation key: ${K1}é`)).toEqual({ found: false, reason: 'no-key' });
  });

  it('treats the same key shown twice as one key', () => {
    expect(pickKeyFromText(`Activation key: ${K1}\nActivation key: ${K1}`)).toEqual({
      found: true,
      key: K1,
      how: 'labelled',
    });
  });

  it('says why it took nothing', () => {
    expect(pickKeyFromText(`Order ${K1}`)).toEqual({ found: false, reason: 'no-key' });
    expect(pickKeyFromText(`Activation key: ${K1}\nActivation key: ${K2}`)).toEqual({
      found: false,
      reason: 'ambiguous',
    });
  });
});

describe('wording, grouped keys, pages with no label', () => {
  const grouped = (k: string, sep: string) => k.match(/.{4}/g)!.join(sep);

  it('takes the key after any wording a page uses', () => {
    for (const label of ['Activation Key', 'activation key:', 'Your key', 'Key:', 'KEY']) {
      expect(pickKeyFromText(`${label}\n${K1}`)).toEqual({ found: true, key: K1, how: 'labelled' });
    }
    // A word that only contains "key" is no label: the key is still found, as a lone key.
    expect(pickKeyFromText(`Keyboard\n${K1}`)).toEqual({ found: true, key: K1, how: 'lone' });
  });

  it('joins a grouped key only after a label, and only into exactly one key', () => {
    expect(pickKeyFromText(`Activation key: ${grouped(K1, '-')}`)).toEqual({ found: true, key: K1, how: 'labelled' });
    expect(pickKeyFromText(`Activation key: ${grouped(K1, ' ')}. It expires in one hour.`)).toEqual({
      found: true,
      key: K1,
      how: 'labelled',
    });
    expect(pickKeyFromText(`Thank you.\n${grouped(K1, '-')}`)).toEqual({ found: false, reason: 'no-key' });
    expect(pickKeyFromText(`Activation key: ${grouped(K1, '-')}-AB12-CD34`)).toEqual({
      found: false,
      reason: 'no-key',
    });
  });

  it('takes a single unclaimed key-shaped string on a page with no label, never one another label claims', () => {
    expect(pickKeyFromText(`Ihr Aktivierungsschlüssel:\n${K2}\nBestellnummer\nD01-1234567-1234567`)).toEqual({
      found: true,
      key: K2,
      how: 'lone',
    });
    expect(pickKeyFromText(`Transaction ID\n${K2}`)).toEqual({ found: false, reason: 'no-key' });
    expect(pickKeyFromText(`Reference number: ${K2}`)).toEqual({ found: false, reason: 'no-key' });
  });
});
