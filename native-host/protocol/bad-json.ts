/**
 * A message whose body was not JSON (or not UTF-8). Transports (native messaging
 * frames, loopback WebSocket text) hand it to the request handler in place of the
 * message, so the caller gets a BAD_MESSAGE reply and the stream stays usable.
 */
export class BadJsonFrame {
  readonly badJson = true;
  constructor(readonly bytes: number) {}
}

export function isBadJsonFrame(value: unknown): value is BadJsonFrame {
  return value instanceof BadJsonFrame;
}
