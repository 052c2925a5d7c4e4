/**
 * The pure text rules of key capture: given the text a person sees (blocks,
 * cells and lines already separated by line breaks), which string is the key?
 *
 * - A label ("Activation key", "activation key:", "Your key", "Key") followed,
 *   with only filler words between, by one key-shaped string.
 * - A key grouped for reading ("HQ3T-Z7WP-...") is joined only after a label,
 *   and only when the groups make exactly one key-shaped string.
 * - No label: one shown key-shaped string that no other label (order,
 *   transaction, reference...) claims is the key (the page is a configured key
 *   page, or this code would not run).
 * - Two different keys: none.
 */
import {
  ACTIVATION_KEY_MAX_LENGTH,
  ACTIVATION_KEY_MIN_LENGTH,
  ACTIVATION_KEY_PATTERN,
} from '../../../shared/activation-key.ts';

export type FindResult =
  | { found: true; key: string; how: 'labelled' | 'lone' }
  | { found: false; reason: 'no-key' | 'ambiguous' | 'too-large' };

// Zero-width, bidi and other invisible format characters a page may put in or around a key.
// Each of them is removed on its own, so the joiner and variation selectors in the class are meant.
const INVISIBLE =
  // oxlint-disable-next-line no-misleading-character-class
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180E\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]/gu;
// Any other space (NBSP, thin space, ...) reads as a space.
const ODD_SPACE = /[\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]/gu;
/** "Activation Key", "activation-key", "Your key", "Key": never a key inside a longer word ("keyboard"). */
const LABEL = /(?<![\p{L}\p{N}])(?:activation[\s_-]*)?key(?![\p{L}\p{N}])/giu;
const TOKEN = /[\p{L}\p{N}]+/gu;
/** Runs of letters and digits long enough to be a key (always whole runs: the match is greedy). */
const LONG_TOKEN = new RegExp(`[\\p{L}\\p{N}]{${ACTIVATION_KEY_MIN_LENGTH},}`, 'gu');
/** Groups of a key written for reading: 2 to 10 upper-case letters and digits, each separated by one space or dash. */
const GROUPED = /[A-Z0-9]{2,10}(?:[ -][A-Z0-9]{2,10}){1,14}(?![A-Za-z0-9])/y;
/** Words that may stand between a label and its key: "Your activation key is: ...". */
const FILLER = new Set([
  'is',
  'was',
  'are',
  'below',
  'here',
  'reads',
  'your',
  'the',
  'for',
  'this',
  'purchase',
  'order',
  'new',
  'product',
  'application',
  'app',
]);
const MAX_LABEL_GAP = 80;
/** A long string that another label announces ("Order ID: ...") is that, not a key. */
const OTHER_LABEL =
  /(?:order|transaction|reference|request|invoice|subscription|account|customer|confirmation|tracking|payment|offer(?:ing)?|promo|serial)\b|\b(?:id|number|no|nr|ref|code)\b|#/i;
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

/** The key a label at `end` announces: the first string after the filler words, whole or grouped. */
function keyAfterLabel(text: string, end: number): string | undefined {
  const window = text.slice(end, end + MAX_LABEL_GAP + ACTIVATION_KEY_MAX_LENGTH * 2);
  const first = /[\p{L}\p{N}]+/gu;
  for (let m = first.exec(window); m; m = first.exec(window)) {
    if (FILLER.has(m[0].toLowerCase()) && m[0].length < ACTIVATION_KEY_MIN_LENGTH) continue;
    if (!isLabelGap(window.slice(0, m.index))) return undefined;
    // A run that reaches the window's end may go on: too long to be a key.
    const atEnd = m.index + m[0].length >= window.length && end + window.length < text.length;
    if (atEnd) return undefined;
    if (isLabelledKeyShape(m[0])) return m[0];
    GROUPED.lastIndex = m.index;
    const grouped = GROUPED.exec(window);
    const joined = grouped?.[0].replace(/[ -]/g, '');
    return joined !== undefined && isLoneKeyShape(joined) ? joined : undefined;
  }
  return undefined;
}

/**
 * Picks the key from visible text in which block boundaries are line breaks.
 * Two different labelled keys, or (without a labelled one) two different
 * key-shaped strings: no key, reason `ambiguous`.
 */
export function pickKeyFromText(raw: string): FindResult {
  const text = cleanText(raw);
  const labelled = new Set<string>();
  for (const label of text.matchAll(LABEL)) {
    const key = keyAfterLabel(text, label.index + label[0].length);
    if (key !== undefined) labelled.add(key);
  }
  if (labelled.size > 1) return { found: false, reason: 'ambiguous' };
  const [only] = labelled;
  if (only !== undefined) return { found: true, key: only, how: 'labelled' };

  const lone = new Set<string>();
  for (const m of text.matchAll(LONG_TOKEN))
    if (isLoneKeyShape(m[0]) && !announcedAsSomethingElse(text, m.index)) lone.add(m[0]);
  if (lone.size > 1) return { found: false, reason: 'ambiguous' };
  const [single] = lone;
  return single !== undefined ? { found: true, key: single, how: 'lone' } : { found: false, reason: 'no-key' };
}

/** Where, in cleaned text, a label or a possible key (or a group of one) sits: what must be checked for visibility. */
export function rangesThatMatter(text: string): { start: number; end: number }[] {
  const ranges: { start: number; end: number }[] = [];
  for (const m of text.matchAll(LABEL)) {
    const end = m.index + m[0].length;
    // The label, and what it may announce: filler, then one key (grouped or not).
    ranges.push({ start: m.index, end: Math.min(text.length, end + MAX_LABEL_GAP + ACTIVATION_KEY_MAX_LENGTH * 2) });
  }
  // Longer runs too: a hidden tail may be all that makes a shown key look too long.
  for (const m of text.matchAll(LONG_TOKEN))
    if (m[0].length <= ACTIVATION_KEY_MAX_LENGTH * 4) ranges.push({ start: m.index, end: m.index + m[0].length });
  return ranges;
}
