/**
 * The popup's "needs access" section (see lib/site-access.ts), drawn outside
 * #app so the main view's redraws leave it alone. #site-access-live announces the
 * state; the section's status line, the outcome of the button. Hooks:
 *   #site-access[data-state=granted|missing], button[data-action=grant-site-access], #site-access-result.
 */
import { browser } from 'wxt/browser';
import {
  checkSiteAccess,
  requestSiteAccess,
  siteAccessOrigins,
  type PermissionsLike,
  type SiteAccess,
} from '../../lib/site-access.ts';
import { t } from '../../lib/strings.ts';
import { h } from './view.ts';

export async function showSiteAccess(section: HTMLElement, announce: HTMLElement | null): Promise<void> {
  const config = __DEVPAY_EXTENSION_CONFIG__;
  const permissions = browser.permissions as unknown as PermissionsLike;
  const origins = siteAccessOrigins(config);

  const draw = (access: SiteAccess, refused = false) => {
    section.dataset.state = access;
    section.hidden = access === 'granted';
    section.replaceChildren();
    // A live region that is there from the start, so screen readers say the state when it appears.
    if (announce)
      announce.textContent =
        access === 'granted'
          ? ''
          : `${t('siteAccess.heading')}. ${t('siteAccess.explain', { vendor: config.vendorName })}`;
    if (access === 'granted') return;
    const grant = h(
      'button',
      { type: 'button', class: 'primary', 'data-action': 'grant-site-access', 'data-focus': 'grant-site-access' },
      t('siteAccess.grant'),
    );
    // permissions.request must run straight from the click, not after an await.
    grant.addEventListener(
      'click',
      () => void requestSiteAccess(permissions, origins).then((now) => draw(now, now === 'missing')),
    );
    section.append(
      h('h2', { id: 'site-access-heading' }, t('siteAccess.heading')),
      h('p', {}, t('siteAccess.explain', { vendor: config.vendorName })),
      h('div', { class: 'actions' }, grant),
      h('p', { id: 'site-access-result', role: 'status' }, refused ? t('siteAccess.refused') : ''),
    );
  };

  draw(await checkSiteAccess(permissions, origins));
}
