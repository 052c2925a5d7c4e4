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

/**
 * A run of text, or the edge of an element's box (`edge`): a line break, a space
 * or nothing, guessed from the tag and settled from the element's computed
 * display only where a label or key sits (settleEdge).
 */
export interface Piece {
  text: string;
  source?: PieceSource;
  edge?: Element;
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
  'script',
  'style',
  'template',
  'noscript',
  'head',
  'title',
  'meta',
  'link',
  'textarea',
  'select',
  'option',
  'optgroup',
  'datalist',
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'canvas',
  'video',
  'audio',
  'svg',
  'math',
]);
/** Inputs whose value a page may show as read-only text (a key box to copy from). */
const TEXT_INPUT_TYPES = new Set(['', 'text']);
/** Elements that may host a shadow root (attachShadow refuses others); custom elements have a dash. */
const SHADOW_HOSTS = new Set([
  'article',
  'aside',
  'blockquote',
  'body',
  'div',
  'footer',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'header',
  'main',
  'nav',
  'p',
  'section',
  'span',
]);
/** Boxes that are blocks, cells or rows unless a style says otherwise (the browser's default style sheet). */
const BLOCK_BY_DEFAULT = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'body',
  'caption',
  'center',
  'dd',
  'details',
  'dialog',
  'dir',
  'div',
  'dl',
  'dt',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'header',
  'hgroup',
  'hr',
  'legend',
  'li',
  'main',
  'menu',
  'nav',
  'ol',
  'p',
  'pre',
  'section',
  'summary',
  'table',
  'tbody',
  'td',
  'tfoot',
  'th',
  'thead',
  'tr',
  'ul',
]);
const INLINE_BLOCK_BY_DEFAULT = new Set(['button', 'img', 'meter', 'progress']);

const BREAK: Piece = { text: '\n' };
const SPACE: Piece = { text: ' ' };

/** What separates an element's box from its neighbours, for a computed display value. */
function separatorFor(display: string): string {
  if (display === 'none' || display === 'contents' || display === 'inline' || display === 'ruby') return '';
  return display.startsWith('inline') ? ' ' : '\n';
}

function guessedSeparator(name: string): string {
  return BLOCK_BY_DEFAULT.has(name) ? '\n' : INLINE_BLOCK_BY_DEFAULT.has(name) ? ' ' : '';
}

/** Settles an edge from the element's computed display. */
export function settleEdge(piece: Piece, view: Window): void {
  if (!piece.edge) return;
  piece.text = separatorFor(view.getComputedStyle(piece.edge).display);
  piece.edge = undefined;
}

/** Text as shown under the element's text-transform. */
export function transformed(text: string, how: string): string {
  if (how === 'uppercase') return text.toUpperCase();
  if (how === 'lowercase') return text.toLowerCase();
  if (how === 'capitalize')
    return text.replace(/(^|[^\p{L}\p{N}])(\p{L})/gu, (_, a: string, b: string) => a + b.toUpperCase());
  return text;
}

/** A node still to walk; pieces waiting on the stack are told apart from nodes without touching the DOM. */
type Frame = { node: Node; piece?: undefined } | { piece: Piece };

/**
 * Walks the page without asking for any style (a style per element would cost
 * more than the rest of the scan): tags give the likely breaks, to be settled
 * where it matters. Pseudo-elements are asked for only where a style sheet
 * gives some element generated text.
 */
export function collectText(
  doc: Document,
  limits: FinderLimits,
  overTime: () => boolean,
  shadowRootOf: ShadowRootOf = openShadowRootOnly,
): Collected {
  const view = doc.defaultView;
  const root = doc.body ?? doc.documentElement;
  const pieces: Piece[] = [];
  if (!view || !root) return { pieces, complete: true };
  let pseudo: PseudoCandidates = addPseudoCandidates(doc, new Set());
  let chars = 0;
  let visited = 0;
  const stack: Frame[] = [{ node: root }];
  const add = (piece: Piece): boolean => {
    chars += piece.text.length;
    pieces.push(piece);
    return chars <= limits.maxTextChars;
  };
  const generated = (el: Element, which: '::before' | '::after'): Piece | undefined => {
    const style = view.getComputedStyle(el, which);
    const text = generatedText(el, style.content);
    return text
      ? { text: transformed(cleanText(text), style.textTransform), source: { kind: 'pseudo', el, which } }
      : undefined;
  };

  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.piece) {
      if (!add(frame.piece)) return { pieces, complete: false };
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
      if (!add({ text: cleanText(data), source: { kind: 'text', node: node as Text } }))
        return { pieces, complete: false };
      continue;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) continue;

    const el = node as HTMLElement;
    const name = el.localName;
    if (SKIPPED_ELEMENTS.has(name)) continue;
    if (el.hasAttribute('hidden') || el.getAttribute('aria-hidden') === 'true') continue;
    // The customer types into an editable box (its whole subtree is skipped here; isContentEditable would ask for styles).
    const editable = el.getAttribute('contenteditable');
    if (editable !== null && editable.toLowerCase() !== 'false') continue;
    if (name === 'br') {
      pieces.push(BREAK);
      continue;
    }
    if (name === 'input') {
      // Only a read-only (or disabled) text box shows a value the customer did not type.
      const input = el as HTMLInputElement;
      if (!TEXT_INPUT_TYPES.has(input.getAttribute('type')?.toLowerCase() ?? '') || !(input.readOnly || input.disabled))
        continue;
      pieces.push(BREAK);
      if (!add({ text: cleanText(input.value), source: { kind: 'input', el: input } }))
        return { pieces, complete: false };
      pieces.push(BREAK);
      continue;
    }
    const separator = guessedSeparator(name);
    pieces.push({ text: separator, edge: el });
    stack.push({ piece: { text: separator, edge: el } });
    const withPseudo = pseudo === 'all' || pseudo.has(el);
    const after = withPseudo ? generated(el, '::after') : undefined;
    if (after) stack.push({ piece: after });
    // Children in reverse so they pop in document order; a shadow root renders instead of the light children.
    const shadow = name.includes('-') || SHADOW_HOSTS.has(name) ? shadowRootOf(el) : null;
    if (shadow && pseudo !== 'all') pseudo = addPseudoCandidates(shadow, pseudo);
    const assigned = name === 'slot' ? (el as HTMLSlotElement).assignedNodes({ flatten: true }) : [];
    if (assigned.length > 0) for (let i = assigned.length - 1; i >= 0; i--) stack.push({ node: assigned[i]! });
    else for (let child = (shadow ?? el).lastChild; child; child = child.previousSibling) stack.push({ node: child });
    const before = withPseudo ? generated(el, '::before') : undefined;
    if (before) stack.push({ piece: before });
  }
  return { pieces, complete: true };
}
