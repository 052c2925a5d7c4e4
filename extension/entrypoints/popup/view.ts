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
import { STRINGS, formatWhen } from '../../lib/strings.ts';

export type PopupAction = 'retry' | 'confirm-key' | 'ignore-key' | 'confirm-replace' | 'cancel-replace' | 'copy-key' | 'dismiss';

export interface ViewHandlers {
  action(action: PopupAction, product: string | null, button: HTMLButtonElement): void;
  refresh(): void;
}

/** `*` stands for "the product is not known yet" in data attributes. */
export const UNKNOWN_PRODUCT_ATTR = '*';

type Child = Node | string | null | undefined | false;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) el.setAttribute(name, value);
  for (const child of children) if (child) el.append(child);
  return el;
}

function button(label: string, action: PopupAction, product: string | null, handlers: ViewHandlers, primary = false): HTMLButtonElement {
  const el = h('button', {
    type: 'button',
    'data-action': action,
    'data-focus': `${product ?? UNKNOWN_PRODUCT_ATTR}:${action}`,
    class: primary ? 'primary' : undefined,
  }, label);
  el.addEventListener('click', () => handlers.action(action, product, el));
  return el;
}

function link(href: string, label: string, kind: string): HTMLAnchorElement {
  return h('a', { href, target: '_blank', rel: 'noopener noreferrer', 'data-link': kind, 'data-focus': `link:${kind}:${href}` }, label);
}

/** Text with `inline code` shown as code. */
function richText(text: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  text.split(/(`[^`]+`)/).forEach((part) => {
    if (part.startsWith('`') && part.endsWith('`') && part.length > 2) fragment.append(h('code', {}, part.slice(1, -1)));
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
    h('p', { class: 'product-state' }, h('strong', {}, STRINGS.productState[product.state])),
  );
  if (product.route) {
    row.append(
      h('p', { class: 'product-route', 'data-route': product.route }, h('span', { class: 'label' }, STRINGS.routeLabel + ' '), richText(STRINGS.keyRoute[product.route])),
    );
  }

  const details: string[] = [];
  const activatedNow = product.state === 'activated' || product.state === 'confirm-replace';
  if (product.activatedAt && activatedNow) details.push(STRINGS.activatedOn(formatWhen(product.activatedAt)));
  if (product.accessKeyId && product.state === 'activated') details.push(STRINGS.accessKeyIdIs(product.accessKeyId));
  if (product.keyHeld && product.keyExpiresAt) details.push(STRINGS.keyExpiresAt(formatWhen(product.keyExpiresAt)));
  if (details.length) row.append(h('p', { class: 'product-detail' }, details.join(' ')));

  if (product.error && product.state !== 'confirm-replace') {
    row.append(
      h('p', { class: 'product-error', 'data-code': product.error.code }, h('span', { class: 'label' }, STRINGS.whatHappened + ' '), product.error.message),
    );
    const next = STRINGS.nextStep[product.error.nextStep];
    // In the fallback state the key box below is the next step.
    if (next && product.state !== 'fallback') row.append(h('p', { class: 'product-next', 'data-next-step': product.error.nextStep }, h('span', { class: 'label' }, STRINGS.nextStepLabel + ' '), richText(next)));
  }

  if (product.reactivationPendingUntil) {
    row.append(h('p', { class: 'reactivation-pending', 'data-until': product.reactivationPendingUntil }, STRINGS.waitingForNewKey(product.name), ' ', link(state.activateUrl, STRINGS.getNewKey, 'activate')));
  }

  const actions = h('div', { class: 'actions' });
  if (product.state === 'confirm-key') {
    row.append(
      h('p', { class: 'confirm-question', 'data-question': 'confirm-key' }, STRINGS.confirmKeyQuestion(code === null ? null : product.name)),
      h('p', { class: 'confirm-why' }, STRINGS.confirmKeyWhy),
    );
    actions.append(button(STRINGS.confirmKey, 'confirm-key', code, handlers, true), button(STRINGS.ignoreKey, 'ignore-key', code, handlers));
  }
  if (product.state === 'confirm-replace') {
    row.append(h('p', { class: 'confirm-question', 'data-question': 'confirm-replace' }, STRINGS.confirmReplaceQuestion(product.name)));
    actions.append(button(STRINGS.confirmReplace, 'confirm-replace', code, handlers, true), button(STRINGS.cancelReplace, 'cancel-replace', code, handlers));
  }

  if (product.state === 'fallback' && product.key) {
    const keyId = `key-${code ?? 'unknown'}`;
    row.append(
      h('p', {}, STRINGS.fallbackExplain),
      h('pre', { class: 'command' }, h('code', { class: 'fallback-command' }, STRINGS.activateCommand(code))),
      h(
        'div',
        { class: 'key-box' },
        h('code', { class: 'fallback-key', id: keyId, tabindex: '0', 'aria-label': 'Activation key' }, product.key),
        button(STRINGS.copyKey, 'copy-key', code, handlers, true),
        h('span', { class: 'copy-result', role: 'status' }),
      ),
    );
    if (state.host.reason === 'not-installed' || product.error?.nextStep === 'install') row.append(h('p', {}, STRINGS.fallbackOrInstall));
  }

  if ((product.state === 'failed' || product.state === 'fallback') && product.keyHeld) actions.append(button(STRINGS.retry, 'retry', code, handlers, product.state === 'failed'));
  if (product.state === 'failed' || product.state === 'fallback') actions.append(button(STRINGS.dismiss, 'dismiss', code, handlers));
  if (actions.childElementCount) row.append(actions);

  const links = h('p', { class: 'links' });
  const wantsNewKey = product.error?.nextStep === 'new-key' || product.state === 'unreadable' || product.state === 'not-activated';
  links.append(link(state.activateUrl, STRINGS.getNewKey, 'activate'));
  if (wantsNewKey) links.firstElementChild?.classList.add('emphasis');
  if (product.homepage) links.append(' ', link(product.homepage, STRINGS.productPage, 'homepage'));
  row.append(links);
  return row;
}

function hostSection(state: PopupState, handlers: ViewHandlers, refreshing: boolean): HTMLElement {
  const { host } = state;
  const text =
    host.state === 'reachable' ? STRINGS.hostState.reachable(host.version) : STRINGS.hostState[host.state];
  const route = host.state === 'reachable' ? host.route : null;
  const section = h(
    'section',
    { id: 'host', 'data-state': host.state, 'data-version': host.version ?? undefined, 'data-route': route ?? undefined, 'aria-labelledby': 'host-heading' },
    h('h2', { id: 'host-heading' }, STRINGS.hostHeading),
    h('p', { id: 'host-status' }, h('strong', {}, text)),
  );
  if (route) section.append(h('p', { id: 'host-route', 'data-route': route }, richText(STRINGS.hostRoute[route])));
  if (host.state === 'unreachable' && host.reason) {
    section.append(h('p', { id: 'host-reason', 'data-reason': host.reason }, STRINGS.hostUnavailable[host.reason]));
    if (host.reason === 'not-installed' || host.reason === 'exited' || host.reason === 'failed-to-start' || host.reason === 'forbidden') {
      section.append(
        h('p', {}, STRINGS.installHelp),
        h('pre', { class: 'command' }, h('code', { class: 'install-command' }, STRINGS.installCommand)),
        h('p', { id: 'sandbox-help' }, richText(STRINGS.sandboxHelp)),
      );
    }
  }
  const refresh = h('button', { type: 'button', id: 'refresh', 'data-focus': 'refresh' }, refreshing ? STRINGS.refreshing : STRINGS.refresh);
  if (refreshing) refresh.setAttribute('aria-busy', 'true');
  refresh.addEventListener('click', () => handlers.refresh());
  section.append(refresh);
  return section;
}

/** One line per product whose state changed, for the screen reader's live region. */
export function describeChanges(before: PopupState | null, after: PopupState): string {
  const previous = new Map(before?.products.map((p) => [p.code, p.state]));
  return after.products
    .filter((p) => before !== null && previous.get(p.code) !== p.state)
    .map((p) => `${p.name}: ${STRINGS.productState[p.state]}.`)
    .join(' ');
}

/** Replaces the popup's content, keeping keyboard focus on the same control. */
export function renderPopup(root: HTMLElement, state: PopupState, handlers: ViewHandlers, refreshing = false): void {
  const focused = document.activeElement instanceof HTMLElement ? document.activeElement.dataset.focus : undefined;
  document.title = STRINGS.popupTitle(state.vendorName);
  const children: Node[] = [h('h1', { id: 'title' }, STRINGS.popupTitle(state.vendorName))];
  if (state.notice) children.push(h('p', { id: 'notice', 'data-kind': state.notice.kind, role: 'alert' }, richText(STRINGS.notice[state.notice.kind])));
  children.push(h('ul', { id: 'products', 'aria-label': 'Products' }, ...state.products.map((p) => productRow(p, state, handlers))));
  children.push(hostSection(state, handlers, refreshing));
  root.replaceChildren(...children);
  root.dataset.loaded = 'true';
  if (focused) {
    const again = Array.from(root.querySelectorAll<HTMLElement>('[data-focus]')).find((el) => el.dataset.focus === focused);
    again?.focus();
  }
}
