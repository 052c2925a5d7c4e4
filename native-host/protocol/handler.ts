/**
 * The protocol, independent of transport: one decoded message in, one reply out.
 * Native messaging and the loopback WebSocket both use it as is, so nothing here
 * knows about frames, sockets or who the caller is.
 */
import {
  parseRequest,
  PROTOCOL_VERSION,
  type ActivatedReply,
  type ErrorReply,
  type HelloReply,
  type Reply,
  type Request,
  type StatusReply,
} from '../../shared/messages.ts';
import { unreachable } from '../../shared/unreachable.ts';
import { HostError } from '../errors.ts';
import type { HostServices } from '../services.ts';
import { isBadJsonFrame } from './bad-json.ts';

/** `transport` only labels log lines: the messages and their handling are the same over every transport. */
export function createRequestHandler(
  services: HostServices,
  transport: 'browser' | 'loopback' = 'browser',
): (message: unknown) => Promise<Reply> {
  return async (message) => {
    if (isBadJsonFrame(message)) {
      return { type: 'error', id: null, code: 'BAD_MESSAGE', message: 'The message is not valid JSON.' };
    }
    const parsed = parseRequest(message);
    if (!parsed.ok) {
      services.log.warn('refused a message', { code: parsed.reply.code });
      return parsed.reply;
    }
    const request = parsed.request;
    try {
      return await dispatch(services, request, transport);
    } catch (error) {
      return errorReply(services, request.id, error);
    }
  };
}

async function dispatch(services: HostServices, request: Request, transport: 'browser' | 'loopback'): Promise<Reply> {
  switch (request.type) {
    case 'hello':
      return hello(services, request.id, request.protocol);
    case 'status':
      return status(services, request.id);
    case 'activate': {
      // Loaded on first use: a start-up that only says hello does not load the License Service client (https, XML).
      const { activate } = await import('../activation/activate.ts');
      const outcome = await activate(services, {
        key: request.key,
        ...(request.productCode !== undefined ? { productCode: request.productCode } : {}),
        ...(request.pageUrl !== undefined ? { pageUrl: request.pageUrl } : {}),
        ...(request.keySource !== undefined ? { keySource: request.keySource } : {}),
        capturedAt: request.capturedAt,
        replace: request.replace,
        source: transport,
      });
      const reply: ActivatedReply = {
        type: 'activated',
        id: request.id,
        product: outcome.product,
        accessKeyId: outcome.accessKeyId,
        activatedAt: outcome.activatedAt,
        replaced: outcome.replaced,
      };
      return reply;
    }
  }
  return unreachable(request);
}

function hello(services: HostServices, id: string, protocol: number): HelloReply | ErrorReply {
  if (protocol !== PROTOCOL_VERSION) {
    return {
      type: 'error',
      id,
      code: 'PROTOCOL_MISMATCH',
      message: `This desktop companion speaks protocol ${PROTOCOL_VERSION}, the extension asked for ${protocol}. Update the companion and the extension to matching versions.`,
    };
  }
  return {
    type: 'hello',
    id,
    protocol: PROTOCOL_VERSION,
    hostVersion: services.hostVersion,
    products: services.config.products.map((p) => ({ code: p.code, name: p.name })),
    activateUrl: services.config.activateUrl,
  };
}

async function status(services: HostServices, id: string): Promise<StatusReply> {
  const [{ productStatuses }, { withPendingReactivations }] = await Promise.all([
    import('../activation/credentials.ts'),
    import('../activation/pending-reactivation.ts'),
  ]);
  return {
    type: 'status',
    id,
    hostVersion: services.hostVersion,
    products: await withPendingReactivations(services, await productStatuses(services)),
  };
}

function errorReply(services: HostServices, id: string, error: unknown): ErrorReply {
  if (error instanceof HostError) {
    services.log.warn('request failed', { code: error.code });
    const reply: ErrorReply = { type: 'error', id, code: error.code, message: error.message };
    if (error.details.product) reply.product = error.details.product;
    if (error.details.activateUrl) reply.activateUrl = error.details.activateUrl;
    return reply;
  }
  // A bug: log what it was (our own messages never hold secrets; redaction covers the rest).
  services.log.error('internal error', {
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  });
  return {
    type: 'error',
    id,
    code: 'INTERNAL',
    message: 'The desktop companion hit an internal error. Try again; if it persists, run "devpay-companion doctor".',
  };
}
