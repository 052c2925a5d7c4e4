/**
 * Which way a request goes to the host: native messaging first; the loopback
 * channel (`devpay-companion serve`) only when native messaging could not be
 * used at all (host missing, forbidden, or failed to start) and the request
 * certainly never reached the native host; after both, the caller's fallback
 * (copy and paste). Remembers which way each reply came, for the popup.
 */
import type { Reply, Request } from '../../shared/messages.ts';
import { HostUnavailableError, type HostTransport } from './host-transport.ts';
import type { HostRoute, HostUnavailableReason } from './runtime-messages.ts';

/**
 * Native messaging failures that say "there is no usable host this way", as
 * opposed to a host that exited, timed out or answered badly after being reached.
 */
export const LOOPBACK_FALLBACK_REASONS: readonly HostUnavailableReason[] = [
  'not-installed',
  'forbidden',
  'failed-to-start',
];

/** How many recent request ids keep their route (the background has a handful in flight at most). */
const ROUTES_KEPT = 32;

/**
 * True when the request may go to the loopback channel after native messaging
 * failed with `error`. Only `activate` changes anything on the host; hello and
 * status are read-only, so asking them twice is harmless.
 */
export function shouldTryLoopback(message: Request, error: unknown): boolean {
  if (!(error instanceof HostUnavailableError) || !LOOPBACK_FALLBACK_REASONS.includes(error.reason)) return false;
  return message.type !== 'activate' || !error.requestSent;
}

export class FallbackTransport implements HostTransport {
  /** Which way the last answered request went; null when the last request was answered by neither. */
  lastRoute: HostRoute | null = null;
  private readonly routes = new Map<string, HostRoute>();

  constructor(private readonly ways: { native: HostTransport; loopback: HostTransport }) {}

  async request(message: Request): Promise<Reply> {
    let nativeError: unknown;
    try {
      return this.answered(message, 'native', await this.ways.native.request(message));
    } catch (error) {
      nativeError = error;
    }
    if (!shouldTryLoopback(message, nativeError)) return this.failed(nativeError);
    try {
      return this.answered(message, 'loopback', await this.ways.loopback.request(message));
    } catch (loopbackError) {
      // Nothing accepted the loopback connection: why native messaging failed says more
      // (for example "forbidden"). Anything else happened on the loopback host, with the request.
      const nobodyThere = loopbackError instanceof HostUnavailableError && loopbackError.reason === 'not-installed';
      return this.failed(nobodyThere ? nativeError : loopbackError);
    }
  }

  routeOf(requestId: string): HostRoute | undefined {
    return this.routes.get(requestId);
  }

  private answered(message: Request, route: HostRoute, reply: Reply): Reply {
    this.lastRoute = route;
    this.routes.delete(message.id);
    this.routes.set(message.id, route);
    while (this.routes.size > ROUTES_KEPT) {
      const [oldest] = this.routes.keys();
      if (oldest === undefined) break;
      this.routes.delete(oldest);
    }
    return reply;
  }

  private failed(error: unknown): never {
    this.lastRoute = null;
    throw error;
  }
}
