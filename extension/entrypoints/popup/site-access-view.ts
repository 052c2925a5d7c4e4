/**
 * The popup's "needs access" section (see lib/site-access.ts), drawn outside
 * #app so the main view's redraws leave it alone. Hooks:
 *   #site-access[data-state=granted|missing], button[data-action=grant-site-access], #site-access-result.
 */
import { browser } from 'wxt/browser';
import { checkSiteAccess, requestSiteAccess, siteAccessOrigins, type PermissionsLike, type SiteAccess } from '../../lib/site-access.ts';
import { STRINGS } from '../../lib/strings.ts';

export async function showSiteAccess(section: HTMLElement): Promise<void> {
  const config = __DEVPAY_EXTENSION_CONFIG__;
  const permissions = browser.permissions as unknown as PermissionsLike;
  const origins = siteAccessOrigins(config);

  const draw = (access: SiteAccess, refused = false) => {
    section.dataset.state = access;
    section.hidden = access === 'granted';
    section.replaceChildren();
    if (access === 'granted') return;
    const heading = document.createElement('h2');
    heading.id = 'site-access-heading';
    heading.textContent = STRINGS.siteAccess.heading;
    const text = document.createElement('p');
    text.textContent = STRINGS.siteAccess.missing(config.vendorName);
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'primary';
    button.dataset.action = 'grant-site-access';
    button.textContent = STRINGS.siteAccess.grant;
    // permissions.request must run straight from the click, not after an await.
    button.addEventListener('click', () => void requestSiteAccess(permissions, origins).then((now) => draw(now, now === 'missing')));
    const result = document.createElement('p');
    result.id = 'site-access-result';
    result.setAttribute('role', 'status');
    result.textContent = refused ? STRINGS.siteAccess.refused : '';
    section.append(heading, text, button, result);
  };

  draw(await checkSiteAccess(permissions, origins));
}
