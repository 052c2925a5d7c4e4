/**
 * Runs in every frame of the configured key and redirect pages. Finds the key in
 * a confirmation frame, or reads it from a redirect URL, and tells the background
 * through the extension's own channel: never window.postMessage, never the page's
 * scripts, nothing written into the page.
 */
import { browser } from 'wxt/browser';
import { createFramePolicy } from '../lib/frame-policy.ts';
import { watchForKey } from '../lib/key-finder.ts';
import { readRedirectParams } from '../lib/redirect-params.ts';
import type { ContentMessage } from '../lib/runtime-messages.ts';

export default defineContentScript({
  // Replaced at build time by the vendor configuration's key and redirect pages (wxt.config.ts).
  matches: ['https://aws-portal.amazon.com/gp/aws/user/subscription/*'],
  allFrames: true,
  runAt: 'document_idle',
  // WXT's `ctx` is not used: a page can dispatch the DOM event that invalidates it, which would let a
  // page switch capture off. The watch ends by its own budget; a stale script's send fails quietly.
  main() {
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
      watchForKey(
        document,
        (result) => {
          if (result.found) send({ type: 'devpay:key-found', key: result.key, capturedAt: Date.now() });
          else if (result.reason === 'ambiguous') send({ type: 'devpay:key-not-taken', reason: 'ambiguous', capturedAt: Date.now() });
        },
      );
    }
  },
});
