/**
 * Finds the activation key on a confirmation page the way a person reading it
 * would. The parts live in ./capture/: the pure text rules (key-text.ts), the
 * rendered text of a DOM (rendered-text.ts, pseudo-content.ts), what is shown
 * (visibility.ts), one scan (scan.ts) and the watch over a changing page
 * (watch.ts). Everything runs in the capture script's isolated world and only
 * reads the page.
 */
export { cleanText, pickKeyFromText, rangesThatMatter, type FindResult } from './capture/key-text.ts';
export { DEFAULT_FINDER_LIMITS, type FinderLimits, type ShadowRootOf } from './capture/rendered-text.ts';
export { findKey, visibleText, type ScanOptions, type VisibleText } from './capture/scan.ts';
export { watchForKey, type WatchOptions } from './capture/watch.ts';
