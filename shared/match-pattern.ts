/**
 * WebExtension match patterns (`scheme://host/path`), the one syntax the vendor
 * configuration uses for "pages a key may be taken from", so that the manifest,
 * the content script and the background all judge a URL the same way.
 * As in browsers, a pattern without a port matches any port.
 */

const PATTERN = /^(https?|\*):\/\/(\*|\*\.[^/*:]+|[^/*:]+)(\/.*)$/;

export function isValidMatchPattern(pattern: string): boolean {
  return PATTERN.test(pattern);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

export function compileMatchPattern(pattern: string): (url: string) => boolean {
  const m = PATTERN.exec(pattern);
  if (!m) throw new Error(`Not a match pattern: ${pattern}`);
  const [, scheme, host, path] = m as unknown as [string, string, string, string];
  const pathRe = new RegExp('^' + path.split('*').map(escapeRegExp).join('.*') + '$');
  return (raw: string) => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return false;
    }
    const urlScheme = url.protocol.slice(0, -1);
    if (scheme === '*' ? urlScheme !== 'http' && urlScheme !== 'https' : urlScheme !== scheme) return false;
    const hostname = url.hostname.toLowerCase();
    if (host !== '*') {
      if (host.startsWith('*.')) {
        const base = host.slice(2).toLowerCase();
        if (hostname !== base && !hostname.endsWith('.' + base)) return false;
      } else if (hostname !== host.toLowerCase()) return false;
    }
    return pathRe.test(url.pathname + url.search);
  };
}

/** One predicate for a list of patterns. */
export function compileMatchPatterns(patterns: readonly string[]): (url: string) => boolean {
  const tests = patterns.map(compileMatchPattern);
  return (url) => tests.some((test) => test(url));
}
