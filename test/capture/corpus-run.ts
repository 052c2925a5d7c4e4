/**
 * What a browser's corpus run shares, whichever browser it drives
 * (capture-chromium.test.ts, capture-firefox.test.ts): the messages a recorder in
 * the extension heard, sorted by case; visiting the pages a few at a time; and the
 * expected answer of every case, as tests.
 */
import { createServer as createNetServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { caseOfUrl, type CorpusCase } from './corpus.ts';
import { waitFor } from '../machine/wait.ts';

export interface Received {
  type: string;
  key?: string;
  url: string;
}

/** A browser tab, as much of it as the run needs. */
export interface CorpusTab {
  /** Runs `fn` in the page and returns its JSON result. */
  read<T>(fn: () => T): Promise<T>;
  close(): Promise<void>;
}

/** A port that was free a moment ago: no `devpay-companion serve` answers there, so no key leaves the browser. */
export async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as { port: number };
  await new Promise((done) => probe.close(done));
  return port;
}

export interface CorpusRecording {
  received: Map<string, Received[]>;
  /** Moves what the recorder heard since last time into `received`. */
  collect(): Promise<void>;
  keysFrom(name: string): (string | undefined)[];
  notTakenFrom(name: string): Received[];
  /** Opens the cases' pages together, waits for their answers (and for any wrong one), closes them. */
  visit(cases: CorpusCase[], open: (c: CorpusCase) => Promise<CorpusTab>): Promise<void>;
}

/** `drain` returns, and forgets, what the recorder in the extension heard so far. */
export function corpusRecording(label: string, drain: () => Promise<Received[]>): CorpusRecording {
  const received = new Map<string, Received[]>();
  const keysFrom = (name: string) =>
    (received.get(name) ?? []).filter((m) => m.type === 'devpay:key-found').map((m) => m.key);
  const notTakenFrom = (name: string) => (received.get(name) ?? []).filter((m) => m.type === 'devpay:key-not-taken');
  async function collect(): Promise<void> {
    for (const message of await drain()) {
      const name = caseOfUrl(message.url) ?? '(outside the corpus)';
      received.set(name, [...(received.get(name) ?? []), message]);
    }
  }
  /** What a case has delivered so far is what it should finally deliver. */
  function settled(c: CorpusCase): boolean {
    if (c.key) return keysFrom(c.name).length > 0;
    if (c.ambiguous) return notTakenFrom(c.name).length > 0;
    return true;
  }
  return {
    received,
    collect,
    keysFrom,
    notTakenFrom,
    async visit(cases, open) {
      const started = Date.now();
      const tabs = await Promise.all(cases.map(open));
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
      console.info(`${label} corpus batch of ${cases.length} pages: ${Date.now() - started} ms`);
    },
  };
}

/** Every case's expected answer: its key, or nothing; and nothing heard from outside the corpus. */
export function describeCorpusAnswers(through: string, corpus: CorpusCase[], recording: CorpusRecording): void {
  describe(`the corpus, through ${through}`, () => {
    it('has at least 40 pages, with positives and negatives', () => {
      expect(corpus.length).toBeGreaterThanOrEqual(40);
      expect(corpus.filter((c) => c.key).length).toBeGreaterThanOrEqual(20);
      expect(corpus.filter((c) => !c.key).length).toBeGreaterThanOrEqual(20);
    });

    it('hears nothing from outside the corpus', () => {
      expect(recording.received.get('(outside the corpus)') ?? []).toEqual([]);
    });

    for (const c of corpus) {
      it(`${c.name}: ${c.key ? 'gives the key a person sees' : 'gives no key'}`, () => {
        // The one key, however often the page gave it; or nothing at all.
        expect(new Set(recording.keysFrom(c.name))).toEqual(new Set(c.key ? [c.key] : []));
      });
    }

    for (const c of corpus.filter((page) => page.ambiguous)) {
      it(`${c.name}: says the page is ambiguous`, () => {
        expect(recording.notTakenFrom(c.name).length).toBeGreaterThan(0);
      });
    }
  });
}

/** The trace page (trace-listener) hears nothing of the capture script, though it hears what it does itself. */
export async function expectTracePageHearsNothing(
  recording: CorpusRecording,
  tab: CorpusTab,
  name: string,
): Promise<void> {
  await waitFor(
    async () => {
      await recording.collect();
      return recording.keysFrom(name).length > 1;
    },
    { what: 'the key from the trace page (again)' },
  );
  await new Promise((r) => setTimeout(r, 500));
  expect(await tab.read(() => (window as unknown as { __heard: string[] }).__heard)).toEqual([]);
  // The page's ears work: what it does itself, it hears.
  await tab.read(() => {
    window.postMessage('self', '*');
    document.dispatchEvent(new CustomEvent('wxt:content-script-started'));
    document.body.append('x');
    return null;
  });
  await new Promise((r) => setTimeout(r, 200));
  expect(await tab.read(() => (window as unknown as { __heard: string[] }).__heard)).toEqual([
    'window:wxt:content-script-started',
    'document:wxt:content-script-started',
    'mutation:childList',
    'window:message',
  ]);
  await tab.close();
}
