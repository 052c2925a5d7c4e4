/**
 * The capture script: runs in every frame of the configured key and redirect
 * pages. Finds the key in a confirmation frame, or reads it from a redirect URL,
 * and tells the background through the extension's own channel.
 *
 * Built as an unlisted script and declared in the manifest by wxt.config.ts,
 * not as a WXT content script: WXT's content-script wrapper announces itself
 * to the page (a window message, a DOM event), and a page that hears it knows
 * the extension is there. This script dispatches nothing into the page and
 * writes nothing to it (test/capture-build.test.ts, test/capture-trace.test.ts).
 */
import { browser } from 'wxt/browser';
import { createFramePolicy } from '../lib/frame-policy.ts';
import { watchForKey, type ShadowRootOf } from '../lib/key-finder.ts';
import { readRedirectParams } from '../lib/redirect-params.ts';
import type { ContentMessage } from '../lib/runtime-messages.ts';

/** Closed shadow roots too: Chromium gives extensions chrome.dom, Firefox gives the element's own property. */
function shadowRootAccess(): ShadowRootOf {
  const dom = (globalThis as { chrome?: { dom?: { openOrClosedShadowRoot?: (el: HTMLElement) => ShadowRoot | null } } })
    .chrome?.dom;
  if (typeof dom?.openOrClosedShadowRoot === 'function') {
    const open = dom.openOrClosedShadowRoot.bind(dom);
    return (el) => open(el as HTMLElement) ?? null;
  }
  return (el) =>
    (el as Element & { openOrClosedShadowRoot?: ShadowRoot | null }).openOrClosedShadowRoot ?? el.shadowRoot;
}

export default defineUnlistedScript(() => {
  const config = __DEVPAY_EXTENSION_CONFIG__;
  const role = createFramePolicy(config)({ url: location.href, origin: window.origin });
  if (!role) return;

  const send = (message: ContentMessage) => {
    if (browser.runtime?.id) browser.runtime.sendMessage(message).catch(() => {});
  };

  if (role.redirectPage) {
    const params = readRedirectParams(location.href);
    if (params.ok) {
      send({
        type: 'devpay:key-found',
        key: params.key,
        capturedAt: Date.now(),
        ...(params.productCode ? { productCode: params.productCode } : {}),
      });
    }
  }

  if (role.keyPage) {
    // The watch ends by its own budget; a stale script's send fails quietly.
    watchForKey(
      document,
      (result) => {
        if (result.found) send({ type: 'devpay:key-found', key: result.key, capturedAt: Date.now() });
        else if (result.reason === 'ambiguous')
          send({ type: 'devpay:key-not-taken', reason: 'ambiguous', capturedAt: Date.now() });
      },
      { shadowRootOf: shadowRootAccess() },
    );
  }
});
