/**
 * One scan of a document: the rendered text (rendered-text.ts), checked for
 * visibility only where a label or a key-shaped string sits (visibility.ts),
 * then the text rules (key-text.ts).
 */
import { pickKeyFromText, rangesThatMatter, type FindResult } from './key-text.ts';
import {
  collectText,
  DEFAULT_FINDER_LIMITS,
  openShadowRootOnly,
  settleEdge,
  transformed,
  type FinderLimits,
  type Piece,
  type ShadowRootOf,
} from './rendered-text.ts';
import { isShown } from './visibility.ts';

export interface ScanOptions {
  limits?: FinderLimits;
  now?: () => number;
  shadowRootOf?: ShadowRootOf;
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
export function visibleText(doc: Document, options: ScanOptions = {}): VisibleText {
  const limits = options.limits ?? DEFAULT_FINDER_LIMITS;
  const now = options.now ?? (() => performance.now());
  const started = now();
  const overTime = () => now() - started > limits.maxScanMs;
  const view = doc.defaultView;
  const { pieces, complete } = collectText(doc, limits, overTime, options.shadowRootOf ?? openShadowRootOnly);
  if (!view) return { text: '', complete };
  const verdicts = new Map<Piece, boolean>();
  let live = pieces;
  // Each round settles or checks at least one new piece, so this ends. Hidden pieces drop out and settled
  // edges may split or join runs: the text is read again.
  for (;;) {
    const text = live.map((p) => p.text).join('');
    const ranges = rangesThatMatter(text).sort((a, b) => a.start - b.start);
    const unchecked: Piece[] = [];
    const unsettled: Piece[] = [];
    let offset = 0;
    let r = 0;
    for (const piece of live) {
      const end = offset + piece.text.length;
      while (r < ranges.length && ranges[r]!.end < offset) r++;
      // Does any range overlap [offset, end)? An empty edge counts where it sits, ends included.
      for (let i = r; i < ranges.length && ranges[i]!.start <= end; i++) {
        const range = ranges[i]!;
        if (end > offset ? range.start < end && range.end > offset : range.start <= offset && offset <= range.end) {
          if (piece.edge) unsettled.push(piece);
          else if (piece.source && !verdicts.has(piece)) unchecked.push(piece);
          break;
        }
      }
      offset = end;
    }
    if (unchecked.length === 0 && unsettled.length === 0) return { text, complete };
    if (overTime()) return { text, complete: false };
    for (const piece of unsettled) settleEdge(piece, view);
    for (const piece of unchecked) {
      const shown = isShown(piece.source!, view);
      verdicts.set(piece, shown);
      const source = piece.source!;
      // Read as shown: text-transform of the element around the text.
      if (shown && source.kind === 'text' && source.node.parentElement)
        piece.text = transformed(piece.text, view.getComputedStyle(source.node.parentElement).textTransform);
    }
    live = live.filter((p) => verdicts.get(p) !== false);
  }
}

/** One scan of a document. */
export function findKey(doc: Document, options: ScanOptions = {}): FindResult {
  const { text, complete } = visibleText(doc, options);
  // A partial scan can neither rule out a second key further down nor trust what it has not checked.
  if (!complete) return { found: false, reason: 'too-large' };
  return pickKeyFromText(text);
}
