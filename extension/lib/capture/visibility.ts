/**
 * Second pass of a scan, only for the few runs of text that matter (a label, a
 * key-shaped string): would a person read this text where it sits? Rendered,
 * not hidden, big enough, opaque enough (compounded through every box around
 * it, filters included), not blurred, in a colour that stands out from what is
 * behind it, inside every box that clips it, on the page, and not covered by
 * another element (hit-tested where it sits).
 */
import type { PieceSource } from './rendered-text.ts';

/** Below this, text is not read: about the smallest print anyone reads on screen. */
const MIN_FONT_PX = 6;
/** Compounded opacity below this is a ghost, not text. */
const MIN_OPACITY = 0.3;
/** Contrast ratio (WCAG) below this: text in (nearly) the colour of what is behind it. */
const MIN_CONTRAST = 1.5;
const MAX_BLUR_PX = 1;

type Rgba = [number, number, number, number];

function parseColor(value: string): Rgba | undefined {
  const m = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+)(%?))?\s*\)$/.exec(value);
  if (!m) return value === 'transparent' ? [0, 0, 0, 0] : undefined;
  const alpha = m[4] === undefined ? 1 : parseFloat(m[4]) / (m[5] ? 100 : 1);
  return [parseFloat(m[1]!), parseFloat(m[2]!), parseFloat(m[3]!), alpha];
}

function luminance([r, g, b]: Rgba): number {
  const channel = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

/** `top` painted over `below` (source-over). */
function over(top: Rgba, below: Rgba): Rgba {
  const a = top[3] + below[3] * (1 - top[3]);
  if (a === 0) return [0, 0, 0, 0];
  const mix = (i: number) => (top[i]! * top[3] + below[i]! * below[3] * (1 - top[3])) / a;
  return [mix(0), mix(1), mix(2), a];
}

/** The element around this one in the rendered tree: a shadow root's host, not the document. */
function parentOf(el: Element): Element | null {
  if (el.parentElement) return el.parentElement;
  const root = el.getRootNode();
  return root instanceof ShadowRoot ? root.host : null;
}

function fullyClipped(style: CSSStyleDeclaration): boolean {
  const clipPath = style.clipPath;
  if (/inset\(\s*(50|100)%/.test(clipPath) || /circle\(\s*0(px|%)?\s*(at|\))/.test(clipPath)) return true;
  // The old `clip` is still how many pages hide text off screen ("visually hidden"), so it is checked.
  return (
    (style.position === 'absolute' || style.position === 'fixed') &&
    // oxlint-disable-next-line typescript/no-deprecated
    /^rect\(\s*0(px)?[ ,]+0(px)?[ ,]+0(px)?[ ,]+0(px)?\s*\)$/.test(style.clip)
  );
}

/** Opacity a filter applies (opacity(), blur beyond reading): 0 when it blurs text away. */
function filterOpacity(filter: string): number {
  if (!filter || filter === 'none') return 1;
  let factor = 1;
  for (const m of filter.matchAll(/(opacity|blur|brightness|contrast)\(\s*([\d.]+)(px|%)?\s*\)/g)) {
    const amount = parseFloat(m[2]!) / (m[3] === '%' ? 100 : 1);
    if (m[1] === 'blur' && amount > MAX_BLUR_PX) return 0;
    if (m[1] === 'opacity') factor *= amount;
    // Brightness or contrast at zero paints the text the colour of its box.
    if ((m[1] === 'brightness' || m[1] === 'contrast') && amount < 0.2) return 0;
  }
  return factor;
}

function element(source: PieceSource): Element | null {
  return source.kind === 'text' ? source.node.parentElement : source.el;
}

function boxesOf(source: PieceSource, view: Window): DOMRect[] {
  if (source.kind === 'text') {
    const range = view.document.createRange();
    range.selectNodeContents(source.node);
    return Array.from(range.getClientRects());
  }
  // Generated content sits inside its element's box.
  return Array.from(source.el.getClientRects());
}

/** Would a person read this run of text? */
export function isShown(source: PieceSource, view: Window): boolean {
  const el = element(source);
  if (!el) return false;
  // A closed <details> shows only its summary (its other children are not rendered).
  if (source.kind === 'text' && el.localName === 'details' && !el.hasAttribute('open')) return false;
  if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true, contentVisibilityAuto: true }))
    return false;
  const own = source.kind === 'pseudo' ? view.getComputedStyle(el, source.which) : view.getComputedStyle(el);
  if (own.visibility !== 'visible' || parseFloat(own.fontSize) < MIN_FONT_PX) return false;
  const fill = own.getPropertyValue('-webkit-text-fill-color');
  const ink = parseColor(fill && fill !== own.color ? fill : own.color);
  if (!ink || ink[3] < MIN_OPACITY) return false;

  const boxes = boxesOf(source, view).filter(
    // Off-screen tricks: pushed above or left of the document, where no scrolling reaches.
    (r) => r.width >= 1 && r.height >= 1 && r.right + view.scrollX > 0 && r.bottom + view.scrollY > 0,
  );
  if (boxes.length === 0) return false;

  let opacity = 1;
  // What is painted behind the text, composed outwards until opaque; unknown under an image or gradient.
  let backdrop: Rgba = [0, 0, 0, 0];
  let backdropKnown = true;
  let clip = { left: -Infinity, top: -Infinity, right: Infinity, bottom: Infinity };
  for (let a: Element | null = el; a; a = parentOf(a)) {
    const s =
      a === el && source.kind === 'pseudo' ? view.getComputedStyle(a) : a === el ? own : view.getComputedStyle(a);
    if (fullyClipped(s)) return false;
    opacity *= parseFloat(s.opacity) * filterOpacity(s.filter);
    if (opacity < MIN_OPACITY) return false;
    if (backdropKnown && backdrop[3] < 1) {
      if (s.backgroundImage !== 'none') backdropKnown = false;
      const bg = parseColor(s.backgroundColor);
      if (bg && bg[3] > 0) backdrop = over(backdrop, bg);
    }
    const hidesX = s.overflowX !== 'visible';
    const hidesY = s.overflowY !== 'visible';
    if (a === view.document.documentElement || (!hidesX && !hidesY)) continue;
    const r = a.getBoundingClientRect();
    clip = {
      left: hidesX ? Math.max(clip.left, r.left) : clip.left,
      right: hidesX ? Math.min(clip.right, r.right) : clip.right,
      top: hidesY ? Math.max(clip.top, r.top) : clip.top,
      bottom: hidesY ? Math.min(clip.bottom, r.bottom) : clip.bottom,
    };
  }
  if (backdropKnown) {
    // Nothing painted behind: the canvas, white as browsers show a page with no background.
    const behind = over(backdrop, [255, 255, 255, 1]);
    const [hi, lo] = [luminance(over(ink, behind)), luminance(behind)].sort((x, y) => y - x) as [number, number];
    if ((hi + 0.05) / (lo + 0.05) < MIN_CONTRAST) return false;
  }

  const inside = boxes.filter(
    (r) =>
      r.right > clip.left &&
      r.left < clip.right &&
      r.bottom > clip.top &&
      r.top < clip.bottom &&
      clip.right - clip.left >= 1 &&
      clip.bottom - clip.top >= 1,
  );
  return inside.some((r) => !covered(el, r, view));
}

/** Hit-tests the middle of a box: another element painted on top of it hides it. Off the viewport: cannot tell, not covered. */
function covered(el: Element, r: DOMRect, view: Window): boolean {
  const x = r.left + r.width / 2;
  const y = r.top + r.height / 2;
  if (x < 0 || y < 0 || x >= view.innerWidth || y >= view.innerHeight) return false;
  const root = el.getRootNode() as Document | ShadowRoot;
  const top = root.elementFromPoint(x, y);
  if (!top) return false;
  return !(top === el || el.contains(top) || top.contains(el));
}
