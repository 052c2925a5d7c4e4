/**
 * ActivateDesktopProduct: turns an activation key into the customer's three
 * credentials, or into a LicenseServiceError that says what to do next.
 *
 * The key is checked locally first (key-check.ts: a malformed or stale key is
 * never sent). Throttling, server errors, timeouts, resets and unusable answers
 * are retried with exponential back-off and jitter inside one time budget that
 * never runs past the key's hour; the service's refusals (4xx) are final. Also
 * pingLicenseService, doctor's probe that sends no key.
 */
import { ACTIVATION_KEY_LIFETIME_MS } from '../../shared/activation-key.ts';
import { DEFAULT_ACTIVATE_URL } from '../../shared/config.ts';
import type { ErrorCode } from '../../shared/messages.ts';
import { unreachable } from '../../shared/unreachable.ts';
import type { ProductRef } from '../errors.ts';
import { parseLicenseServiceEndpoint } from './endpoint.ts';
import { LicenseServiceError, refusalError, TRANSIENT_SERVICE_CODES } from './errors.ts';
import { httpsGet, TransportFailure, type HttpsAnswer, type HttpsGetOptions } from './https-get.ts';
import { checkActivationKey } from './key-check.ts';
import { activationQuery, probeQuery } from './protocol.ts';
import { MAX_ANSWER_BYTES, parseLicenseServiceAnswer, type ActivationCredentials } from './response.ts';

export type { ActivationCredentials } from './response.ts';

export const DEFAULT_TOTAL_BUDGET_MS = 30_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRY_BASE_DELAY_MS = 250;
export const DEFAULT_RETRY_MAX_DELAY_MS = 4_000;
/** No point starting a request with less time than this left. */
const MIN_ATTEMPT_MS = 100;
const MAX_SERVICE_MESSAGE_CHARS = 300;
const REQUEST_HEADERS = { 'User-Agent': 'devpay-companion', Accept: 'text/xml, application/xml' };

export interface ActivateOptions {
  /** The License Service, https:// only (the vendor configuration's `licenseService`). */
  endpoint: string;
  productToken: string;
  /** As the customer gave it; trimmed and checked here before anything is sent. */
  activationKey: string;
  /** When the key was captured (ms since the epoch): nothing is sent after its hour. */
  keyCapturedAt?: number;
  /** Where the customer gets a new key; named in key errors. */
  activateUrl?: string;
  /** Names the product in the customer's messages (default: the name of `product`). */
  productName?: string;
  /** The product being activated: carried by the errors (details.product). */
  product?: ProductRef;
  /** Extra trusted CA certificates (PEM), e.g. a test server's; see readCaFile (endpoint.ts). */
  ca?: string;
  totalBudgetMs?: number;
  requestTimeoutMs?: number;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  signal?: AbortSignal;
  /** Receives one line per attempt; lines never hold the key, token or a credential. */
  log?: (line: string) => void;
  userAgent?: string;
  /** For tests. */
  now?: () => number;
  random?: () => number;
}

export interface ActivationResult {
  credentials: ActivationCredentials;
  requestId: string | undefined;
  /** Requests sent, this one included. */
  attempts: number;
}

/** Why one attempt did not give credentials, when trying again may help. */
interface TransientFailure {
  /** For the log and the final message; no values. */
  what: string;
  badAnswer: boolean;
  retryAfterSeconds?: number;
  httpStatus?: number;
  serviceCode?: string;
  requestId?: string;
}

/** The service's message is kept for diagnosis, but without anything we sent it and within a bounded length. */
function sanitiseServiceMessage(message: string, secrets: readonly string[]): string | undefined {
  let text = message;
  for (const secret of secrets) if (secret) text = text.split(secret).join('[removed]');
  // Control characters are what is being removed (they could forge lines in a log or a terminal).
  // oxlint-disable-next-line no-control-regex
  text = text.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  if (text.length > MAX_SERVICE_MESSAGE_CHARS) text = `${text.slice(0, MAX_SERVICE_MESSAGE_CHARS)}…`;
  return text || undefined;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new TransportFailure('aborted', undefined));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new TransportFailure('aborted', undefined));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function cancelled(attempts: number, product: ProductRef | undefined): LicenseServiceError {
  return new LicenseServiceError(
    'SERVICE_UNAVAILABLE',
    'Activation was cancelled before the License Service answered.',
    'Try again.',
    { attempts, product },
  );
}

export async function activateDesktopProduct(options: ActivateOptions): Promise<ActivationResult> {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const log = options.log ?? (() => {});
  const activateUrl = options.activateUrl ?? DEFAULT_ACTIVATE_URL;
  const url = parseLicenseServiceEndpoint(options.endpoint);

  const product = options.product;
  const start = now();
  const key = checkActivationKey(options.activationKey, {
    capturedAt: options.keyCapturedAt,
    now: start,
    activateUrl,
    product,
  });
  const keyExpiresAt =
    options.keyCapturedAt === undefined ? Infinity : options.keyCapturedAt + ACTIVATION_KEY_LIFETIME_MS;
  const deadline = Math.min(start + (options.totalBudgetMs ?? DEFAULT_TOTAL_BUDGET_MS), keyExpiresAt);

  url.search = activationQuery(key, options.productToken);
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const baseDelay = options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS;
  const maxDelay = options.retryMaxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS;
  const secrets = [key, options.productToken];

  for (let attempt = 1; ; attempt++) {
    const outcome = await sendOnce(url, {
      ca: options.ca,
      timeoutMs: Math.max(1, Math.min(requestTimeoutMs, deadline - now())),
      maxBytes: MAX_ANSWER_BYTES,
      headers: { ...REQUEST_HEADERS, ...(options.userAgent ? { 'User-Agent': options.userAgent } : {}) },
      signal: options.signal,
    });
    switch (outcome.kind) {
      case 'success':
        log(
          `License Service: activated on attempt ${attempt}${outcome.requestId ? ` (request id ${outcome.requestId})` : ''}.`,
        );
        return { credentials: outcome.credentials, requestId: outcome.requestId, attempts: attempt };
      case 'aborted':
        throw cancelled(attempt, product);
      case 'refused':
        log(`License Service: refused on attempt ${attempt}: HTTP ${outcome.httpStatus} ${outcome.code}.`);
        throw refusalError(outcome.code, {
          activateUrl,
          productName: options.productName ?? product?.name,
          product,
          attempts: attempt,
          httpStatus: outcome.httpStatus,
          requestId: outcome.requestId,
          serviceMessage: sanitiseServiceMessage(outcome.message, secrets),
        });
      case 'untrusted':
        log(`License Service: certificate not trusted (${outcome.systemCode ?? 'verification failed'}).`);
        throw new LicenseServiceError(
          'SERVICE_UNTRUSTED',
          `The License Service's certificate is not trusted (${outcome.systemCode ?? 'verification failed'}), so nothing was sent to it.`,
          "Check this computer's date and time, and any proxy or security software that intercepts HTTPS.",
          { attempts: attempt, product },
        );
      case 'unusable':
        log(`License Service: unusable answer on attempt ${attempt}: HTTP ${outcome.httpStatus}, ${outcome.what}.`);
        throw new LicenseServiceError(
          'SERVICE_BAD_ANSWER',
          `The License Service gave an answer this companion cannot use (HTTP ${outcome.httpStatus}: ${outcome.what}).`,
          'Check the License Service address in the configuration, or try again later.',
          { httpStatus: outcome.httpStatus, attempts: attempt, product },
        );
      case 'transient':
        break; // Retried below, while the time allows.
    }
    const failure = outcome.failure;
    const delay = Math.max(backoffDelay(attempt, baseDelay, maxDelay, random), (failure.retryAfterSeconds ?? 0) * 1000);
    if (now() + delay + MIN_ATTEMPT_MS > deadline) {
      log(`License Service: attempt ${attempt} failed (${failure.what}); giving up, the time allowed is spent.`);
      throw exhausted(failure, { attempts: attempt, elapsedMs: now() - start, keyExpiresAt, activateUrl, product });
    }
    log(`License Service: attempt ${attempt} failed (${failure.what}); retrying in ${Math.round(delay)} ms.`);
    try {
      await sleep(delay, options.signal);
    } catch {
      throw cancelled(attempt, product);
    }
  }
}

export type LicenseServiceProbe = { ok: true; requestId?: string } | { ok: false; code: ErrorCode; message: string };

/**
 * For `doctor`: does a License Service answer at this address over verified
 * HTTPS? One request, no key, no token, no retries.
 */
export async function pingLicenseService(
  endpoint: string,
  options: { caPem?: string; timeoutMs: number },
): Promise<LicenseServiceProbe> {
  let url: URL;
  try {
    url = parseLicenseServiceEndpoint(endpoint);
  } catch (error) {
    return { ok: false, code: 'VENDOR_CONFIGURATION', message: (error as LicenseServiceError).message };
  }
  url.search = probeQuery();
  const outcome = await sendOnce(url, {
    ca: options.caPem,
    timeoutMs: options.timeoutMs,
    maxBytes: MAX_ANSWER_BYTES,
    headers: REQUEST_HEADERS,
  });
  switch (outcome.kind) {
    case 'refused':
      // The service's own ErrorResponse to a request without a token: it is there and speaks the protocol.
      return outcome.requestId ? { ok: true, requestId: outcome.requestId } : { ok: true };
    case 'success':
      return { ok: true };
    case 'untrusted':
      return {
        ok: false,
        code: 'SERVICE_UNTRUSTED',
        message: `The certificate of ${url.origin} is not trusted (${outcome.systemCode ?? 'verification failed'}).`,
      };
    case 'unusable':
      return {
        ok: false,
        code: 'SERVICE_BAD_ANSWER',
        message: `${url.origin} answered HTTP ${outcome.httpStatus} but not as the License Service (${outcome.what}).`,
      };
    case 'transient':
      return {
        ok: false,
        code: outcome.failure.badAnswer ? 'SERVICE_BAD_ANSWER' : 'SERVICE_UNAVAILABLE',
        message: `No usable answer from ${url.origin} (${outcome.failure.what}).`,
      };
    case 'aborted':
      return { ok: false, code: 'SERVICE_UNAVAILABLE', message: `No answer from ${url.origin}.` };
  }
  return unreachable(outcome);
}

type Outcome =
  | { kind: 'success'; credentials: ActivationCredentials; requestId: string | undefined }
  | { kind: 'refused'; code: string; message: string; requestId: string | undefined; httpStatus: number }
  | { kind: 'unusable'; what: string; httpStatus: number }
  | { kind: 'untrusted'; systemCode: string | undefined }
  | { kind: 'aborted' }
  | { kind: 'transient'; failure: TransientFailure };

/** Sends one request and decides what came of it: credentials, a final answer, or worth another try. */
async function sendOnce(url: URL, request: HttpsGetOptions): Promise<Outcome> {
  let answer: HttpsAnswer;
  try {
    answer = await httpsGet(url, request);
  } catch (error) {
    // Anything else is our bug; its text might quote the request URL, and with it the key.
    if (!(error instanceof TransportFailure)) {
      throw new LicenseServiceError(
        'INTERNAL',
        'The activation companion failed to send the request.',
        'Please report this bug.',
      );
    }
    switch (error.kind) {
      case 'aborted':
        return { kind: 'aborted' };
      case 'untrusted':
        return { kind: 'untrusted', systemCode: error.systemCode };
      case 'timeout':
        return { kind: 'transient', failure: { what: 'no answer in time', badAnswer: false } };
      case 'too-large':
        return { kind: 'transient', failure: { what: 'an answer too large to be real', badAnswer: true } };
      case 'network':
        return {
          kind: 'transient',
          failure: { what: `network error ${error.systemCode ?? ''}`.trim(), badAnswer: false },
        };
    }
  }
  const { status, retryAfterSeconds } = answer;
  const parsed = parseLicenseServiceAnswer(answer.body);
  if (parsed.kind === 'error') {
    if (status < 500 && !TRANSIENT_SERVICE_CODES.has(parsed.code)) {
      return {
        kind: 'refused',
        code: parsed.code,
        message: parsed.message,
        requestId: parsed.requestId,
        httpStatus: status,
      };
    }
    return {
      kind: 'transient',
      failure: {
        what: `HTTP ${status} ${parsed.code}`,
        badAnswer: false,
        retryAfterSeconds,
        httpStatus: status,
        serviceCode: parsed.code,
        requestId: parsed.requestId,
      },
    };
  }
  if (status >= 500)
    return {
      kind: 'transient',
      failure: { what: `HTTP ${status}`, badAnswer: false, retryAfterSeconds, httpStatus: status },
    };
  const reason = parsed.kind === 'unusable' ? parsed.reason : 'an unexpected answer';
  if (status >= 200 && status < 300) {
    if (parsed.kind === 'credentials')
      return { kind: 'success', credentials: parsed.credentials, requestId: parsed.requestId };
    // A missing part or a garbled body: a fresh request gets a whole new set.
    return { kind: 'transient', failure: { what: `HTTP ${status}, ${reason}`, badAnswer: true, httpStatus: status } };
  }
  // A redirect, or a 4xx that is not the service's ErrorResponse: asking again will not help.
  return { kind: 'unusable', what: reason, httpStatus: status };
}

/** Exponential back-off with "equal jitter": half the step fixed, half random. */
function backoffDelay(attempt: number, base: number, max: number, random: () => number): number {
  const step = Math.min(max, base * 2 ** (attempt - 1));
  return step / 2 + random() * (step / 2);
}

interface ExhaustedContext {
  attempts: number;
  elapsedMs: number;
  keyExpiresAt: number;
  activateUrl: string;
  product: ProductRef | undefined;
}

function exhausted(
  last: TransientFailure,
  { attempts, elapsedMs, keyExpiresAt, activateUrl, product }: ExhaustedContext,
): LicenseServiceError {
  const seconds = Math.max(1, Math.round(elapsedMs / 1000));
  const keyHint = Number.isFinite(keyExpiresAt)
    ? ` Your key stays valid until ${new Date(keyExpiresAt).toLocaleTimeString()}; after that, get a new one at ${activateUrl}.`
    : '';
  const details = {
    attempts,
    httpStatus: last.httpStatus,
    serviceCode: last.serviceCode,
    requestId: last.requestId,
    product,
  };
  if (last.badAnswer) {
    return new LicenseServiceError(
      'SERVICE_BAD_ANSWER',
      `The License Service kept giving answers this companion cannot use (${attempts} attempts in ${seconds} s; last: ${last.what}).`,
      `Try again later.${keyHint}`,
      details,
    );
  }
  return new LicenseServiceError(
    'SERVICE_UNAVAILABLE',
    `The License Service could not be used (${attempts} attempts in ${seconds} s; last: ${last.what}).`,
    `Check this computer's internet connection and try again.${keyHint}`,
    details,
  );
}
