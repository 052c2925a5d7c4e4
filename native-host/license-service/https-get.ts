/**
 * One HTTPS GET with a hard time limit and a bounded body. Certificates are
 * always verified (NODE_TLS_REJECT_UNAUTHORIZED cannot switch that off here); an
 * extra CA is added to the system roots, never in place of them.
 */
import { request, type RequestOptions } from 'node:https';
import * as tls from 'node:tls';

export interface HttpsAnswer {
  status: number;
  retryAfterSeconds: number | undefined;
  body: string;
}

export type TransportFailureKind = 'timeout' | 'network' | 'untrusted' | 'too-large' | 'aborted';

/** Carries the system error code (e.g. `ECONNRESET`), never a URL: the query holds the key. */
export class TransportFailure extends Error {
  override name = 'TransportFailure';
  constructor(
    readonly kind: TransportFailureKind,
    readonly systemCode: string | undefined,
  ) {
    super(systemCode ? `${kind} (${systemCode})` : kind);
  }
}

export interface HttpsGetOptions {
  /** Extra trusted CA certificates (PEM), added to the system's. */
  ca?: string;
  timeoutMs: number;
  maxBytes: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

const UNTRUSTED_CERTIFICATE =
  /^(CERT_|ERR_TLS_CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_|HOSTNAME_MISMATCH)/;

export function httpsGet(url: URL, options: HttpsGetOptions): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(new TransportFailure('aborted', undefined));
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    const fail = (failure: TransportFailure) => {
      finish(() => reject(failure));
      req.destroy();
    };
    const requestOptions: RequestOptions & Pick<tls.ConnectionOptions, 'secureContext'> = {
      method: 'GET',
      headers: options.headers,
      // Always explicit, so NODE_EXTRA_CA_CERTS (from whoever started us) adds nothing.
      secureContext: trustContext(options.ca),
      rejectUnauthorized: true,
      agent: false,
    };
    const req = request(url, requestOptions);
    const timer = setTimeout(() => fail(new TransportFailure('timeout', undefined)), options.timeoutMs);
    const onAbort = () => fail(new TransportFailure('aborted', undefined));
    options.signal?.addEventListener('abort', onAbort, { once: true });

    req.on('error', (error: NodeJS.ErrnoException) => {
      const code = typeof error.code === 'string' ? error.code : undefined;
      fail(new TransportFailure(code && UNTRUSTED_CERTIFICATE.test(code) ? 'untrusted' : 'network', code));
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) fail(new TransportFailure('too-large', undefined));
        else chunks.push(chunk);
      });
      res.on('error', (error: NodeJS.ErrnoException) => fail(new TransportFailure('network', error.code)));
      res.on('aborted', () => fail(new TransportFailure('network', 'ECONNRESET')));
      res.on('end', () => {
        const retryAfter = Number(res.headers['retry-after']);
        finish(() =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      });
    });
    req.end();
  });
}

/** Node's bundled roots and, where Node can read it (22.15 and later), the system store. */
function trustedRoots(): readonly string[] {
  const system = (tls as { getCACertificates?: (type: 'system') => string[] }).getCACertificates?.('system') ?? [];
  return [...tls.rootCertificates, ...system];
}

// Parsing some 150 roots costs tens of milliseconds: once per process and extra CA, not once per attempt.
const trustContexts = new Map<string, tls.SecureContext>();
function trustContext(extraCa: string | undefined): tls.SecureContext {
  const key = extraCa ?? '';
  let context = trustContexts.get(key);
  if (!context) {
    context = tls.createSecureContext({ ca: [...trustedRoots(), ...(extraCa ? [extraCa] : [])] });
    trustContexts.set(key, context);
  }
  return context;
}
