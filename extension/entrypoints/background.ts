/**
 * The background service worker: wires the browser's APIs to the parts in lib/.
 * Takes keys only from its own content scripts on allowed pages (checked on the
 * sender), pairs the two frames of a confirmation page (key-pairing.ts), and
 * lets the activation controller (activation/controller.ts) hand them to the
 * host, native messaging first, then the loopback channel (fallback-transport.ts).
 * Answers the popup; wakes on alarms to drop held keys whose hour is over.
 */
import * as v from 'valibot';
import { browser } from 'wxt/browser';
import { BADGE_COLOURS } from '../lib/activation/badge.ts';
import { ActivationController } from '../lib/activation/controller.ts';
import { FallbackTransport } from '../lib/fallback-transport.ts';
import { NativeHostTransport } from '../lib/host-transport.ts';
import { createLoopbackTransport } from '../lib/loopback-transport.ts';
import { KeyPairing } from '../lib/key-pairing.ts';
import { PopupRequestSchema, type PopupState } from '../lib/runtime-messages.ts';
import { checkContentMessage, createSenderCheck, type SenderLike } from '../lib/sender-check.ts';
import { siteAccessBadge, siteAccessOrigins, watchSiteAccess } from '../lib/site-access.ts';
import { STRINGS } from '../lib/strings.ts';

export default defineBackground(() => {
  const config = __DEVPAY_EXTENSION_CONFIG__;
  const client = `devpay-extension/${browser.runtime.getManifest().version}`;
  const action = browser.action;
  const icons = browser.runtime.getManifest().icons ?? {};
  const iconUrl = browser.runtime.getURL('/') + (icons['128'] ?? icons['48'] ?? 'icon/128.png').replace(/^\//, '');

  const newId = () => crypto.randomUUID();
  const transport = new FallbackTransport({
    native: new NativeHostTransport({
      connect: () => browser.runtime.connectNative(config.nativeHostName),
      lastErrorMessage: () => browser.runtime.lastError?.message,
      newId,
      client,
    }),
    // For browsers that cannot start native hosts (Snap, Flatpak): `devpay-companion serve` on the configured port.
    // (Firefox's extension origins cannot be verified by the host, which refuses them: Firefox ends in the fallback.)
    loopback: createLoopbackTransport({ port: config.loopbackPort, newId, client, storage: browser.storage.local }),
  });

  // Without access to the key pages the content script never runs: the badge says so (the popup offers the fix).
  const badge = siteAccessBadge(async (text, title) => {
    await Promise.all([
      action.setBadgeText({ text }),
      action.setTitle({ title }),
      text ? action.setBadgeBackgroundColor({ color: BADGE_COLOURS[text] }) : Promise.resolve(),
    ]).catch(() => {});
  }, STRINGS.siteAccess.badgeTitle);
  watchSiteAccess(browser.permissions, siteAccessOrigins(config), (access) => void badge.setAccess(access));

  const controller = new ActivationController({
    vendorName: config.vendorName,
    activateUrl: config.activateUrl,
    products: config.products,
    transport,
    session: browser.storage.session,
    client,
    alarms: {
      set: (name, when) => browser.alarms.create(name, { when }),
      clear: async (name) => void (await browser.alarms.clear(name)),
    },
    ui: {
      setBadge: (text, title) => badge.setBadge(text, title),
      async notify(id, title, message) {
        await browser.notifications.create(id, { type: 'basic', iconUrl, title, message }).catch(() => {});
      },
      stateChanged() {
        // Extension pages only (the popup); content scripts never receive runtime broadcasts.
        browser.runtime.sendMessage({ type: 'devpay:state-changed' }).catch(() => {});
      },
    },
  });

  const checkSender = createSenderCheck({
    extensionId: browser.runtime.id,
    extensionBaseUrl: browser.runtime.getURL('/'),
    keyPages: config.keyPages,
    redirectPages: config.redirectPages,
  });

  const pairing = new KeyPairing({
    onKey: (key) => void controller.acceptKey(key),
    onMismatch: () => controller.noteNotice('mismatch'),
    now: Date.now,
    setTimer: (fn, ms) => setTimeout(fn, ms),
    clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  });
  browser.tabs.onRemoved.addListener((tabId) => pairing.forgetTab(tabId));
  // Registered synchronously: the alarm is what wakes a stopped worker at a key's expiry.
  browser.alarms.onAlarm.addListener((alarm) => void controller.handleAlarm(alarm.name));

  async function answerPopup(message: unknown): Promise<PopupState | undefined> {
    const parsed = v.safeParse(PopupRequestSchema, message);
    if (!parsed.success) return undefined;
    const request = parsed.output;
    switch (request.type) {
      case 'popup:open':
        void controller.refreshHost();
        break;
      case 'popup:refresh':
        await controller.refreshHost();
        break;
      case 'popup:retry':
        void controller.retry(request.product);
        break;
      case 'popup:confirm-replace':
        void controller.confirmReplace(request.product);
        break;
      case 'popup:cancel-replace':
        await controller.cancelReplace(request.product);
        break;
      case 'popup:confirm-key':
        void controller.confirmKey(request.product);
        break;
      case 'popup:ignore-key':
        await controller.ignoreKey(request.product);
        break;
      case 'popup:dismiss':
        await controller.dismiss(request.product);
        break;
      case 'popup:get-state':
        break;
    }
    // Let a just-started activation show as in progress.
    await Promise.resolve();
    return controller.snapshot();
  }

  // Registered synchronously so a stopped service worker wakes for these messages.
  // The polyfill answers the popup with the value of the promise the listener returns.
  // oxlint-disable-next-line typescript/no-misused-promises
  browser.runtime.onMessage.addListener((message: unknown, sender: SenderLike) => {
    const role = checkSender(sender);
    if (role.kind === 'extension-page') return answerPopup(message);
    if (role.kind !== 'page') return undefined;
    const verdict = checkContentMessage(message, role, Date.now());
    if (verdict.kind === 'key') pairing.offer(verdict.accepted);
    else if (verdict.kind === 'not-taken') controller.noteNotice('ambiguous');
    // Pages learn nothing back.
    return undefined;
  });
});
