/**
 * The desktop product's side of the loopback channel (TypeScript/JavaScript):
 *
 *   const channel = await connectLoopback();          // port and token file from the vendor configuration
 *   channel.onEvent((e) => { if (e.product.code === 'ACMEBK01') reloadCredentials(); });
 *   // The token lets a local program listen, nothing more: status and activate answer CALLER_NOT_ALLOWED.
 *   await channel.close();
 *
 * Events carry the product and what changed, never credentials: read those with
 * readCredentials() (api.ts) when told. Every wait is bounded; failures reject
 * with LoopbackUnavailableError.
 */
import { randomUUID } from 'node:crypto';
import * as v from 'valibot';
import WebSocket from 'ws';
import {
  CredentialsEventSchema,
  MAX_OUTBOUND_MESSAGE_BYTES,
  ReplySchema,
  RequestSchema,
  type CredentialsEvent,
  type Reply,
} from '../../shared/messages.ts';
import { resolveConfigAndDataDir } from '../settings.ts';
import { messageBytes } from './message-bytes.ts';
import { loopbackTokenFile, readTokenFile } from './token.ts';

export type LoopbackRequest = v.InferInput<typeof RequestSchema>;
/** A request whose `id` may be left out (one is made up). */
export type LoopbackRequestInput = LoopbackRequest extends infer R
  ? R extends { id: string }
    ? Omit<R, 'id'> & { id?: string }
    : never
  : never;

export type LoopbackUnavailableCode = 'NOT_RUNNING' | 'REFUSED' | 'TIMEOUT' | 'CLOSED' | 'BAD_REPLY';

export class LoopbackUnavailableError extends Error {
  override name = 'LoopbackUnavailableError';
  constructor(
    readonly code: LoopbackUnavailableCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ConnectLoopbackOptions {
  /** Default the vendor configuration's loopbackPort. */
  port?: number;
  /** Default `<dataDir>/loopback.token`. */
  tokenFile?: string;
  /** Where to find the configuration and data folder when port or tokenFile are left out (as for readCredentials). */
  config?: string;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  host?: '127.0.0.1' | '::1';
  connectTimeoutMs?: number;
  /** Per request type; an activation waits for the License Service. */
  requestTimeoutMs?: Partial<Record<LoopbackRequest['type'], number>>;
}

export interface LoopbackChannel {
  /** The companion's reply (an `error` reply included). */
  request(message: LoopbackRequestInput): Promise<Reply>;
  /** Called after every stored, replaced or forgotten set; returns a function that stops the calls. */
  onEvent(listener: (event: CredentialsEvent) => void): () => void;
  /** Settles when the connection ends, by either side. */
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

const DEFAULT_REQUEST_TIMEOUTS: Record<LoopbackRequest['type'], number> = {
  hello: 5_000,
  status: 10_000,
  activate: 90_000,
};

export async function connectLoopback(options: ConnectLoopbackOptions = {}): Promise<LoopbackChannel> {
  let { port, tokenFile } = options;
  if (port === undefined || tokenFile === undefined) {
    const resolved = await resolveConfigAndDataDir(
      {
        ...(options.config !== undefined ? { config: options.config } : {}),
        ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
      },
      options.env ?? process.env,
    );
    port ??= resolved.config.loopbackPort;
    tokenFile ??= loopbackTokenFile(resolved.dataDir);
  }
  let token: string;
  try {
    token = await readTokenFile(tokenFile);
  } catch {
    throw new LoopbackUnavailableError(
      'NOT_RUNNING',
      `No loopback token in ${tokenFile}: the companion's loopback channel is not running (start it with "devpay-companion serve").`,
    );
  }

  const host = options.host ?? '127.0.0.1';
  const url = `ws://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  const ws = new WebSocket(url, {
    headers: { Authorization: `Bearer ${token}` },
    handshakeTimeout: options.connectTimeoutMs ?? 5_000,
    maxPayload: MAX_OUTBOUND_MESSAGE_BYTES,
    perMessageDeflate: false,
    followRedirects: false,
  });

  await new Promise<void>((resolve, reject) => {
    const fail = (error: LoopbackUnavailableError) => {
      ws.removeAllListeners('open');
      ws.terminate();
      reject(error);
    };
    ws.once('open', () => {
      ws.removeAllListeners('unexpected-response');
      resolve();
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      fail(
        new LoopbackUnavailableError(
          'REFUSED',
          `The loopback channel refused the connection (HTTP ${res.statusCode ?? '?'}): check the token file ${tokenFile}.`,
        ),
      );
    });
    ws.on('error', (error: NodeJS.ErrnoException) => {
      if (ws.readyState === ws.OPEN) return; // handled by the request side
      if (error.code === 'ECONNREFUSED')
        fail(new LoopbackUnavailableError('NOT_RUNNING', `Nothing listens on ${url}: start "devpay-companion serve".`));
      else if (/timed out/i.test(error.message))
        fail(new LoopbackUnavailableError('TIMEOUT', `No WebSocket handshake from ${url} in time.`));
      else
        fail(new LoopbackUnavailableError('NOT_RUNNING', `Cannot connect to ${url} (${error.code ?? error.message}).`));
    });
  });

  const timeouts = { ...DEFAULT_REQUEST_TIMEOUTS, ...options.requestTimeoutMs };
  const pending = new Map<
    string,
    { resolve(reply: Reply): void; reject(error: Error): void; timer: ReturnType<typeof setTimeout> }
  >();
  const listeners = new Set<(event: CredentialsEvent) => void>();

  const failAll = (error: LoopbackUnavailableError) => {
    for (const p of pending.values()) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    pending.clear();
  };

  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.once('close', (code, reason) => {
      const why = reason.toString('utf8');
      failAll(new LoopbackUnavailableError('CLOSED', `The loopback channel closed (${code}${why ? `: ${why}` : ''}).`));
      resolve({ code, reason: why });
    });
  });

  ws.on('message', (data, isBinary) => {
    let parsed: unknown;
    try {
      parsed = isBinary ? undefined : JSON.parse(messageBytes(data).toString('utf8'));
    } catch {
      parsed = undefined;
    }
    const event = v.safeParse(CredentialsEventSchema, parsed);
    if (event.success) {
      for (const listener of listeners) {
        try {
          listener(event.output);
        } catch {
          // A listener's failure is the listener's.
        }
      }
      return;
    }
    const reply = v.safeParse(ReplySchema, parsed);
    if (!reply.success) {
      failAll(
        new LoopbackUnavailableError(
          'BAD_REPLY',
          'The loopback channel sent something the protocol does not allow; the connection is closed.',
        ),
      );
      ws.close(1002, 'bad reply');
      return;
    }
    const id = reply.output.id ?? (pending.size === 1 ? [...pending.keys()][0] : undefined);
    const waiting = id === undefined ? undefined : pending.get(id);
    if (!waiting || id === undefined) return;
    pending.delete(id);
    clearTimeout(waiting.timer);
    waiting.resolve(reply.output);
  });

  return {
    request(message) {
      const request = { ...message, id: message.id ?? randomUUID() };
      if (ws.readyState !== ws.OPEN)
        return Promise.reject(new LoopbackUnavailableError('CLOSED', 'The loopback channel is closed.'));
      if (pending.has(request.id))
        return Promise.reject(new Error(`A request with id ${request.id} is already waiting.`));
      return new Promise<Reply>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(request.id);
          reject(
            new LoopbackUnavailableError('TIMEOUT', `No reply to ${request.type} within ${timeouts[request.type]} ms.`),
          );
        }, timeouts[request.type]);
        pending.set(request.id, { resolve, reject, timer });
        ws.send(JSON.stringify(request));
      });
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    closed,
    async close() {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000, 'done');
      const timer = setTimeout(() => ws.terminate(), 2_000);
      await closed;
      clearTimeout(timer);
    },
  };
}
