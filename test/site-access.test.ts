/**
 * extension/lib/site-access.ts: the badge while access to the key pages is
 * missing, and the permission checks. The real browser side is in
 * e2e-firefox-site-access.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  checkSiteAccess,
  siteAccessBadge,
  siteAccessOrigins,
  watchSiteAccess,
  type PermissionsLike,
} from '../extension/lib/site-access.ts';

function fakePermissions(granted: boolean) {
  const added: (() => void)[] = [];
  const permissions: PermissionsLike & { granted: boolean; fire(): void } = {
    granted,
    contains: async () => permissions.granted,
    request: async () => permissions.granted,
    onAdded: { addListener: (l) => void added.push(l) },
    onRemoved: { addListener: () => undefined },
    fire: () => added.forEach((l) => l()),
  };
  return permissions;
}

describe('site access', () => {
  it('asks about the key pages and the redirect pages', () => {
    expect(siteAccessOrigins({ keyPages: ['https://a.test/*'], redirectPages: ['https://b.test/w*'] })).toEqual([
      'https://a.test/*',
      'https://b.test/w*',
    ]);
  });

  it('a browser that rejects the question counts as missing access', async () => {
    const permissions = { ...fakePermissions(true), contains: async () => Promise.reject(new Error('bad pattern')) };
    expect(await checkSiteAccess(permissions, ['nonsense'])).toBe('missing');
  });

  it('while access is missing the badge says so; once given, the controller’s latest badge comes back', async () => {
    const shown: [string, string][] = [];
    const badge = siteAccessBadge(async (text, title) => void shown.push([text, title]), 'needs access');
    await badge.setBadge('✓', 'Acme activated');
    await badge.setAccess('missing');
    await badge.setBadge('', 'idle');
    await badge.setAccess('granted');
    expect(shown).toEqual([
      ['✓', 'Acme activated'],
      ['!', 'needs access'],
      ['!', 'needs access'],
      ['', 'idle'],
    ]);
  });

  it('watches grants and withdrawals', async () => {
    const permissions = fakePermissions(false);
    const seen: string[] = [];
    watchSiteAccess(permissions, ['https://a.test/*'], (access) => seen.push(access));
    await new Promise((r) => setTimeout(r, 0));
    permissions.granted = true;
    permissions.fire();
    await new Promise((r) => setTimeout(r, 0));
    expect(seen).toEqual(['missing', 'granted']);
  });
});
