/**
 * Who may open the loopback channel, decided from the upgrade request's headers
 * alone, before the WebSocket handshake completes:
 *
 * - The Host header must name loopback (127.0.0.1, [::1], localhost) and our port:
 *   a DNS-rebound web page arrives with its own host name.
 * - A local program (the desktop product) sends no Origin and presents the token
 *   that `serve` wrote to a 0600 file: `Authorization: Bearer <token>`. A valid
 *   token admits it whatever Origin it sends (some client libraries add one),
 *   since no web page can set that header on a WebSocket.
 * - A browser extension is recognised by `Origin: chrome-extension://ID` with ID
 *   in the vendor configuration. Firefox origins (`moz-extension://UUID`) carry a
 *   per-install random UUID, not the add-on ID, so they cannot be checked against
 *   the configuration and are refused: Firefox uses native messaging.
 * - Everything else (web pages, `null`, unlisted extensions) is refused.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { VendorConfig } from '../../shared/config.ts';

export type LoopbackClient = { kind: 'extension'; browser: 'chromium'; extensionId: string } | { kind: 'local' };

export type Admission =
  | { ok: true; client: LoopbackClient }
  /** `reason` is for the log: it never holds the token. */
  | { ok: false; status: 400 | 401 | 403; reason: string };

export interface AdmissionPolicy {
  config: Pick<VendorConfig, 'extensions'>;
  /** The port we listen on: the only one a Host header may name. */
  port: number;
  token: string;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
const CHROMIUM_ORIGIN = /^chrome-extension:\/\/([a-p]{32})$/;
const BEARER = /^Bearer ([A-Za-z0-9_-]{16,256})$/;

/** True when `host` (a Host header) names a loopback address and, if it has one, our port. */
export function isLoopbackHost(host: string | undefined, port: number): boolean {
  if (host === undefined) return false;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(host.trim().toLowerCase());
  if (!match) return false;
  const [, name, portText] = match;
  if (!LOOPBACK_HOSTS.has(name!)) return false;
  return portText === undefined || Number(portText) === port;
}

/** Constant-time comparison (hashing first makes the lengths equal). */
export function tokensMatch(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function admit(headers: IncomingHttpHeaders, policy: AdmissionPolicy): Admission {
  if (!isLoopbackHost(headers.host, policy.port))
    return { ok: false, status: 403, reason: 'host is not a loopback name' };

  const authorization = headers.authorization;
  if (authorization !== undefined) {
    const bearer = BEARER.exec(authorization.trim());
    if (bearer && tokensMatch(bearer[1]!, policy.token)) return { ok: true, client: { kind: 'local' } };
    return { ok: false, status: 401, reason: 'wrong token' };
  }

  const origin = headers.origin;
  if (origin === undefined) return { ok: false, status: 401, reason: 'no origin and no token' };
  const chromium = CHROMIUM_ORIGIN.exec(origin);
  if (chromium) {
    const extensionId = chromium[1]!;
    if (policy.config.extensions.chromium.includes(extensionId))
      return { ok: true, client: { kind: 'extension', browser: 'chromium', extensionId } };
    return { ok: false, status: 403, reason: 'extension not in the vendor configuration' };
  }
  if (origin.startsWith('moz-extension://'))
    return {
      ok: false,
      status: 403,
      reason: 'Firefox extension origins cannot be verified (Firefox uses native messaging)',
    };
  return { ok: false, status: 403, reason: 'web page origin' };
}

/** The origin as far as it is safe to log (a scheme and host, bounded), or a placeholder. */
export function describeOrigin(origin: string | undefined): string {
  if (origin === undefined) return '(none)';
  return origin.replace(/[^\x20-\x7e]/g, '?').slice(0, 120);
}
