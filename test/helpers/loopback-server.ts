/**
 * Loopback servers for the loopback tests, and real `ws` sockets that connect to them (as the paired
 * extension, as a local program, or as a stranger), authenticate, and collect what arrives.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import type { LoopbackPairing, PairingStorageArea } from '../../extension/lib/loopback-pairing.ts';
import { serveLoopback, type LoopbackServer, type ServeLoopbackOptions } from '../../native-host/api.ts';
import { createLogger } from '../../native-host/log.ts';
import { messageBytes } from '../../native-host/loopback/message-bytes.ts';
import { DEMO_CHROMIUM_ID } from '../machine/companion.ts';
import { authenticateSocket, pairAs } from './loopback-pairing.ts';
import type { TestCase, TestServices } from './test-services.ts';

export const EXTENSION_ORIGIN = `chrome-extension://${DEMO_CHROMIUM_ID}`;
export const UNLISTED_EXTENSION_ORIGIN = `chrome-extension://${'a'.repeat(32)}`;

export interface LoopbackSetup extends TestCase {
  server: LoopbackServer;
  /** The extension's pairing with this server, and the storage.local holding it. */
  pairing: LoopbackPairing;
  storage: PairingStorageArea;
}

/** Each server's pairing with the (test) extension, by port: open() authenticates with it. */
const pairingsByPort = new Map<number, LoopbackPairing>();

/**
 * Starts servers for a test file: `serve` gives each a data folder and configuration (own vendor id, own
 * keychain entries) of its own, with the test extension paired; `logLines` is what they logged, and
 * `allSecrets` every key and credential the simulator minted or issued.
 */
export function loopbackServers(services: TestServices) {
  const logLines: string[] = [];
  const serve = async (options: Partial<ServeLoopbackOptions> = {}): Promise<LoopbackSetup> => {
    const testCase = await services.newCase();
    const server = await serveLoopback({
      config: testCase.configPath,
      dataDir: testCase.dataDir,
      licenseService: services.sim.licenseServiceUrl,
      caFile: services.sim.caFile,
      env: {},
      port: 0,
      log: createLogger({ level: 'info', stream: { write: (line: string) => logLines.push(line) } }),
      ...options,
    });
    const paired = await pairAs(EXTENSION_ORIGIN, server.port, server.openPairing().code);
    if (!paired.pairing) throw new Error(`pairing failed: ${JSON.stringify(paired.result)}`);
    pairingsByPort.set(server.port, paired.pairing);
    return { ...testCase, server, pairing: paired.pairing, storage: paired.storage };
  };
  const allSecrets = (): string[] => [
    ...services.sim.mintedKeys(),
    ...services.sim.issued.flatMap((s) => [s.accessKeyId, s.secretAccessKey, s.userToken]),
  ];
  return { serve, allSecrets, logLines };
}

export type Outcome = { opened: true; ws: WebSocket } | { opened: false; status: number | undefined; error?: string };

/** Tries the upgrade; says whether the WebSocket opened or which HTTP status refused it. */
export function attempt(
  port: number,
  options: { origin?: string; token?: string; host?: string; path?: string } = {},
): Promise<Outcome> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  if (options.host !== undefined) headers.Host = options.host;
  const ws = new WebSocket(`ws://127.0.0.1:${port}${options.path ?? '/'}`, {
    headers,
    ...(options.origin !== undefined ? { origin: options.origin } : {}),
    handshakeTimeout: 5_000,
  });
  return new Promise((resolve) => {
    ws.once('open', () => resolve({ opened: true, ws }));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      resolve({ opened: false, status: res.statusCode });
    });
    ws.once('error', (error) => resolve({ opened: false, status: undefined, error: error.message }));
  });
}

/** An open connection; as the extension (its origin, no token), authenticated with the server's pairing first. */
export async function open(port: number, options: { origin?: string; token?: string } = {}): Promise<WebSocket> {
  const outcome = await attempt(port, options);
  if (!outcome.opened) throw new Error(`connection refused: ${outcome.status ?? outcome.error}`);
  const pairing = pairingsByPort.get(port);
  if (options.origin === EXTENSION_ORIGIN && options.token === undefined && pairing) {
    if (!(await authenticateSocket(outcome.ws, pairing))) throw new Error('not authenticated');
  }
  return outcome.ws;
}

/** Every JSON message a socket receives, and a way to wait for the next. */
export function inbox(ws: WebSocket) {
  const messages: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data) => {
    messages.push(JSON.parse(messageBytes(data).toString('utf8')) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  let read = 0;
  return {
    messages,
    async next(timeoutMs = 20_000): Promise<Record<string, unknown>> {
      const deadline = Date.now() + timeoutMs;
      while (read >= messages.length) {
        if (Date.now() > deadline) throw new Error('no message in time');
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.max(1, deadline - Date.now()));
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
      return messages[read++]!;
    },
  };
}

export function closeOf(ws: WebSocket, timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve({ code: -1, reason: 'already closed' });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('socket not closed in time')), timeoutMs);
    ws.once('close', (code, reason) => {
      clearTimeout(t);
      resolve({ code, reason: reason.toString() });
    });
  });
}

export async function tokenOf(setup: LoopbackSetup): Promise<string> {
  return (await readFile(setup.server.tokenFile, 'utf8')).trim();
}

export async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}
