/**
 * Draws the popup from a PopupState. Text only through textContent (host
 * messages are shown, never parsed as HTML). Every state is said in words, not
 * only in colour. Stable hooks for tests and assistive tech:
 *   #app[data-loaded], #host[data-state][data-version][data-route=native|loopback], #host-route,
 *   #host-reason[data-reason], #refresh, #notice[data-kind],
 *   li.product[data-product=CODE|*][data-state=STATE][data-key-held][data-route=native|loopback|paste],
 *   .product-route[data-route] (the same, in words),
 *   button[data-action=retry|confirm-key|ignore-key|confirm-replace|cancel-replace|copy-key|dismiss],
 *   .confirm-question[data-question=confirm-key|confirm-replace],
 *   .fallback-key, .fallback-command, .install-command, a[data-link=activate|homepage],
 *   .reactivation-pending[data-until] (a reactivation the desktop product started waits for a key).
 */
import type { PopupState, ProductView } from '../../lib/runtime-messages.ts';
import {
  COMMANDS,
  HOST_UNAVAILABLE_KEYS,
  KEY_ROUTE_KEYS,
  NEXT_STEP_KEYS,
  NOTICE_KEYS,
  PRODUCT_STATE_KEYS,
  formatWhen,
  t,
} from '../../lib/strings.ts';

export type PopupAction =
  'retry' | 'confirm-key' | 'ignore-key' | 'confirm-replace' | 'cancel-replace' | 'copy-key' | 'dismiss';

export interface ViewHandlers {
  action(action: PopupAction, product: string | null, button: HTMLButtonElement): void;
  refresh(): void;
}

/** `*` stands for "the product is not known yet" in data attributes. */
export const UNKNOWN_PRODUCT_ATTR = '*';

type Child = Node | string | null | undefined | false;

const HOST_STATE_KEYS = {
  unknown: 'host.state.unknown',
  checking: 'host.state.checking',
  unreachable: 'host.state.unreachable',
} as const;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) el.setAttribute(name, value);
  for (const child of children) if (child) el.append(child);
  return el;
}

function button(
  label: string,
  action: PopupAction,
  product: string | null,
  handlers: ViewHandlers,
  primary = false,
): HTMLButtonElement {
  const el = h(
    'button',
    {
      type: 'button',
      'data-action': action,
      'data-focus': `${product ?? UNKNOWN_PRODUCT_ATTR}:${action}`,
      class: primary ? 'primary' : undefined,
    },
    label,
  );
  el.addEventListener('click', () => handlers.action(action, product, el));
  return el;
}

function link(href: string, label: string, kind: string, product: string | null): HTMLAnchorElement {
  return h(
    'a',
    {
      href,
      target: '_blank',
      rel: 'noopener noreferrer',
      'data-link': kind,
      'data-focus': `${product ?? UNKNOWN_PRODUCT_ATTR}:link:${kind}`,
    },
    label,
    h('span', { class: 'visually-hidden' }, ' ' + t('action.opensInNewTab')),
  );
}

/** A bold label before a text (`What happened:` ...). */
function labelled(label: string, text: string | Node): DocumentFragment {
  const fragment = document.createDocumentFragment();
  fragment.append(h('span', { class: 'label' }, label + ' '), text);
  return fragment;
}

/** Text with `inline code` shown as code. */
function richText(text: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  text.split(/(`[^`]+`)/).forEach((part) => {
    if (part.startsWith('`') && part.endsWith('`') && part.length > 2)
      fragment.append(h('code', {}, part.slice(1, -1)));
    else if (part) fragment.append(part);
  });
  return fragment;
}

function productRow(product: ProductView, state: PopupState, handlers: ViewHandlers): HTMLLIElement {
  const code = product.code;
  const row = h('li', {
    class: 'product',
    'data-product': code ?? UNKNOWN_PRODUCT_ATTR,
    'data-state': product.state,
    'data-key-held': String(product.keyHeld),
    'data-route': product.route ?? undefined,
    'aria-labelledby': `name-${code ?? 'unknown'}`,
  });
  row.append(
    h('h2', { class: 'product-name', id: `name-${code ?? 'unknown'}` }, product.name),
    // A symbol before the words (style.css) repeats the state for sighted readers; it has empty alt text.
    h('p', { class: 'product-state' }, h('strong', {}, t(PRODUCT_STATE_KEYS[product.state]))),
  );
  if (product.route) {
    row.append(
      h(
        'p',
        { class: 'product-route', 'data-route': product.route },
        labelled(t('route.label'), richText(t(KEY_ROUTE_KEYS[product.route]))),
      ),
    );
  }

  const details: string[] = [];
  const activatedNow = product.state === 'activated' || product.state === 'confirm-replace';
  if (product.activatedAt && activatedNow)
    details.push(t('product.activatedOn', { when: formatWhen(product.activatedAt) }));
  if (product.accessKeyId && product.state === 'activated')
    details.push(t('product.accessKeyId', { id: product.accessKeyId }));
  if (product.keyHeld && product.keyExpiresAt) {
    const minutes = Math.max(1, Math.ceil((product.keyExpiresAt - Date.now()) / 60_000));
    details.push(t('product.keyValidFor', minutes, { when: formatWhen(product.keyExpiresAt) }));
  }
  if (details.length) row.append(h('p', { class: 'product-detail' }, details.join(' ')));

  if (product.error && product.state !== 'confirm-replace') {
    row.append(
      h(
        'p',
        { class: 'product-error', 'data-code': product.error.code },
        labelled(t('error.whatHappened'), product.error.message),
      ),
    );
    const next = NEXT_STEP_KEYS[product.error.nextStep];
    // In the fallback state the key box below is the next step.
    if (next && product.state !== 'fallback')
      row.append(
        h(
          'p',
          { class: 'product-next', 'data-next-step': product.error.nextStep },
          labelled(t('error.nextStepLabel'), richText(t(next))),
        ),
      );
  }

  if (product.reactivationPendingUntil) {
    row.append(
      h(
        'p',
        { class: 'reactivation-pending', 'data-until': product.reactivationPendingUntil },
        t('product.waitingForNewKey', { product: product.name }),
        ' ',
        link(state.activateUrl, t('action.getNewKey'), 'activate', code),
      ),
    );
  }

  const actions = h('div', { class: 'actions' });
  if (product.state === 'confirm-key') {
    row.append(
      h(
        'p',
        { class: 'confirm-question', 'data-question': 'confirm-key' },
        code === null ? t('confirmKey.questionUnnamed') : t('confirmKey.questionNamed', { product: product.name }),
      ),
      h('p', { class: 'confirm-why' }, t('confirmKey.why')),
    );
    actions.append(
      button(t('confirmKey.yes'), 'confirm-key', code, handlers, true),
      button(t('confirmKey.no'), 'ignore-key', code, handlers),
    );
  }
  if (product.state === 'confirm-replace') {
    row.append(
      h(
        'p',
        { class: 'confirm-question', 'data-question': 'confirm-replace' },
        t('confirmReplace.question', { product: product.name }),
      ),
    );
    actions.append(
      button(t('confirmReplace.yes'), 'confirm-replace', code, handlers, true),
      button(t('confirmReplace.no'), 'cancel-replace', code, handlers),
    );
  }

  if (product.state === 'fallback' && product.key) {
    const keyId = `key-${code ?? 'unknown'}`;
    row.append(
      h('p', {}, t('fallback.explain')),
      h('pre', { class: 'command' }, h('code', { class: 'fallback-command' }, COMMANDS.activate(code))),
      h(
        'div',
        { class: 'key-box' },
        h('span', { class: 'label', id: `${keyId}-label` }, t('fallback.keyLabel')),
        // Focusable and read as a read-only field, so it can be reached and selected without a mouse.
        h(
          'code',
          {
            class: 'fallback-key',
            id: keyId,
            tabindex: '0',
            role: 'textbox',
            'aria-readonly': 'true',
            'aria-labelledby': `${keyId}-label`,
            'data-focus': `key:${code ?? UNKNOWN_PRODUCT_ATTR}`,
          },
          product.key,
        ),
        button(t('fallback.copy'), 'copy-key', code, handlers, true),
        h('span', { class: 'copy-result', role: 'status' }),
      ),
    );
    if (state.host.reason === 'not-installed' || product.error?.nextStep === 'install')
      row.append(h('p', {}, t('fallback.orInstall')));
  }

  if ((product.state === 'failed' || product.state === 'fallback') && product.keyHeld)
    actions.append(button(t('action.retry'), 'retry', code, handlers, product.state === 'failed'));
  if (product.state === 'failed' || product.state === 'fallback')
    actions.append(button(t('action.dismiss'), 'dismiss', code, handlers));
  if (actions.childElementCount) row.append(actions);

  const links = h('p', { class: 'links' });
  const wantsNewKey =
    product.error?.nextStep === 'new-key' || product.state === 'unreadable' || product.state === 'not-activated';
  links.append(link(state.activateUrl, t('action.getNewKey'), 'activate', code));
  if (wantsNewKey) links.firstElementChild?.classList.add('emphasis');
  if (product.homepage) links.append(' ', link(product.homepage, t('action.productPage'), 'homepage', code));
  row.append(links);
  return row;
}

function hostSection(state: PopupState, handlers: ViewHandlers, refreshing: boolean): HTMLElement {
  const { host } = state;
  const text =
    host.state === 'reachable'
      ? host.version
        ? t('host.state.reachableVersion', { version: host.version })
        : t('host.state.reachable')
      : t(HOST_STATE_KEYS[host.state]);
  const route = host.state === 'reachable' ? host.route : null;
  const section = h(
    'section',
    {
      id: 'host',
      'data-state': host.state,
      'data-version': host.version ?? undefined,
      'data-route': route ?? undefined,
      'aria-labelledby': 'host-heading',
    },
    h('h2', { id: 'host-heading' }, t('host.heading')),
    h('p', { id: 'host-status' }, h('strong', {}, text)),
  );
  if (route)
    section.append(
      h(
        'p',
        { id: 'host-route', 'data-route': route },
        richText(t(route === 'native' ? 'host.route.native' : 'host.route.loopback')),
      ),
    );
  if (host.state === 'unreachable' && host.reason) {
    section.append(h('p', { id: 'host-reason', 'data-reason': host.reason }, t(HOST_UNAVAILABLE_KEYS[host.reason])));
    if (
      host.reason === 'not-installed' ||
      host.reason === 'exited' ||
      host.reason === 'failed-to-start' ||
      host.reason === 'forbidden'
    ) {
      section.append(
        h('p', {}, t('host.installHelp')),
        h('pre', { class: 'command' }, h('code', { class: 'install-command' }, COMMANDS.install)),
        h('p', { id: 'sandbox-help' }, richText(t('host.sandboxHelp'))),
      );
    }
  }
  const refresh = h(
    'button',
    { type: 'button', id: 'refresh', 'data-focus': 'refresh' },
    refreshing ? t('popup.refreshing') : t('popup.refresh'),
  );
  if (refreshing) refresh.setAttribute('aria-busy', 'true');
  refresh.addEventListener('click', () => handlers.refresh());
  section.append(refresh);
  return section;
}

/** One line per product whose state changed (every product when the popup opens), for the screen reader's live region. */
export function describeChanges(before: PopupState | null, after: PopupState): string {
  const previous = new Map(before?.products.map((p) => [p.code, p.state]));
  return after.products
    .filter((p) => before === null || previous.get(p.code) !== p.state)
    .map((p) => t('product.changed', { product: p.name, state: t(PRODUCT_STATE_KEYS[p.state]) }))
    .join(' ');
}

/** Replaces the popup's content, keeping keyboard focus on the same control. */
export function renderPopup(
  root: HTMLElement,
  state: PopupState,
  handlers: ViewHandlers,
  refreshing = false,
  extraSections?: Node[],
): void {
  const focused = document.activeElement instanceof HTMLElement ? document.activeElement.dataset.focus : undefined;
  document.title = t('popup.title', { vendor: state.vendorName });
  const children: Node[] = [h('h1', { id: 'title' }, document.title)];
  if (state.notice) {
    children.push(
      h(
        'p',
        { id: 'notice', 'data-kind': state.notice.kind, role: 'alert' },
        labelled(t('popup.note'), richText(t(NOTICE_KEYS[state.notice.kind]))),
      ),
    );
  }
  if (extraSections) children.push(...extraSections);
  children.push(
    h(
      'ul',
      { id: 'products', 'aria-label': t('popup.products') },
      ...state.products.map((p) => productRow(p, state, handlers)),
    ),
  );
  children.push(hostSection(state, handlers, refreshing));
  root.replaceChildren(...children);
  root.dataset.loaded = 'true';
  if (focused) {
    const again = Array.from(root.querySelectorAll<HTMLElement>('[data-focus]')).find(
      (el) => el.dataset.focus === focused,
    );
    again?.focus();
  }
}
