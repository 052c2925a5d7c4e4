/**
 * First pass of a scan, cheap: the page's text in the order and shape it
 * renders. Blocks, table cells, list and flex/grid items and `<br>` lines are
 * separated by line breaks, inline-block boxes by spaces; inline runs join as
 * shown. Shadow roots (open and closed), read-only inputs and CSS generated
 * content count; text-transform applies. What is never rendered (display:none,
 * script, style, template, fields the customer types into, frames) is dropped.
 * Finer visibility is judged later (visibility.ts), only where it matters.
 */
import { cleanText } from './key-text.ts';
import { addPseudoCandidates, generatedText, type PseudoCandidates } from './pseudo-content.ts';

export interface FinderLimits {
  /** Elements and text nodes visited in one scan. */
  maxNodes: number;
  /** Characters of text collected in one scan. */
  maxTextChars: number;
  /** Wall time of one scan. */
  maxScanMs: number;
}

export const DEFAULT_FINDER_LIMITS: FinderLimits = { maxNodes: 60_000, maxTextChars: 1_000_000, maxScanMs: 400 };

/** Where a run of text comes from: what must be checked before believing it is shown. */
export type PieceSource =
  | { kind: 'text'; node: Text }
  | { kind: 'input'; el: HTMLInputElement }
  | { kind: 'pseudo'; el: Element; which: '::before' | '::after' };

export interface Piece {
  text: string;
  source?: PieceSource;
}

export interface Collected {
  pieces: Piece[];
  complete: boolean;
}

/** The browser's way to a closed shadow root from an extension (Chromium: chrome.dom, Firefox: the element). */
export type ShadowRootOf = (el: Element) => ShadowRoot | null;

export const openShadowRootOnly: ShadowRootOf = (el) => el.shadowRoot;

/** Never shown as page text, or typed into by the customer. Frames run their own copy of the capture script. */
const SKIPPED_ELEMENTS = new Set([
  'script', 'style', 'template', 'noscript', 'head', 'title', 'meta', 'link', 'textarea', 'select', 'option',
  'optgroup', 'datalist', 'iframe', 'frame', 'frameset', 'object', 'embed', 'canvas', 'video', 'audio', 'svg', 'math',
]);
/** Inputs whose value a page may show as read-only text (a key box to copy from). */
const TEXT_INPUT_TYPES = new Set(['', 'text']);
/** Elements that may host a shadow root (attachShadow refuses others); custom elements have a dash. */
const SHADOW_HOSTS = new Set(['article', 'aside', 'blockquote', 'body', 'div', 'footer', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'main', 'nav', 'p', 'section', 'span']);

type Transform = 'none' | 'uppercase' | 'lowercase' | 'capitalize';
type Frame = { node: Node; transform: Transform } | Piece;

const BREAK: Piece = { text: '\n' };
const SPACE: Piece = { text: ' ' };

function transformed(text: string, how: Transform): string {
  if (how === 'uppercase') return text.toUpperCase();
  if (how === 'lowercase') return text.toLowerCase();
  if (how === 'capitalize') return text.replace(/(^|[^\p{L}\p{N}])(\p{L})/gu, (_, a: string, b: string) => a + b.toUpperCase());
  return text;
}

function asTransform(value: string): Transform {
  return value === 'uppercase' || value === 'lowercase' || value === 'capitalize' ? value : 'none';
}

export function collectText(doc: Document, limits: FinderLimits, overTime: () => boolean, shadowRootOf: ShadowRootOf = openShadowRootOnly): Collected {
  const view = doc.defaultView;
  const root = doc.body ?? doc.documentElement;
  const pieces: Piece[] = [];
  if (!view || !root) return { pieces, complete: true };
  const found = new Set<Element>();
  let pseudo: PseudoCandidates = addPseudoCandidates(doc, found);
  let chars = 0;
  let visited = 0;
  const stack: Frame[] = [{ node: root, transform: 'none' }];
  const add = (piece: Piece): boolean => {
    chars += piece.text.length;
    pieces.push(piece);
    return chars <= limits.maxTextChars;
  };

  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (!('node' in frame)) {
      if (!add(frame)) return { pieces, complete: false };
      continue;
    }
    if (++visited > limits.maxNodes || ((visited & 255) === 0 && overTime())) return { pieces, complete: false };
    const { node } = frame;

    if (node.nodeType === Node.TEXT_NODE) {
      const data = (node as Text).data;
      if (!/\S/.test(data)) {
        if (data.length > 0) pieces.push(SPACE);
        continue;
      }
      if (!add({ text: transformed(cleanText(data), frame.transform), source: { kind: 'text', node: node as Text } })) return { pieces, complete: false };
      continue;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) continue;

    const el = node as HTMLElement;
    const name = el.localName;
    if (SKIPPED_ELEMENTS.has(name)) continue;
    if (el.hasAttribute('hidden') || el.getAttribute('aria-hidden') === 'true') continue;
    if (el.isContentEditable) continue;
    const style = view.getComputedStyle(el);
    const display = style.display;
    if (display === 'none') continue;
    if (name === 'br') {
      pieces.push(BREAK);
      continue;
    }
    if (name === 'input') {
      // Only a read-only (or disabled) text box shows a value the customer did not type.
      const input = el as HTMLInputElement;
      if (!TEXT_INPUT_TYPES.has(input.getAttribute('type')?.toLowerCase() ?? '') || !(input.readOnly || input.disabled)) continue;
      pieces.push(BREAK);
      if (!add({ text: cleanText(input.value), source: { kind: 'input', el: input } })) return { pieces, complete: false };
      pieces.push(BREAK);
      continue;
    }
    const transform = asTransform(style.textTransform);
    const edge = display === 'contents' ? undefined : display.startsWith('inline') ? (display === 'inline' ? undefined : SPACE) : BREAK;
    if (edge) {
      pieces.push(edge);
      stack.push(edge);
    }
    if (pseudo === 'all' || pseudo.has(el)) {
      const after = generatedText(el, view.getComputedStyle(el, '::after').content);
      if (after) stack.push({ text: transformed(cleanText(after), transform), source: { kind: 'pseudo', el, which: '::after' } });
    }
    // Children in reverse so they pop in document order; a shadow root renders instead of the light children.
    const shadow = name.includes('-') || SHADOW_HOSTS.has(name) ? shadowRootOf(el) : null;
    if (shadow && pseudo !== 'all') pseudo = addPseudoCandidates(shadow, pseudo);
    const assigned = name === 'slot' ? (el as HTMLSlotElement).assignedNodes({ flatten: true }) : [];
    if (assigned.length > 0) for (let i = assigned.length - 1; i >= 0; i--) stack.push({ node: assigned[i]!, transform });
    else for (let child = (shadow ?? el).lastChild; child; child = child.previousSibling) stack.push({ node: child, transform });
    if (pseudo === 'all' || pseudo.has(el)) {
      const before = generatedText(el, view.getComputedStyle(el, '::before').content);
      if (before) stack.push({ text: transformed(cleanText(before), transform), source: { kind: 'pseudo', el, which: '::before' } });
    }
  }
  return { pieces, complete: true };
}
