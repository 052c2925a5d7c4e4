/**
 * Who started the host. Browsers put the caller on the command line:
 * Chromium-based browsers pass `chrome-extension://ID/` (on Windows followed by
 * `--parent-window=N`); Firefox passes the path of the host manifest and the
 * add-on ID. Only extensions listed in the vendor configuration may talk to us.
 */
import type { VendorConfig } from '../../shared/config.ts';

export type Caller =
  | { browser: 'chromium'; extensionId: string; origin: string }
  | { browser: 'firefox'; extensionId: string; manifestPath: string };

const CHROMIUM_ORIGIN = /^chrome-extension:\/\/([a-p]{32})\/?$/;
const PARENT_WINDOW = /^--parent-window=\d+$/;
const FIREFOX_ADDON_ID = /^(\{[0-9a-fA-F-]{36}\}|[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+)$/;

/** True when argv (without node and the script) looks like a browser start rather than a CLI call. */
export function looksLikeBrowserLaunch(args: readonly string[]): boolean {
  const [first, second] = args;
  if (first === undefined) return false;
  if (first.startsWith('chrome-extension://')) return true;
  return (
    args.length === 2 &&
    /\.json$/i.test(first) &&
    !first.startsWith('-') &&
    second !== undefined &&
    FIREFOX_ADDON_ID.test(second)
  );
}

/** Parses the browser's arguments; null when they do not name a caller in a form we recognise. */
export function parseCaller(args: readonly string[]): Caller | null {
  const [first, second, ...rest] = args;
  if (first === undefined) return null;
  const chromium = CHROMIUM_ORIGIN.exec(first);
  if (chromium) {
    const extra = second === undefined ? [] : [second, ...rest];
    if (!extra.every((a) => PARENT_WINDOW.test(a))) return null;
    return { browser: 'chromium', extensionId: chromium[1]!, origin: `chrome-extension://${chromium[1]!}/` };
  }
  if (rest.length === 0 && second !== undefined && /\.json$/i.test(first) && FIREFOX_ADDON_ID.test(second)) {
    return { browser: 'firefox', extensionId: second, manifestPath: first };
  }
  return null;
}

export function isCallerAllowed(caller: Caller, config: VendorConfig): boolean {
  const allowed = caller.browser === 'chromium' ? config.extensions.chromium : config.extensions.firefox;
  return allowed.includes(caller.extensionId);
}
