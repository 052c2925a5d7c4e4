/**
 * Finds the activation key on a confirmation page the way a person reading it
 * would: only text that is actually shown, the key next to its label, or a lone
 * key-shaped string on a page that talks about an activation key.
 *
 * Three layers: `pickKeyFromText` (pure, over the visible text), `visibleText`
 * (walks a real DOM: a cheap pass over all text, then the browser's own layout
 * checks only where a label or a key-shaped string sits) and `watchForKey`
 * (rescans after changes, with a bounded cost, until a key is found).
 *
 * Runs in the content script's isolated world: nothing here writes to the page
 * or talks to its scripts.
 */
import { ACTIVATION_KEY_MAX_LENGTH, ACTIVATION_KEY_MIN_LENGTH, ACTIVATION_KEY_PATTERN } from '../../shared/activation-key.ts';

export type FindResult =
  | { found: true; key: string; how: 'labelled' | 'lone' }
  | { found: false; reason: 'no-label' | 'no-key' | 'ambiguous' | 'too-large' };

export interface FinderLimits {
  /** Elements and text nodes visited in one scan. */
  maxNodes: number;
  /** Characters of visible text collected in one scan. */
  maxTextChars: number;
  /** Wall time of one scan. */
  maxScanMs: number;
}

export const DEFAULT_FINDER_LIMITS: FinderLimits = { maxNodes: 60_000, maxTextChars: 1_000_000, maxScanMs: 400 };

// Zero-width, bidi and other invisible format characters a page may put in or around a key.
const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180E\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]/gu;
// Any other space (NBSP, thin space, ...) reads as a space.
const ODD_SPACE = /[\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]/gu;
const LABEL = /activation[\s_-]*key(?![\p{L}\p{N}])/giu;
/** Not global: `test` must not leave state behind (LABEL's lastIndex would leak into matchAll). */
const LABEL_ANYWHERE = new RegExp(LABEL.source, 'iu');
const TOKEN = /[\p{L}\p{N}]+/gu;
/** Runs of letters and digits long enough to be a key (always whole runs: the match is greedy). */
const LONG_TOKEN = new RegExp(`[\\p{L}\\p{N}]{${ACTIVATION_KEY_MIN_LENGTH},}`, 'gu');
/** Words that may stand between a label and its key: "Your activation key is: ...". */
const FILLER = new Set(['is', 'was', 'are', 'below', 'here', 'reads', 'your', 'the', 'for', 'this', 'purchase', 'order', 'new']);
const MAX_LABEL_GAP = 80;
/** A long string that another label announces ("Order ID: ...") is that, not a key. */
const OTHER_LABEL = /(?:order|transaction|reference|request|invoice|subscription|account|customer|confirmation|tracking|payment|offer(?:ing)?|promo|serial)\b|\b(?:id|number|no|nr|ref|code)\b|#/i;
const OTHER_LABEL_REACH = 40;

/** What the page shows, reduced to what matters for keys: invisible characters gone, spaces plain. */
export function cleanText(text: string): string {
  // Most page text is plain ASCII: nothing to clean.
  if (!/[^\t\n\r\x20-\x7E]/.test(text)) return text;
  return text.replace(INVISIBLE, '').replace(ODD_SPACE, ' ');
}

function isWordLike(token: string): boolean {
  return /^[A-Za-z]?[a-z]+$/.test(token);
}

/** A key as a label announces it: letters and digits of key length, not a plain word or number. */
function isLabelledKeyShape(token: string): boolean {
  return ACTIVATION_KEY_PATTERN.test(token) && !/^\d+$/.test(token) && !isWordLike(token);
}

/** A key with no label next to it must look like every known key: upper-case letters and digits, both. */
function isLoneKeyShape(token: string): boolean {
  return ACTIVATION_KEY_PATTERN.test(token) && /^[A-Z0-9]+$/.test(token) && /[A-Z]/.test(token) && /\d/.test(token);
}

function isLabelGap(gap: string): boolean {
  if (gap.length > MAX_LABEL_GAP) return false;
  const words = gap.match(TOKEN) ?? [];
  return words.every((w) => FILLER.has(w.toLowerCase()));
}

/** The text just before a token, on the same line, names it as something other than a key. */
function announcedAsSomethingElse(text: string, start: number): boolean {
  const from = Math.max(0, start - OTHER_LABEL_REACH);
  const lines = text.slice(from, start).split('\n');
  // The token's own line, or (for a value in the cell after its label) the last line with text.
  let line = lines.pop() ?? '';
  if (!/\S/.test(line)) {
    while (!/\S/.test(line) && lines.length > 0) line = lines.pop() ?? '';
    // Only a short, whole line reads as a label cell; a sentence above the key is not one.
    const cut = lines.length === 0 && from > 0 && text[from - 1] !== '\n';
    if (cut || line.trim().length > 30) return false;
  }
  return OTHER_LABEL.test(line);
}

/**
 * Picks the key from visible text in which block boundaries are line breaks.
 * Two different labelled keys, or (without a labelled one) two different
 * key-shaped strings: no key, reason `ambiguous`.
 */
export function pickKeyFromText(raw: string): FindResult {
  const text = cleanText(raw);
  const labels = [...text.matchAll(LABEL)];
  if (labels.length === 0) return { found: false, reason: 'no-label' };

  const labelled = new Set<string>();
  for (const label of labels) {
    const end = label.index + label[0].length;
    // The first long run after the label, with only filler words before it.
    const window = text.slice(end, end + MAX_LABEL_GAP + ACTIVATION_KEY_MAX_LENGTH + 1);
    const next = new RegExp(LONG_TOKEN.source, 'u').exec(window);
    if (!next) continue;
    // A run that reaches the window's end may go on: too long to be a key.
    const whole = next.index + next[0].length < window.length || end + window.length === text.length;
    if (whole && isLabelGap(window.slice(0, next.index)) && isLabelledKeyShape(next[0])) labelled.add(next[0]);
  }
  if (labelled.size > 1) return { found: false, reason: 'ambiguous' };
  const [only] = labelled;
  if (only !== undefined) return { found: true, key: only, how: 'labelled' };

  const lone = new Set<string>();
  for (const m of text.matchAll(LONG_TOKEN)) if (isLoneKeyShape(m[0]) && !announcedAsSomethingElse(text, m.index)) lone.add(m[0]);
  if (lone.size > 1) return { found: false, reason: 'ambiguous' };
  const [single] = lone;
  return single !== undefined ? { found: true, key: single, how: 'lone' } : { found: false, reason: 'no-key' };
}

/** Where, in cleaned text, a label or a possible key sits: what must be checked for visibility. */
export function rangesThatMatter(text: string): { start: number; end: number }[] {
  const ranges: { start: number; end: number }[] = [];
  for (const m of text.matchAll(LABEL)) ranges.push({ start: m.index, end: m.index + m[0].length });
  // Longer runs too: a hidden tail may be all that makes a shown key look too long.
  for (const m of text.matchAll(LONG_TOKEN)) if (m[0].length <= ACTIVATION_KEY_MAX_LENGTH * 4) ranges.push({ start: m.index, end: m.index + m[0].length });
  return ranges;
}

// --- the DOM: what is rendered ---

/** Never shown as page text, or typed into by the customer. */
const SKIPPED_ELEMENTS = new Set([
  'script', 'style', 'template', 'noscript', 'head', 'title', 'meta', 'link', 'textarea', 'select', 'option',
  'optgroup', 'datalist', 'iframe', 'frame', 'object', 'embed', 'canvas', 'video', 'audio', 'svg', 'math',
]);
/** Inputs whose value a page may show as read-only text (a key box to copy from). */
const TEXT_INPUT_TYPES = new Set(['', 'text']);

/** A run of page text, cleaned; `source` is the node to check before believing it is shown. */
interface Piece {
  text: string;
  source?: Text | HTMLInputElement;
}

interface Collected {
  pieces: Piece[];
  complete: boolean;
}

type Frame = { kind: 'node'; node: Node } | { kind: 'break' };

/**
 * First pass, cheap: the page's text in document order, with line breaks where
 * blocks start and end and inline runs joined as shown. Drops what is never
 * rendered (display:none, hidden, aria-hidden, script, form fields typed into);
 * finer visibility is checked later, only where a label or key sits.
 */
function collectText(doc: Document, limits: FinderLimits, deadline: () => boolean): Collected {
  const view = doc.defaultView;
  const root = doc.body ?? doc.documentElement;
  const pieces: Piece[] = [];
  if (!view || !root) return { pieces, complete: true };
  let chars = 0;
  let visited = 0;
  const stack: Frame[] = [{ kind: 'node', node: root }];
  const brk: Piece = { text: '\n' };

  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.kind === 'break') {
      pieces.push(brk);
      continue;
    }
    if (++visited > limits.maxNodes || ((visited & 255) === 0 && deadline())) return { pieces, complete: false };
    const { node } = frame;

    if (node.nodeType === Node.TEXT_NODE) {
      const data = (node as Text).data;
      if (!/\S/.test(data)) {
        if (data.length > 0) pieces.push({ text: ' ' });
        continue;
      }
      const text = cleanText(data);
      chars += text.length;
      if (chars > limits.maxTextChars) return { pieces, complete: false };
      pieces.push({ text, source: node as Text });
      continue;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) continue;

    const el = node as HTMLElement;
    const name = el.localName;
    if (SKIPPED_ELEMENTS.has(name)) continue;
    if (el.hasAttribute('hidden') || el.getAttribute('aria-hidden') === 'true') continue;
    if (el.isContentEditable) continue;
    const display = view.getComputedStyle(el).display;
    if (display === 'none') continue;
    if (name === 'br') {
      pieces.push(brk);
      continue;
    }
    if (name === 'input') {
      // Only a read-only (or disabled) text box shows a value the customer did not type.
      const input = el as HTMLInputElement;
      if (!TEXT_INPUT_TYPES.has(input.getAttribute('type')?.toLowerCase() ?? '') || !(input.readOnly || input.disabled)) continue;
      const text = cleanText(input.value);
      chars += text.length;
      if (chars > limits.maxTextChars) return { pieces, complete: false };
      pieces.push(brk, { text, source: input }, brk);
      continue;
    }
    const block = !display.startsWith('inline') && display !== 'contents';
    if (block) {
      pieces.push(brk);
      stack.push({ kind: 'break' });
    }
    // Children in reverse so they pop in document order.
    for (let child = el.lastChild; child; child = child.previousSibling) stack.push({ kind: 'node', node: child });
  }
  return { pieces, complete: true };
}

function transparent(color: string): boolean {
  return color === 'transparent' || /^rgba\(.*,\s*0(\.0+)?\)$/.test(color) || /\/\s*0%?\s*\)$/.test(color);
}

function fullyClipped(style: CSSStyleDeclaration): boolean {
  const clipPath = style.clipPath;
  if (/inset\(\s*(50|100)%/.test(clipPath) || /circle\(\s*0(px|%)?\s*(at|\))/.test(clipPath)) return true;
  return (style.position === 'absolute' || style.position === 'fixed') && /^rect\(\s*0(px)?[ ,]+0(px)?[ ,]+0(px)?[ ,]+0(px)?\s*\)$/.test(style.clip);
}

/**
 * Second pass, only for the few nodes that matter: would a person see this text?
 * Rendered, not transparent, not tiny, not pushed off the page, and inside every
 * box around it that hides its overflow (the visually-hidden tricks).
 */
function isShown(source: Text | HTMLInputElement, view: Window): boolean {
  const isText = source.nodeType === Node.TEXT_NODE;
  const el = isText ? source.parentElement : (source as HTMLInputElement);
  if (!el) return false;
  // A closed <details> shows only its summary (its other children are not rendered).
  if (isText && el.localName === 'details' && !el.hasAttribute('open')) return false;
  if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true, contentVisibilityAuto: true })) return false;
  const style = view.getComputedStyle(el);
  if (style.visibility !== 'visible' || parseFloat(style.fontSize) === 0 || transparent(style.color)) return false;
  const fill = style.getPropertyValue('-webkit-text-fill-color');
  if (fill && transparent(fill)) return false;

  let rects: DOMRectList;
  if (isText) {
    const range = view.document.createRange();
    range.selectNodeContents(source);
    rects = range.getClientRects();
  } else rects = el.getClientRects();
  const boxes = Array.from(rects).filter(
    // Off-screen tricks: pushed above or left of the document, where no scrolling reaches.
    (r) => r.width >= 1 && r.height >= 1 && r.right + view.scrollX > 0 && r.bottom + view.scrollY > 0,
  );
  if (boxes.length === 0) return false;

  let clip = { left: -Infinity, top: -Infinity, right: Infinity, bottom: Infinity };
  for (let a: Element | null = el; a && a !== view.document.documentElement; a = a.parentElement) {
    const s = view.getComputedStyle(a);
    if (fullyClipped(s) || parseFloat(s.opacity) === 0) return false;
    const hidesX = s.overflowX === 'hidden' || s.overflowX === 'clip';
    const hidesY = s.overflowY === 'hidden' || s.overflowY === 'clip';
    if (!hidesX && !hidesY) continue;
    const r = a.getBoundingClientRect();
    clip = {
      left: hidesX ? Math.max(clip.left, r.left) : clip.left,
      right: hidesX ? Math.min(clip.right, r.right) : clip.right,
      top: hidesY ? Math.max(clip.top, r.top) : clip.top,
      bottom: hidesY ? Math.min(clip.bottom, r.bottom) : clip.bottom,
    };
  }
  return boxes.some((r) => r.right > clip.left && r.left < clip.right && r.bottom > clip.top && r.top < clip.bottom && clip.right - clip.left >= 1 && clip.bottom - clip.top >= 1);
}

export interface VisibleText {
  text: string;
  /** False when a limit stopped the scan: the text may miss part of the page. */
  complete: boolean;
}

/**
 * The text a person sees where it matters: every label and every key-shaped
 * string in it has been checked to be shown (hidden ones are gone, and what
 * they separated is joined again, as rendered). Other text is kept as is.
 */
export function visibleText(doc: Document, limits: FinderLimits = DEFAULT_FINDER_LIMITS, now: () => number = () => performance.now()): VisibleText {
  const started = now();
  const overTime = () => now() - started > limits.maxScanMs;
  const view = doc.defaultView;
  const { pieces, complete } = collectText(doc, limits, overTime);
  if (!view) return { text: '', complete };
  const verdicts = new Map<Piece, boolean>();
  let live = pieces;
  // Each round checks at least one new piece, so this ends; hidden pieces drop out and may form new tokens.
  for (;;) {
    const text = live.map((p) => p.text).join('');
    const ranges = rangesThatMatter(text);
    const unchecked: Piece[] = [];
    let offset = 0;
    let r = 0;
    ranges.sort((a, b) => a.start - b.start);
    for (const piece of live) {
      const end = offset + piece.text.length;
      while (r < ranges.length && ranges[r]!.end <= offset) r++;
      // Does any range overlap [offset, end)?
      for (let i = r; i < ranges.length && ranges[i]!.start < end; i++) {
        if (ranges[i]!.end > offset) {
          if (piece.source && !verdicts.has(piece)) unchecked.push(piece);
          break;
        }
      }
      offset = end;
    }
    if (unchecked.length === 0) return { text, complete };
    if (overTime()) return { text, complete: false };
    for (const piece of unchecked) verdicts.set(piece, isShown(piece.source!, view));
    live = live.filter((p) => verdicts.get(p) !== false);
  }
}

/** One scan of a document. */
export function findKey(doc: Document, limits: FinderLimits = DEFAULT_FINDER_LIMITS): FindResult {
  const { text, complete } = visibleText(doc, limits);
  // A partial scan can neither rule out a second key further down nor trust what it has not checked.
  if (!complete) return { found: false, reason: 'too-large' };
  return pickKeyFromText(text);
}

/** Cheap test before a full scan: does the page mention an activation key at all? */
function mentionsLabel(doc: Document, maxChars: number): boolean {
  const all = doc.body?.textContent ?? '';
  return LABEL_ANYWHERE.test(cleanText(all.length > maxChars * 2 ? all.slice(0, maxChars * 2) : all));
}

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
  /** Told about every full scan (cost measurements, tests). */
  onScan?: (result: FindResult, ms: number) => void;
}

/**
 * Scans now, then after each burst of changes, until a key is found or a budget
 * runs out. `onResult` gets a found key once, and an ambiguous page once.
 * Returns a function that stops the watch.
 */
export function watchForKey(doc: Document, onResult: (result: FindResult) => void, options: WatchOptions = {}): () => void {
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
    if (!mentionsLabel(doc, limits.maxTextChars)) return;
    scans++;
    const started = performance.now();
    const result = findKey(doc, limits);
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
