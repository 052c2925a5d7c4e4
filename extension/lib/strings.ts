/**
 * Every English string the extension shows, in one place for translation.
 * Functions take only non-secret values (product names, codes, versions, dates):
 * no string here ever holds an activation key.
 */
import type { HostRoute, KeyRoute, NextStep } from './runtime-messages.ts';

export const STRINGS = {
  popupTitle: (vendorName: string) => `${vendorName} activation`,
  refresh: 'Check again',
  refreshing: 'Checking…',

  hostHeading: 'Companion app',
  hostState: {
    unknown: 'Not checked yet.',
    checking: 'Checking…',
    reachable: (version: string | null) => (version ? `Installed and reachable (version ${version}).` : 'Installed and reachable.'),
    unreachable: 'Not reachable.',
  },
  hostUnavailable: {
    'not-installed': 'The companion app is not installed for this browser.',
    forbidden: 'The companion app is installed but does not accept this browser extension.',
    exited: 'The companion app stopped without answering.',
    timeout: 'The companion app did not answer in time.',
    'protocol-mismatch': 'The companion app speaks a different protocol version.',
    'bad-reply': 'The companion app gave an answer this extension cannot use.',
    'failed-to-start': 'The browser could not start the companion app.',
  },
  installHelp: 'To install it, run this in a terminal, then choose Retry:',
  installCommand: 'devpay-companion install',
  sandboxHelp: 'If this browser cannot start programs (Snap or Flatpak Chromium), keep `devpay-companion serve` running instead, then choose Retry.',

  // Which way the key went: said in words, next to the state.
  routeLabel: 'How the key went:',
  keyRoute: {
    native: 'native messaging (the browser started the companion app).',
    loopback: 'the loopback channel (`devpay-companion serve`).',
    paste: 'copy and paste (fallback): the key could not be handed over directly.',
  } satisfies Record<KeyRoute, string>,
  hostRoute: {
    native: 'Reached through native messaging.',
    loopback: 'Reached through the loopback channel (`devpay-companion serve`).',
  } satisfies Record<HostRoute, string>,

  productState: {
    'not-activated': 'Not activated',
    activated: 'Activated',
    unreadable: 'Needs reactivation: the stored credentials cannot be read',
    unknown: 'Not known yet: the companion app has not answered',
    'in-progress': 'Activating…',
    failed: 'Activation failed',
    'confirm-key': 'Waiting for you: use the activation key a page gave?',
    'confirm-replace': 'Waiting for you: replace the credentials?',
    fallback: 'Waiting for you: paste the key into the companion app',
  },
  unknownProductName: 'Product not yet known',
  activatedOn: (when: string) => `Activated on ${when}.`,
  accessKeyIdIs: (masked: string) => `Access Key ID ${masked}.`,
  keyExpiresAt: (when: string) => `The key on this page is valid until ${when}.`,

  confirmKeyQuestion: (name: string | null) =>
    name
      ? `A page gave an activation key for ${name}. Use it only if you just bought or reactivated ${name} yourself.`
      : 'A page gave an activation key. Use it only if you just bought or reactivated one of these products yourself.',
  confirmKeyWhy: 'Anyone can make a link that carries their own key: activating with it would send this product’s data to their account.',
  confirmKey: 'Activate',
  ignoreKey: 'Ignore',

  confirmReplaceQuestion: (name: string) =>
    `${name} is already activated on this computer. A page gave a new activation key. Replace the current credentials with ones for this key? Only do this if you just bought or reactivated ${name} yourself.`,
  confirmReplace: 'Replace credentials',
  cancelReplace: 'Keep current credentials',

  fallbackExplain: 'Copy the key and paste it when this command asks for it:',
  fallbackOrInstall: 'Or install the companion app (see "Companion app" below), then choose Retry.',
  copyKey: 'Copy key',
  copied: 'Copied.',
  copyFailed: 'Could not copy: select the key and copy it by hand.',
  activateCommand: (code: string | null) => (code ? `devpay-companion activate --product ${code}` : 'devpay-companion activate'),

  retry: 'Retry',
  dismiss: 'Dismiss',
  getNewKey: 'Get a new activation key',
  waitingForNewKey: (name: string) => `Waiting for a new key for ${name}: your desktop product asked for one. Get it on the activate page; it will be used without asking again.`,
  productPage: 'Product page',
  whatHappened: 'What happened:',
  nextStepLabel: 'What to do:',

  nextStep: {
    'new-key': 'Get a new activation key from the activate page, then open it in this browser.',
    retry: 'Choose Retry. If it keeps failing, run `devpay-companion doctor`.',
    install: 'Install the companion app (`devpay-companion install`), then choose Retry. Or copy the key and paste it when `devpay-companion activate` asks for it.',
    update: 'Update the companion app and this extension to matching versions. Or copy the key and paste it when `devpay-companion activate` asks for it.',
    unlock: 'Unlock your keychain (log in to your desktop session), then choose Retry.',
    doctor: 'Run `devpay-companion doctor` to see what is missing, then choose Retry.',
    'contact-vendor': 'This is a problem with the vendor’s setup. Contact the vendor’s support.',
    confirm: 'Choose whether to replace the current credentials.',
    none: '',
  } satisfies Record<NextStep, string>,

  // Failures that happen in the extension rather than in the host.
  localError: {
    keyExpired: 'The activation key is over an hour old and no longer valid.',
    timeout: 'The companion app did not answer in time. The activation may or may not have finished.',
    badReply: 'The companion app gave an answer this extension cannot use.',
    interrupted: 'The browser stopped the activation before it finished.',
    unavailable: 'The companion app could not be reached.',
  },

  notice: {
    ambiguous: 'A page showed two different activation keys, so none was taken. Copy the right key by hand and paste it into `devpay-companion activate`.',
    mismatch: 'The two parts of the confirmation page showed different keys, so the product code was not used.',
    'unknown-product': 'A page gave a key for a product this companion does not manage. It was not used.',
  },

  badge: {
    activated: (name: string) => `${name} activated`,
    attention: (name: string) => `${name}: action needed. Open to see what to do.`,
    inProgress: (name: string) => `Activating ${name}…`,
    idle: 'Activation companion',
  },
  notification: {
    activatedTitle: (name: string) => `${name} activated`,
    activatedBody: (name: string) => `${name} can now be used on this computer. Its credentials are stored encrypted.`,
    attentionTitle: (name: string) => `${name}: action needed`,
    confirmKeyBody: 'A page gave an activation key. Open the toolbar button: use it only if you just bought or reactivated this product yourself.',
    confirmBody: 'It is already activated. Open the toolbar button to confirm or keep the current credentials.',
    fallbackBody: 'The companion app could not be reached. Open the toolbar button to copy the key.',
    failedBody: (message: string) => `${message} Open the toolbar button to see what to do.`,
  },
} as const;

/** A date for people, in their locale. */
export function formatWhen(value: string | number): string {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}
