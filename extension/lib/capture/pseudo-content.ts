/**
 * CSS generated content (`::before`, `::after`): shown text that no DOM node
 * holds. Asking every element for its pseudo-elements' styles would cost more
 * than the rest of a scan, so the page's style sheets say which elements can
 * have any: those matched by a rule that sets a non-empty `content`.
 */

/** Elements that may carry generated text, or 'all' when a sheet cannot be read (cross-origin). */
export type PseudoCandidates = Set<Element> | 'all';

const PSEUDO = /::?(?:before|after)\b/gi;
const EMPTY_CONTENT = new Set(['', 'none', 'normal', '""', "''"]);
/** Selectors (pseudo part stripped) per sheet: sheets rarely change between scans. */
const selectorsBySheet = new WeakMap<CSSStyleSheet, string[] | 'all'>();

function collectSelectors(rules: CSSRuleList, out: string[]): boolean {
  for (const rule of Array.from(rules)) {
    const style = (rule as CSSStyleRule).style;
    const selector = (rule as CSSStyleRule).selectorText;
    if (selector !== undefined && style && PSEUDO.test(selector)) {
      PSEUDO.lastIndex = 0;
      if (!EMPTY_CONTENT.has(style.getPropertyValue('content').trim())) out.push(selector.replace(PSEUDO, '') || '*');
    }
    PSEUDO.lastIndex = 0;
    const nested = (rule as CSSGroupingRule).cssRules;
    if (nested && nested.length > 0) {
      // Nested style rules (CSS nesting) have selectors relative to their parent: too costly to resolve, check all.
      if (selector !== undefined) return false;
      if (!collectSelectors(nested, out)) return false;
    }
  }
  return true;
}

function selectorsOf(sheet: CSSStyleSheet): string[] | 'all' {
  const cached = selectorsBySheet.get(sheet);
  if (cached) return cached;
  let result: string[] | 'all';
  try {
    const out: string[] = [];
    result = collectSelectors(sheet.cssRules, out) ? out : 'all';
  } catch {
    // A cross-origin sheet hides its rules: it may generate anything.
    result = 'all';
  }
  selectorsBySheet.set(sheet, result);
  return result;
}

/** Adds to `into` the elements under `root` that a sheet of `root` may give generated text. */
export function addPseudoCandidates(root: Document | ShadowRoot, into: Set<Element>): PseudoCandidates {
  const sheets = [...Array.from(root.styleSheets), ...(root.adoptedStyleSheets ?? [])];
  for (const sheet of sheets) {
    const selectors = selectorsOf(sheet);
    if (selectors === 'all') return 'all';
    for (const selector of selectors) {
      try {
        for (const el of Array.from(root.querySelectorAll(selector))) into.add(el);
      } catch {
        return 'all';
      }
    }
  }
  return into;
}

/** The text `content` puts in a pseudo-element: quoted strings and attr() values, in order. */
export function generatedText(el: Element, content: string): string {
  if (EMPTY_CONTENT.has(content.trim())) return '';
  let text = '';
  const part = /"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|attr\(\s*([\w-]+)\s*\)/g;
  for (const m of content.matchAll(part)) {
    if (m[3] !== undefined) text += el.getAttribute(m[3]) ?? '';
    else
      text += (m[1] ?? m[2] ?? '')
        .replace(/\\([0-9a-fA-F]{1,6})\s?/g, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
        .replace(/\\(.)/g, '$1');
  }
  return text;
}
