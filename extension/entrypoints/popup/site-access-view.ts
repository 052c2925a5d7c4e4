/**
 * The "Firefox needs access to Amazon's pages" state: without host permission for
 * the key pages the content script never runs (Firefox lets the customer withdraw it).
 * A slot for the popup (`renderPopup(..., [siteAccessSection(...)])`); the caller
 * decides when it shows and what the button does (e.g. `permissions.request`).
 * Hooks for tests: #site-access, button[data-action=grant-site-access], #site-access-result.
 */
import { t } from '../../lib/strings.ts';
import { h } from './view.ts';

export interface SiteAccessOptions {
  /** Product names, shown as they are: e.g. `Firefox`, `Amazon`. */
  browserName: string;
  siteName: string;
  /** Asks the browser for access; resolves to whether it was granted. */
  onGrant(): Promise<boolean>;
}

export function siteAccessSection({ browserName, siteName, onGrant }: SiteAccessOptions): HTMLElement {
  const result = h('p', { id: 'site-access-result', role: 'status' });
  const grant = h('button', { type: 'button', class: 'primary', 'data-action': 'grant-site-access', 'data-focus': 'grant-site-access' }, t('siteAccess.grant', { site: siteName }));
  grant.addEventListener('click', () => {
    grant.disabled = true;
    void onGrant()
      .catch(() => false)
      .then((granted) => {
        grant.disabled = granted;
        result.textContent = granted ? t('siteAccess.granted') : '';
      });
  });
  return h(
    'section',
    { id: 'site-access', class: 'attention', 'data-state': 'site-access', 'aria-labelledby': 'site-access-heading' },
    h('h2', { id: 'site-access-heading' }, t('siteAccess.state', { browser: browserName, site: siteName })),
    h('p', {}, t('siteAccess.explain', { site: siteName })),
    h('div', { class: 'actions' }, grant),
    result,
  );
}
