/**
 * The protocol between the host and its callers (the extension, local programs):
 * requests, replies, error codes, the credentials-changed event. Both sides
 * validate every message on receipt against these schemas (strict objects: an
 * unknown field is an error, not something to ignore). Native messaging (stdio
 * frames) and the loopback WebSocket carry exactly these messages.
 */
import * as v from 'valibot';
import { RawActivationKeySchema } from './activation-key.ts';
import { ProductCodeSchema } from './product-code.ts';

export const PROTOCOL_VERSION = 1;
/** Native messaging caps host->browser at 1 MiB; we refuse more than this from the browser. */
export const MAX_INBOUND_MESSAGE_BYTES = 64 * 1024;
export const MAX_OUTBOUND_MESSAGE_BYTES = 1024 * 1024;

/**
 * Stable, append-only error codes. Never rename or reuse one: the extension and
 * vendors' desktop products switch on them.
 */
export const ERROR_CODES = [
  'BAD_MESSAGE', // not JSON, wrong shape, extra fields
  'UNKNOWN_TYPE', // a message type this host does not know
  'PROTOCOL_MISMATCH', // handshake with an unsupported protocol version
  'CALLER_NOT_ALLOWED', // the calling extension is not in the vendor configuration
  'MALFORMED_KEY', // not letters and digits, or too long: never sent
  'KEY_TOO_OLD', // captured over an hour ago: never sent
  'EXPIRED_KEY', // ExpiredActivationKey
  'INVALID_KEY', // InvalidActivationKey
  'INCORRECT_KEY', // IncorrectActivationKey: a key for another DevPay product
  'UNKNOWN_PRODUCT', // product code not in the vendor configuration
  'VENDOR_CONFIGURATION', // InvalidProductToken or a bad configuration
  'CLIENT_BUG', // MissingParameter, InvalidAction, NoSuchVersion, ...
  'SERVICE_UNAVAILABLE', // License Service down, throttled or unreachable after retries
  'SERVICE_UNTRUSTED', // certificate not trusted
  'SERVICE_BAD_ANSWER', // an answer we cannot use
  'ALREADY_ACTIVATED', // replacing credentials needs the customer's confirmation
  'KEYCHAIN_UNAVAILABLE', // no Secret Service / keychain
  'KEYCHAIN_LOCKED', // keychain locked
  'STORAGE_FAILED', // could not write the credentials file
  'CREDENTIALS_UNREADABLE', // file present but cannot be decrypted: reactivate
  'BUSY', // another activation is in progress
  'INTERNAL', // a bug
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const id = v.pipe(v.string(), v.minLength(1), v.maxLength(64));
/** Ms since the epoch. */
export const TimestampSchema = v.pipe(v.number(), v.integer(), v.minValue(0));
/** Where a key was seen: for the customer's record, never trusted for authorisation. */
export const PageUrlSchema = v.pipe(v.string(), v.maxLength(2048));

/**
 * Where the extension took a key: shown by a key page, or only carried by a
 * redirect URL (a link anyone can craft). The host decides what that allows
 * (a pending reactivation lifts the confirmation for key-page keys on the activate page only).
 */
export const KEY_SOURCES = ['key-page', 'redirect-url'] as const;
export type KeySource = (typeof KEY_SOURCES)[number];

// --- requests (extension or local program -> host) ---

export const HelloRequestSchema = v.strictObject({
  type: v.literal('hello'),
  id,
  protocol: v.pipe(v.number(), v.integer(), v.minValue(1)),
  client: v.optional(v.pipe(v.string(), v.maxLength(100))),
});

export const ActivateRequestSchema = v.strictObject({
  type: v.literal('activate'),
  id,
  /** Raw as captured; the host normalises and checks it before anything else. */
  key: RawActivationKeySchema,
  productCode: v.optional(ProductCodeSchema),
  /** The page the key came from. */
  pageUrl: v.optional(PageUrlSchema),
  /** When the key was seen, ms since the epoch. */
  capturedAt: TimestampSchema,
  /** Where the extension took the key; left out, it counts as neither. */
  keySource: v.optional(v.picklist(KEY_SOURCES)),
  /** The customer confirmed replacing existing credentials. */
  replace: v.optional(v.boolean(), false),
});

export const StatusRequestSchema = v.strictObject({
  type: v.literal('status'),
  id,
});

export const RequestSchema = v.variant('type', [HelloRequestSchema, ActivateRequestSchema, StatusRequestSchema]);
export const REQUEST_TYPES = ['hello', 'activate', 'status'] as const;

export type HelloRequest = v.InferOutput<typeof HelloRequestSchema>;
export type ActivateRequest = v.InferInput<typeof ActivateRequestSchema>;
export type StatusRequest = v.InferOutput<typeof StatusRequestSchema>;
export type Request = v.InferOutput<typeof RequestSchema>;

// --- replies (host -> caller); `id` echoes the request's ---

/** What the host can say about a product's credentials; `unreadable`: a file exists that cannot be decrypted (reactivate). */
export const CREDENTIAL_STATES = ['activated', 'not-activated', 'unreadable'] as const;

const productRef = v.strictObject({ code: ProductCodeSchema, name: v.string() });

export const ProductStatusSchema = v.strictObject({
  code: ProductCodeSchema,
  name: v.string(),
  activated: v.boolean(),
  /** ISO-8601, when activated. */
  activatedAt: v.nullable(v.string()),
  /** Masked, e.g. AKIA************WXYZ. */
  accessKeyId: v.nullable(v.string()),
  state: v.picklist(CREDENTIAL_STATES),
  /** ISO-8601: until when a reactivation the desktop product started waits for a new key (null: none pending). */
  reactivationPendingUntil: v.optional(v.nullable(v.string())),
});

export const HelloReplySchema = v.strictObject({
  type: v.literal('hello'),
  id,
  protocol: v.number(),
  hostVersion: v.string(),
  products: v.array(productRef),
  activateUrl: v.string(),
});

export const ActivatedReplySchema = v.strictObject({
  type: v.literal('activated'),
  id,
  product: productRef,
  accessKeyId: v.string(),
  activatedAt: v.string(),
  replaced: v.boolean(),
});

export const StatusReplySchema = v.strictObject({
  type: v.literal('status'),
  id,
  hostVersion: v.string(),
  products: v.array(ProductStatusSchema),
});

export const ErrorReplySchema = v.strictObject({
  type: v.literal('error'),
  /** Null when the request was too broken to carry an id. */
  id: v.nullable(v.string()),
  code: v.picklist(ERROR_CODES),
  /** Fit to show the customer; never holds a key or secret. */
  message: v.string(),
  /** The product concerned, when known (e.g. ALREADY_ACTIVATED). */
  product: v.optional(productRef),
  /** Where to get a new key, for key errors. */
  activateUrl: v.optional(v.string()),
});

/** Pushed to subscribed local programs (loopback channel) after a change; never a secret. */
export const CredentialsEventSchema = v.strictObject({
  type: v.literal('credentials-changed'),
  product: productRef,
  change: v.picklist(['stored', 'replaced', 'forgotten']),
  at: v.string(),
});

export const ReplySchema = v.variant('type', [
  HelloReplySchema,
  ActivatedReplySchema,
  StatusReplySchema,
  ErrorReplySchema,
]);

export type ProductStatus = v.InferOutput<typeof ProductStatusSchema>;
export type HelloReply = v.InferOutput<typeof HelloReplySchema>;
export type ActivatedReply = v.InferOutput<typeof ActivatedReplySchema>;
export type StatusReply = v.InferOutput<typeof StatusReplySchema>;
export type ErrorReply = v.InferOutput<typeof ErrorReplySchema>;
export type CredentialsEvent = v.InferOutput<typeof CredentialsEventSchema>;
export type Reply = v.InferOutput<typeof ReplySchema>;

export type ParsedRequest = { ok: true; request: Request } | { ok: false; reply: ErrorReply };

/** Validates one decoded message; the error reply names what was wrong but never echoes values. */
export function parseRequest(data: unknown): ParsedRequest {
  const idOf = (d: unknown) =>
    typeof d === 'object' &&
    d !== null &&
    typeof (d as { id?: unknown }).id === 'string' &&
    (d as { id: string }).id.length <= 64
      ? (d as { id: string }).id
      : null;
  const type = typeof data === 'object' && data !== null ? (data as { type?: unknown }).type : undefined;
  if (typeof type === 'string' && !(REQUEST_TYPES as readonly string[]).includes(type)) {
    return {
      ok: false,
      reply: {
        type: 'error',
        id: idOf(data),
        code: 'UNKNOWN_TYPE',
        message: `Unknown message type. This host understands: ${REQUEST_TYPES.join(', ')}.`,
      },
    };
  }
  const result = v.safeParse(RequestSchema, data, { abortEarly: false });
  if (result.success) return { ok: true, request: result.output };
  const fields = [
    ...new Set(result.issues.map((i) => (i.path ?? []).map((p) => String(p.key)).join('.') || 'message')),
  ];
  return {
    ok: false,
    reply: {
      type: 'error',
      id: idOf(data),
      code: 'BAD_MESSAGE',
      message: `Malformed message (check: ${fields.join(', ')}).`,
    },
  };
}
