/**
 * The extension's texts, through the browser's i18n (`extension/locales/<lang>.yml`,
 * built into `_locales/<lang>/messages.json`). `t` is typed by the English file:
 * a key that does not exist, or a missing placeholder, does not compile.
 * Values passed in are never secret (product names, codes, versions, dates):
 * no text here ever holds an activation key.
 */
import { createI18n } from '@wxt-dev/i18n';
import type { GeneratedI18nStructure } from '../../.wxt/i18n/structure';
import type { HostUnavailableReason, KeyRoute, NextStep, NoticeKind, ProductState } from './runtime-messages.ts';

export const { t } = createI18n<GeneratedI18nStructure>();
export type MessageKey = keyof GeneratedI18nStructure;
/** Keys of messages without placeholders: these can sit in lookup tables. */
type PlainKey = {
  [K in MessageKey]: GeneratedI18nStructure[K] extends {
    substitutions: 0;
    plural: false;
    namedSubstitutions: readonly string[];
  }
    ? never
    : GeneratedI18nStructure[K] extends { substitutions: 0; plural: false }
      ? K
      : never;
}[MessageKey];
const plain = (key: PlainKey): string => t(key);

export const PRODUCT_STATE_KEYS = {
  'not-activated': 'state.notActivated',
  activated: 'state.activated',
  unreadable: 'state.unreadable',
  unknown: 'state.unknown',
  'in-progress': 'state.inProgress',
  failed: 'state.failed',
  'confirm-key': 'state.confirmKey',
  'confirm-replace': 'state.confirmReplace',
  fallback: 'state.fallback',
} as const satisfies Record<ProductState, PlainKey>;

export const HOST_UNAVAILABLE_KEYS = {
  'not-installed': 'host.unavailable.notInstalled',
  forbidden: 'host.unavailable.forbidden',
  exited: 'host.unavailable.exited',
  timeout: 'host.unavailable.timeout',
  'protocol-mismatch': 'host.unavailable.protocolMismatch',
  'bad-reply': 'host.unavailable.badReply',
  'failed-to-start': 'host.unavailable.failedToStart',
} as const satisfies Record<HostUnavailableReason, PlainKey>;

export const KEY_ROUTE_KEYS = {
  native: 'route.native',
  loopback: 'route.loopback',
  paste: 'route.paste',
} as const satisfies Record<KeyRoute, PlainKey>;

/** `none`: nothing to say. */
export const NEXT_STEP_KEYS = {
  'new-key': 'nextStep.newKey',
  retry: 'nextStep.retry',
  install: 'nextStep.install',
  update: 'nextStep.update',
  unlock: 'nextStep.unlock',
  doctor: 'nextStep.doctor',
  'contact-vendor': 'nextStep.contactVendor',
  confirm: 'nextStep.confirm',
  none: null,
} as const satisfies Record<NextStep, PlainKey | null>;

export const NOTICE_KEYS = {
  ambiguous: 'notice.ambiguous',
  mismatch: 'notice.mismatch',
  'unknown-product': 'notice.unknownProduct',
} as const satisfies Record<NoticeKind, PlainKey>;

/** Commands are typed by the customer as they are: never translated. */
export const COMMANDS = {
  install: 'devpay-companion install',
  activate: (code: string | null) =>
    code ? `devpay-companion activate --product ${code}` : 'devpay-companion activate',
} as const;

/** The texts the background (activation controller) puts in badges, notifications and stored errors. */
export const STRINGS = {
  get unknownProductName() {
    return plain('product.unknownName');
  },
  hostUnavailable: (reason: HostUnavailableReason) => plain(HOST_UNAVAILABLE_KEYS[reason]),
  localError: {
    get keyExpired() {
      return plain('localError.keyExpired');
    },
    get timeout() {
      return plain('localError.timeout');
    },
    get badReply() {
      return plain('localError.badReply');
    },
    get interrupted() {
      return plain('localError.interrupted');
    },
  },
  badge: {
    activated: (product: string) => t('badge.activated', { product }),
    attention: (product: string) => t('badge.attention', { product }),
    inProgress: (product: string) => t('badge.inProgress', { product }),
    get idle() {
      return plain('badge.idle');
    },
  },
  siteAccess: {
    get badgeTitle() {
      return plain('siteAccess.badgeTitle');
    },
  },
  notification: {
    activatedTitle: (product: string) => t('notification.activatedTitle', { product }),
    activatedBody: (product: string) => t('notification.activatedBody', { product }),
    attentionTitle: (product: string) => t('notification.attentionTitle', { product }),
    get confirmKeyBody() {
      return plain('notification.confirmKeyBody');
    },
    get confirmBody() {
      return plain('notification.confirmBody');
    },
    get fallbackBody() {
      return plain('notification.fallbackBody');
    },
    failedBody: (message: string) => t('notification.failedBody', { message }),
  },
};

/** A date for people, in the browser's language. */
export function formatWhen(value: string | number): string {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}
