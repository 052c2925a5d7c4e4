/**
 * Messages between the extension's own parts (content script, background,
 * popup). Every receiver validates with these schemas; who may send which
 * message is decided on the sender (see sender-check.ts), never on the message.
 */
import * as v from 'valibot';
import { ActivationKeySchema, RawActivationKeySchema } from '../../shared/activation-key.ts';
import { TimestampSchema } from '../../shared/messages.ts';
import { ProductCodeSchema } from '../../shared/product-code.ts';

// --- content script -> background ---

export const KeyFoundMessageSchema = v.strictObject({
  type: v.literal('devpay:key-found'),
  /** As seen on the page (already normalised by the content script; checked again). */
  key: RawActivationKeySchema,
  /** Only from a redirect page's URL; ignored from any other sender. */
  productCode: v.optional(ProductCodeSchema),
  capturedAt: TimestampSchema,
});

export const KeyNotTakenMessageSchema = v.strictObject({
  type: v.literal('devpay:key-not-taken'),
  reason: v.picklist(['ambiguous']),
  capturedAt: TimestampSchema,
});

export const ContentMessageSchema = v.variant('type', [KeyFoundMessageSchema, KeyNotTakenMessageSchema]);
export type KeyFoundMessage = v.InferOutput<typeof KeyFoundMessageSchema>;
export type ContentMessage = v.InferOutput<typeof ContentMessageSchema>;

// --- popup -> background ---

/** `null` addresses the activation whose product is not known yet. */
export const ProductSlotSchema = v.nullable(ProductCodeSchema);

export const PopupRequestSchema = v.variant('type', [
  /** Current state; also starts a fresh check of the host. */
  v.strictObject({ type: v.literal('popup:open') }),
  v.strictObject({ type: v.literal('popup:get-state') }),
  v.strictObject({ type: v.literal('popup:refresh') }),
  v.strictObject({ type: v.literal('popup:retry'), product: ProductSlotSchema }),
  v.strictObject({ type: v.literal('popup:confirm-replace'), product: ProductSlotSchema }),
  v.strictObject({ type: v.literal('popup:cancel-replace'), product: ProductSlotSchema }),
  /** A key only a link (the vendor's redirect URL) gave: use it, or forget it. */
  v.strictObject({ type: v.literal('popup:confirm-key'), product: ProductSlotSchema }),
  v.strictObject({ type: v.literal('popup:ignore-key'), product: ProductSlotSchema }),
  v.strictObject({ type: v.literal('popup:dismiss'), product: ProductSlotSchema }),
]);
export type PopupRequest = v.InferOutput<typeof PopupRequestSchema>;

// --- background -> popup ---

export const HOST_UNAVAILABLE_REASONS = [
  'not-installed',
  'forbidden',
  'exited',
  'timeout',
  'protocol-mismatch',
  'bad-reply',
  'failed-to-start',
] as const;
export type HostUnavailableReason = (typeof HOST_UNAVAILABLE_REASONS)[number];

/** The ways to the host: native messaging, or the loopback WebSocket of `devpay-companion serve`. */
export const HOST_ROUTES = ['native', 'loopback'] as const;
export type HostRoute = (typeof HOST_ROUTES)[number];
/** The ways a key goes to the host: one of the above, or the customer's copy and paste (the fallback). */
export const KEY_ROUTES = [...HOST_ROUTES, 'paste'] as const;
export type KeyRoute = (typeof KEY_ROUTES)[number];

export const NEXT_STEPS = [
  'new-key',
  'retry',
  'install',
  'update',
  'unlock',
  'doctor',
  'contact-vendor',
  'confirm',
  'none',
] as const;
export type NextStep = (typeof NEXT_STEPS)[number];

export const PRODUCT_STATES = [
  'not-activated',
  'activated',
  'unreadable',
  'unknown',
  'in-progress',
  'failed',
  /** A key only a link gave (anyone can craft one): waiting for the customer to say it is theirs. */
  'confirm-key',
  'confirm-replace',
  'fallback',
] as const;
export type ProductState = (typeof PRODUCT_STATES)[number];

/** Host messages longer than this are clipped before they are kept or shown. */
export const MAX_ERROR_MESSAGE_LENGTH = 500;

export const AttemptErrorSchema = v.strictObject({
  /** A host ERROR_CODE, or one of the extension's own (KEY_EXPIRED_LOCAL, HOST_TIMEOUT, ...). */
  code: v.pipe(v.string(), v.maxLength(64)),
  message: v.pipe(v.string(), v.maxLength(MAX_ERROR_MESSAGE_LENGTH)),
  nextStep: v.picklist(NEXT_STEPS),
});
export type AttemptError = v.InferOutput<typeof AttemptErrorSchema>;

export const ProductViewSchema = v.strictObject({
  code: ProductSlotSchema,
  name: v.string(),
  homepage: v.nullable(v.string()),
  state: v.picklist(PRODUCT_STATES),
  activatedAt: v.nullable(v.string()),
  accessKeyId: v.nullable(v.string()),
  error: v.nullable(AttemptErrorSchema),
  /** An activation key is held for this product (Retry is possible). */
  keyHeld: v.boolean(),
  keyExpiresAt: v.nullable(TimestampSchema),
  /** Only in the `fallback` state, for the Copy button. */
  key: v.nullable(ActivationKeySchema),
  /** Which way this browser's last key for the product went, when known; `paste` in the fallback state. */
  route: v.nullable(v.picklist(KEY_ROUTES)),
  /** ISO-8601: the desktop product started a reactivation that waits for a new key until then. */
  reactivationPendingUntil: v.optional(v.nullable(v.string()), null),
});
export type ProductView = v.InferOutput<typeof ProductViewSchema>;

export const HostViewSchema = v.strictObject({
  state: v.picklist(['unknown', 'checking', 'reachable', 'unreachable']),
  version: v.nullable(v.string()),
  reason: v.nullable(v.picklist(HOST_UNAVAILABLE_REASONS)),
  /** Which way the host was last reached (null when it was not). */
  route: v.optional(v.nullable(v.picklist(HOST_ROUTES)), null),
});
export type HostView = v.InferOutput<typeof HostViewSchema>;

export const NOTICE_KINDS = ['ambiguous', 'mismatch', 'unknown-product'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];
export const NoticeSchema = v.strictObject({ kind: v.picklist(NOTICE_KINDS), at: TimestampSchema });
export type Notice = v.InferOutput<typeof NoticeSchema>;

export const PopupStateSchema = v.strictObject({
  type: v.literal('devpay:state'),
  vendorName: v.string(),
  activateUrl: v.string(),
  host: HostViewSchema,
  products: v.array(ProductViewSchema),
  notice: v.nullable(NoticeSchema),
});
export type PopupState = v.InferOutput<typeof PopupStateSchema>;

/** Broadcast to extension pages when the state changed; carries nothing, the popup asks again. */
export const StateChangedSchema = v.strictObject({ type: v.literal('devpay:state-changed') });
