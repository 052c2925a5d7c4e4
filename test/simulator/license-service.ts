/**
 * The simulated License Service: ActivateDesktopProduct over GET or POST, with
 * the documented XML, namespace and ErrorResponse shape.
 *
 * Deliberately shares no code with the client in native-host/: the constants
 * here are copied from the reference, so a client mistake cannot hide behind a
 * matching simulator mistake.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import XMLBuilder from 'fast-xml-builder';
import { maskIdentifier } from '../../shared/activation-key.ts';
import { unreachable } from '../../shared/unreachable.ts';
import type { DevPayBackend } from './backend.ts';
import type { Fault, FaultPlan } from './faults.ts';

const NAMESPACE = 'http://ls.amazonaws.com/doc/2008-04-28/';
const VERSION = '2008-04-28';
const ACTION = 'ActivateDesktopProduct';

/** One request as the service saw it, for tests to check what a client sent. */
export interface LicenseServiceRequest {
  at: number;
  method: string;
  path: string;
  /** The query string exactly as received (without `?`). */
  rawQuery: string;
  /** Query and form parameters, decoded as the service decodes them. */
  params: Record<string, string[]>;
  userAgent: string | undefined;
  status: number;
  /** `issued`, the ErrorResponse code, or the fault met. */
  outcome: string;
}

export interface LicenseServiceContext {
  backend: DevPayBackend;
  faults: FaultPlan;
  requests: LicenseServiceRequest[];
  log: (line: string) => void;
  /** Aborted when the simulator closes, so that no added latency outlives it. */
  signal: AbortSignal;
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: true,
  format: true,
});

function xml(document: object): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build(document)}`;
}

interface ServiceError {
  status: number;
  code: string;
  message: string;
  type?: 'Sender' | 'Receiver';
}

function errorDocument(error: ServiceError, requestId: string): string {
  return xml({
    ErrorResponse: {
      '@_xmlns': NAMESPACE,
      Error: {
        Type: error.type ?? (error.status >= 500 ? 'Receiver' : 'Sender'),
        Code: error.code,
        Message: error.message,
        Detail: '',
      },
      RequestId: requestId,
    },
  });
}

function resultDocument(parts: Record<string, string>, requestId: string): string {
  return xml({
    ActivateDesktopProductResponse: {
      '@_xmlns': NAMESPACE,
      ActivateDesktopProductResult: parts,
      ResponseMetadata: { RequestId: requestId },
    },
  });
}

const first = (params: URLSearchParams, name: string) => params.get(name);

/** The service's own checks, in the order a request meets them. */
function validate(params: URLSearchParams, backend: DevPayBackend): ServiceError | { key: string } {
  const action = first(params, 'Action');
  if (!action)
    return { status: 400, code: 'MissingParameter', message: 'The request must contain the parameter Action.' };
  if (action !== ACTION)
    return {
      status: 400,
      code: 'InvalidAction',
      message: `The action ${action.slice(0, 64)} is not valid for this web service.`,
    };
  const version = first(params, 'Version');
  if (!version)
    return { status: 400, code: 'MissingParameter', message: 'The request must contain the parameter Version.' };
  if (version !== VERSION)
    return {
      status: 400,
      code: 'NoSuchVersion',
      message: `The requested version (${version.slice(0, 32)}) of service AmazonLS does not exist.`,
    };
  const productToken = first(params, 'ProductToken');
  if (!productToken)
    return {
      status: 400,
      code: 'MissingProductToken',
      message: 'The request must contain the parameter ProductToken.',
    };
  const key = first(params, 'ActivationKey');
  if (!key)
    return { status: 400, code: 'MissingParameter', message: 'The request must contain the parameter ActivationKey.' };
  const product = backend.productByToken(productToken);
  if (!product) return { status: 400, code: 'InvalidProductToken', message: 'The product token is invalid.' };
  const record = backend.keyRecord(key);
  if (!record) return { status: 400, code: 'InvalidActivationKey', message: 'The activation key is invalid.' };
  if (record.productCode !== product.code) {
    return {
      status: 400,
      code: 'IncorrectActivationKey',
      message: 'The activation key is not valid for this product.',
    };
  }
  if (backend.isExpired(record))
    return { status: 400, code: 'ExpiredActivationKey', message: 'The activation key has expired' };
  return { key };
}

/** Answers an injected fault; returns the outcome to record. */
function answerFault(fault: Fault, res: ServerResponse, requestId: string): { status: number; outcome: string } {
  switch (fault.kind) {
    case '503':
      sendXml(
        res,
        503,
        errorDocument(
          { status: 503, code: 'RequestThrottled', message: 'The request was throttled. Retry later.' },
          requestId,
        ),
      );
      return { status: 503, outcome: 'fault:503' };
    case '500':
      sendXml(
        res,
        500,
        errorDocument(
          { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' },
          requestId,
        ),
      );
      return { status: 500, outcome: 'fault:500' };
    case 'reset': {
      // A TLS socket cannot send a TCP reset itself; the TCP socket under it can.
      const tcp = (res.socket as { _parent?: Socket } | null)?._parent;
      if (typeof tcp?.resetAndDestroy === 'function') tcp.resetAndDestroy();
      else res.socket?.destroy();
      return { status: 0, outcome: 'fault:reset' };
    }
    case 'unparsable':
      sendXml(
        res,
        200,
        `<?xml version="1.0"?>\n<ActivateDesktopProductResponse xmlns="${NAMESPACE}"><ActivateDesktopProductResult><UserToken>{UserToken}AAAHVXNlclRrbgfO`,
      );
      return { status: 200, outcome: 'fault:unparsable' };
    case 'missing-part': {
      const parts: Record<string, string> = {
        UserToken: '{UserToken}AAAHVXNlclRrbgfOpSykBAXO7g',
        AWSAccessKeyId: 'AKSIMULATORPARTONLY0',
        SecretAccessKey: 'bm90LWEtcmVhbC1zZWNyZXQtYWNjZXNzLWtleQ==',
      };
      delete parts[fault.part];
      sendXml(res, 200, resultDocument(parts, requestId));
      return { status: 200, outcome: `fault:missing-part:${fault.part}` };
    }
    case 'error':
      sendXml(
        res,
        fault.status,
        errorDocument(
          { status: fault.status, code: fault.code, message: fault.message ?? `Simulated ${fault.code}.` },
          requestId,
        ),
      );
      return { status: fault.status, outcome: fault.code };
  }
  return unreachable(fault);
}

function sendXml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export async function handleLicenseService(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  form: URLSearchParams | undefined,
  ctx: LicenseServiceContext,
): Promise<void> {
  // POST carries the parameters in the body; AWS Query services read both.
  const params = new URLSearchParams(url.search);
  for (const [name, value] of form ?? []) params.append(name, value);
  const entry: LicenseServiceRequest = {
    at: ctx.backend.clock.now(),
    method: req.method ?? '',
    path: url.pathname,
    rawQuery: url.search.slice(1),
    params: {},
    userAgent: req.headers['user-agent'],
    status: 0,
    outcome: '',
  };
  for (const name of new Set(params.keys())) entry.params[name] = params.getAll(name);
  ctx.requests.push(entry);

  // A successful answer carries the id of the set it issued.
  let requestId: string = randomUUID();
  const keyForLog = params.get('ActivationKey');
  const finish = (status: number, outcome: string) => {
    entry.status = status;
    entry.outcome = outcome;
    ctx.log(
      `License Service ${entry.method} ${url.pathname} key=${keyForLog ? maskIdentifier(keyForLog) : '(none)'} -> ${status || 'reset'} ${outcome} (request id ${requestId})`,
    );
  };

  if (ctx.faults.latencyMs > 0) {
    try {
      await delay(ctx.faults.latencyMs, undefined, { signal: ctx.signal });
    } catch {
      return;
    }
  }
  const fault = ctx.faults.take();
  if (fault) {
    const { status, outcome } = answerFault(fault, res, requestId);
    return finish(status, outcome);
  }
  if (req.method !== 'GET' && req.method !== 'POST') {
    res.writeHead(405, { Allow: 'GET, POST' }).end();
    return finish(405, 'method not allowed');
  }
  if (url.pathname !== '/') {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found');
    return finish(404, 'not found');
  }
  const checked = validate(params, ctx.backend);
  if ('code' in checked) {
    sendXml(res, checked.status, errorDocument(checked, requestId));
    return finish(checked.status, checked.code);
  }
  const set = ctx.backend.issueCredentials(ctx.backend.keyRecord(checked.key)!);
  requestId = set.requestId;
  sendXml(
    res,
    200,
    resultDocument(
      { UserToken: set.userToken, AWSAccessKeyId: set.accessKeyId, SecretAccessKey: set.secretAccessKey },
      requestId,
    ),
  );
  finish(200, 'issued');
}
