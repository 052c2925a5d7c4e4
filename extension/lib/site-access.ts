/**
 * Whether the extension may run on the pages that hand over keys. Firefox lets
 * the customer withdraw an add-on's access to a site (and with
 * `extensions.originControls.grantByDefault` false never grants it at install);
 * the content script then never runs and nothing happens, silently. The
 * background watches the permission and says so on the badge; the popup says so
 * and offers a button that asks for it. Only a click in the popup may call
 * `permissions.request` (browsers require a user action).
 */
import type { Badge } from './activation/badge.ts';

export interface PermissionsLike {
  contains(permissions: { origins: string[] }): Promise<boolean>;
  request(permissions: { origins: string[] }): Promise<boolean>;
  onAdded: { addListener(listener: () => void): void };
  onRemoved: { addListener(listener: () => void): void };
}

export type SiteAccess = 'granted' | 'missing';

/** The key pages and redirect pages: the content script's match patterns. */
export function siteAccessOrigins(config: { keyPages: string[]; redirectPages: string[] }): string[] {
  return [...config.keyPages, ...config.redirectPages];
}

export async function checkSiteAccess(permissions: PermissionsLike, origins: string[]): Promise<SiteAccess> {
  try {
    return (await permissions.contains({ origins })) ? 'granted' : 'missing';
  } catch {
    // A pattern the browser rejects cannot be granted either.
    return 'missing';
  }
}

/** Asks the browser (which asks the customer); call only from a click handler. */
export async function requestSiteAccess(permissions: PermissionsLike, origins: string[]): Promise<SiteAccess> {
  try {
    return (await permissions.request({ origins })) ? 'granted' : 'missing';
  } catch {
    return 'missing';
  }
}

/** Calls `onChange` with the state now and whenever the customer grants or withdraws access. */
export function watchSiteAccess(
  permissions: PermissionsLike,
  origins: string[],
  onChange: (access: SiteAccess) => void,
): void {
  const check = () => void checkSiteAccess(permissions, origins).then(onChange);
  permissions.onAdded.addListener(check);
  permissions.onRemoved.addListener(check);
  check();
}

type SetBadge = (text: Badge['text'], title: string) => Promise<void>;

/**
 * Sits between the controller and the toolbar badge: while access is missing the
 * badge says so whatever the controller shows, and the controller's latest badge
 * comes back once access is given.
 */
export function siteAccessBadge(
  setBadge: SetBadge,
  missingTitle: string,
): { setBadge: SetBadge; setAccess(access: SiteAccess): Promise<void> } {
  let access: SiteAccess = 'granted';
  let latest: [Badge['text'], string] | undefined;
  return {
    setBadge(text, title) {
      latest = [text, title];
      return access === 'missing' ? setBadge('!', missingTitle) : setBadge(text, title);
    },
    setAccess(now) {
      const was = access;
      access = now;
      if (now === 'missing') return setBadge('!', missingTitle);
      return was === 'missing' && latest ? setBadge(...latest) : Promise.resolve();
    },
  };
}
