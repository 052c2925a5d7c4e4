/** The bytes of one WebSocket message, whichever of its shapes `ws` delivered it in. */
import type { RawData } from 'ws';

export function messageBytes(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}
