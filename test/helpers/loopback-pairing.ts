/**
 * The extension's pairing code (extension/lib/loopback-pairing.ts), run from
 * Node with the `ws` client, for tests that speak to the loopback channel as the
 * paired extension would.
 */
import WebSocket from 'ws';
import {
  ClientHandshake,
  loadPairing,
  type LoopbackPairing,
  type PairingStorageArea,
} from '../../extension/lib/loopback-pairing.ts';
import { pairWithCompanion, type PairingResult, type WebSocketLike } from '../../extension/lib/loopback-transport.ts';
import { messageBytes } from '../../native-host/loopback/message-bytes.ts';

/** `storage.local` in memory. */
export function memoryStorage(): PairingStorageArea & { items: Record<string, unknown> } {
  const items: Record<string, unknown> = {};
  return {
    items,
    get: async (key) => (key in items ? { [key]: items[key] } : {}),
    set: async (more) => void Object.assign(items, more),
    remove: async (key) => void delete items[key],
  };
}

export function socketWithOrigin(origin: string): (url: string) => WebSocketLike {
  return (url) => new WebSocket(url, { origin }) as unknown as WebSocketLike;
}

/** Pairs with the code shown; the pairing the extension would keep, or why it failed. */
export async function pairAs(
  origin: string,
  port: number,
  code: string,
): Promise<{ result: PairingResult; pairing: LoopbackPairing | undefined; storage: PairingStorageArea }> {
  const storage = memoryStorage();
  const result = await pairWithCompanion({ port, code, storage, openSocket: socketWithOrigin(origin) });
  return { result, pairing: await loadPairing(storage), storage };
}

/** Runs the client handshake on an open socket; resolves true once authenticated, false when refused or not proved. */
export function authenticateSocket(ws: WebSocket, pairing: LoopbackPairing, timeoutMs = 10_000): Promise<boolean> {
  const handshake = new ClientHandshake({ mode: 'session', pairing });
  return new Promise((resolve) => {
    let chain = Promise.resolve();
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      resolve(ok);
    };
    const onMessage = (data: WebSocket.RawData) => {
      chain = chain.then(async () => {
        const step = await handshake.receive(JSON.parse(messageBytes(data).toString('utf8')));
        if ('send' in step) return ws.send(JSON.stringify(step.send));
        return finish('done' in step);
      });
    };
    const onClose = () => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    ws.on('message', onMessage);
    ws.once('close', onClose);
    ws.send(JSON.stringify(handshake.start()));
  });
}
