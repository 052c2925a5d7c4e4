/**
 * The popup: asks the background for the state, draws it, and sends the
 * customer's choices back. Everything it receives is validated first.
 */
import * as v from 'valibot';
import { browser } from 'wxt/browser';
import {
  PopupStateSchema,
  StateChangedSchema,
  type PopupRequest,
  type PopupState,
} from '../../lib/runtime-messages.ts';
import { t } from '../../lib/strings.ts';
import { describeChanges, renderPopup, type PopupAction, type ViewHandlers } from './view.ts';
import { showSiteAccess } from './site-access-view.ts';
import { mountPairing } from './pairing.ts';
// oxlint-disable-next-line import/no-unassigned-import -- the stylesheet is imported for its effect: WXT bundles it
import './style.css';

const root = document.getElementById('app')!;
const live = document.getElementById('live')!;
// The page's language is the one its texts are in (the browser picks the locale).
document.documentElement.lang = t('popup.lang');
document.title = t('badge.idle');
root.replaceChildren(Object.assign(document.createElement('p'), { textContent: t('popup.loading') }));
const extensionBase = browser.runtime.getURL('/');
let last: PopupState | null = null;
let refreshing = false;

async function ask(request: PopupRequest): Promise<void> {
  let reply: unknown;
  try {
    reply = await browser.runtime.sendMessage(request);
  } catch {
    return;
  }
  const parsed = v.safeParse(PopupStateSchema, reply);
  if (parsed.success) show(parsed.output);
}

function show(state: PopupState): void {
  const changes = describeChanges(last, state);
  last = state;
  renderPopup(root, state, handlers, refreshing);
  // Announced once, from a region that is not redrawn.
  if (changes) live.textContent = changes;
}

async function copyKey(product: string | null, button: HTMLButtonElement): Promise<void> {
  const key = last?.products.find((p) => p.code === product)?.key;
  const result = button.parentElement?.querySelector<HTMLElement>('.copy-result');
  if (!key || !result) return;
  try {
    await navigator.clipboard.writeText(key);
    result.textContent = t('fallback.copied');
  } catch {
    // Select it so Ctrl+C works.
    const code = button.parentElement?.querySelector('.fallback-key');
    if (code) getSelection()?.selectAllChildren(code);
    result.textContent = t('fallback.copyFailed');
  }
}

const handlers: ViewHandlers = {
  action(action: PopupAction, product: string | null, button: HTMLButtonElement) {
    if (action === 'copy-key') {
      void copyKey(product, button);
      return;
    }
    button.disabled = true;
    void ask({ type: `popup:${action}`, product });
  },
  refresh() {
    refreshing = true;
    if (last) show(last);
    void ask({ type: 'popup:refresh' }).finally(() => {
      refreshing = false;
      if (last) show(last);
    });
  },
};

// The background says when something changed; only it (an extension page of ours) is listened to.
browser.runtime.onMessage.addListener((message: unknown, sender: { id?: string; url?: string }) => {
  if (sender.id !== browser.runtime.id || !sender.url?.startsWith(extensionBase)) return undefined;
  if (v.is(StateChangedSchema, message)) void ask({ type: 'popup:get-state' });
  return undefined;
});

void ask({ type: 'popup:open' });
void showSiteAccess(document.getElementById('site-access')!, document.getElementById('site-access-live'));

// Pairing for the loopback channel: its own section, outside the redrawn #app.
mountPairing(document.body, __DEVPAY_EXTENSION_CONFIG__.loopbackPort);
