/**
 * Scans a page now and again after each burst of changes, with a bounded cost,
 * until a key is found. Reads the page only: no writes, no events, no messages.
 */
import type { FindResult } from './key-text.ts';
import { DEFAULT_FINDER_LIMITS, type FinderLimits, type ShadowRootOf } from './rendered-text.ts';
import { findKey } from './scan.ts';

export interface WatchOptions {
  /** Stops the watch (the content script's context going away). */
  signal?: AbortSignal;
  /** Rescans at most once per this many ms while the page keeps changing. */
  throttleMs?: number;
  /** Full scans after the first, at most. */
  maxScans?: number;
  /** Stop watching this long after the start. */
  maxWatchMs?: number;
  limits?: Partial<FinderLimits>;
  shadowRootOf?: ShadowRootOf;
  /** Told about every full scan (cost measurements, tests). */
  onScan?: (result: FindResult, ms: number) => void;
}

/**
 * Scans now, then after each burst of changes, until a key is found or a budget
 * runs out. `onResult` gets a found key once, and an ambiguous page once.
 * Returns a function that stops the watch.
 */
export function watchForKey(
  doc: Document,
  onResult: (result: FindResult) => void,
  options: WatchOptions = {},
): () => void {
  const view = doc.defaultView;
  const limits = { ...DEFAULT_FINDER_LIMITS, ...options.limits };
  const throttleMs = options.throttleMs ?? 300;
  const maxScans = options.maxScans ?? 25;
  const maxWatchMs = options.maxWatchMs ?? 120_000;
  let scans = 0;
  let stopped = false;
  let pending: ReturnType<typeof setTimeout> | undefined;
  let reportedAmbiguous = false;
  const setTimer = view ? view.setTimeout.bind(view) : setTimeout;
  const clearTimer = view ? view.clearTimeout.bind(view) : clearTimeout;

  const observer = view ? new view.MutationObserver(() => schedule()) : undefined;
  const deadline = setTimer(() => stop(), maxWatchMs);

  function stop(): void {
    if (stopped) return;
    stopped = true;
    observer?.disconnect();
    if (pending !== undefined) clearTimer(pending);
    clearTimer(deadline);
    options.signal?.removeEventListener('abort', stop);
  }

  function scan(): void {
    pending = undefined;
    if (stopped) return;
    // Every scan reads the rendered page: a cheaper pre-check over raw text (textContent) glues cells
    // together and hides shadow roots and generated text, so it cannot tell a key page from another.
    scans++;
    const started = performance.now();
    const result = findKey(doc, { limits, ...(options.shadowRootOf ? { shadowRootOf: options.shadowRootOf } : {}) });
    options.onScan?.(result, performance.now() - started);
    if (result.found) {
      stop();
      onResult(result);
      return;
    }
    if (result.reason === 'ambiguous' && !reportedAmbiguous) {
      reportedAmbiguous = true;
      onResult(result);
    }
    if (scans > maxScans) stop();
    // Out of time (a busy machine, a big page): try again later even if the page stays still.
    else if (result.reason === 'too-large') schedule(throttleMs * 4);
  }

  function schedule(delay = throttleMs): void {
    // Throttle, not debounce: a page that never stops changing still gets scanned.
    if (!stopped && pending === undefined) pending = setTimer(scan, delay);
  }

  if (options.signal?.aborted) {
    stop();
    return stop;
  }
  options.signal?.addEventListener('abort', stop);
  observer?.observe(doc.documentElement, {
    childList: true,
    subtree: true,
    characterData: true,
    attributes: true,
    attributeFilter: ['style', 'class', 'hidden', 'aria-hidden', 'value'],
  });
  scan();
  return stop;
}
