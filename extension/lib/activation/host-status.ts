/**
 * What the background knows about the host: whether it is reachable (and which
 * way, which version), the last known state of each product's credentials, and
 * which way this browser's key activated each product. Account key IDs are kept
 * masked only.
 */
import * as v from 'valibot';
import { maskIdentifier } from '../../../shared/activation-key.ts';
import { CREDENTIAL_STATES, PROTOCOL_VERSION } from '../../../shared/messages.ts';
import { HostUnavailableError, type HostTransport } from '../host-transport.ts';
import type { HostRoute, HostUnavailableReason, HostView } from '../runtime-messages.ts';

/** A product's credentials as the host last reported them (not the protocol's ProductStatus: no code or name). */
export const LastKnownStatusSchema = v.object({
  state: v.picklist(CREDENTIAL_STATES),
  activatedAt: v.nullable(v.string()),
  /** Masked. */
  accessKeyId: v.nullable(v.string()),
  /** ISO-8601: a reactivation the desktop product started waits for a new key until then. */
  reactivationPendingUntil: v.optional(v.nullable(v.string()), null),
});
export type LastKnownStatus = v.InferOutput<typeof LastKnownStatusSchema>;

export interface HostCheck {
  transport: HostTransport;
  /** Sent in the hello. */
  client: string;
  newId: () => string;
}

export class HostStatus {
  view: HostView = { state: 'unknown', version: null, reason: null, route: null };
  readonly statuses = new Map<string, LastKnownStatus>();
  /** Which way this browser's key activated each product (for the popup; not known for older activations). */
  readonly activatedVia = new Map<string, HostRoute>();

  /** `isOurs`: only the configured products are remembered. */
  constructor(private readonly isOurs: (code: string) => boolean) {}

  /** The host answered, the way `route` says. */
  reached(route: HostRoute | null): void {
    this.view = { state: 'reachable', version: this.view.version, reason: null, route };
  }

  /** `keepVersion`: the host answered, but cannot be used from here. */
  lost(reason: HostUnavailableReason, keepVersion = false): void {
    this.view = { state: 'unreachable', version: keepVersion ? this.view.version : null, reason, route: null };
  }

  activated(code: string, activatedAt: string, accessKeyId: string, route: HostRoute | null): void {
    // The host clears a pending reactivation once a new set is stored.
    this.statuses.set(code, {
      state: 'activated',
      activatedAt,
      accessKeyId: maskIdentifier(accessKeyId),
      reactivationPendingUntil: null,
    });
    if (route) this.activatedVia.set(code, route);
    else this.activatedVia.delete(code);
  }

  checking(): void {
    this.view = { ...this.view, state: 'checking' };
  }

  /** Asks the host who it is and what is activated; any failure leaves it marked unreachable. */
  async check({ transport, client, newId }: HostCheck): Promise<void> {
    try {
      const hello = await transport.request({ type: 'hello', id: newId(), protocol: PROTOCOL_VERSION, client });
      if (hello.type !== 'hello')
        throw new HostUnavailableError(
          hello.type === 'error' && hello.code === 'CALLER_NOT_ALLOWED' ? 'forbidden' : 'bad-reply',
        );
      const statusId = newId();
      const status = await transport.request({ type: 'status', id: statusId });
      if (status.type !== 'status') throw new HostUnavailableError('bad-reply');
      const route = transport.routeOf?.(statusId) ?? null;
      this.view = { state: 'reachable', version: status.hostVersion || hello.hostVersion, reason: null, route };
      for (const p of status.products) {
        if (!this.isOurs(p.code)) continue;
        // Forgotten or re-activated elsewhere since: how this browser activated it no longer says anything.
        const known = this.statuses.get(p.code);
        if (p.state !== 'activated' || (known?.activatedAt && known.activatedAt !== p.activatedAt))
          this.activatedVia.delete(p.code);
        this.statuses.set(p.code, {
          state: p.state,
          activatedAt: p.activatedAt,
          accessKeyId: p.accessKeyId === null ? null : maskIdentifier(p.accessKeyId),
          reactivationPendingUntil: p.reactivationPendingUntil ?? null,
        });
      }
    } catch (error) {
      this.lost(error instanceof HostUnavailableError ? error.reason : 'bad-reply');
    }
  }

  toStored() {
    return {
      statuses: Object.fromEntries(this.statuses),
      activatedVia: Object.fromEntries(this.activatedVia),
      host: this.view,
    };
  }

  restore(stored: {
    statuses: Record<string, LastKnownStatus>;
    activatedVia: Record<string, HostRoute>;
    host?: HostView | undefined;
  }): void {
    for (const [code, status] of Object.entries(stored.statuses))
      if (this.isOurs(code)) this.statuses.set(code, status);
    for (const [code, route] of Object.entries(stored.activatedVia))
      if (this.isOurs(code)) this.activatedVia.set(code, route);
    // A check the stopped worker never finished.
    if (stored.host) this.view = stored.host.state === 'checking' ? { ...stored.host, state: 'unknown' } : stored.host;
  }
}
