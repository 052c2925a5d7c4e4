/**
 * What the popup shows: one row per configured product (plus one for a key
 * whose product is not known yet), from each product's current attempt, its
 * held key and what the host last said. The key itself is shown only in the
 * fallback state, for the Copy button.
 */
import { ACTIVATION_KEY_LIFETIME_MS } from '../../../shared/activation-key.ts';
import type { KeyRoute, Notice, PopupState, ProductView } from '../runtime-messages.ts';
import type { Attempt, Slot } from './attempt.ts';
import type { HeldKeys } from './held-keys.ts';
import type { HostStatus } from './host-status.ts';
import type { ControllerDeps } from './ports.ts';

export interface PopupFacts {
  config: Pick<ControllerDeps, 'vendorName' | 'activateUrl' | 'products'>;
  attempts: ReadonlyMap<Slot, Attempt>;
  keys: Pick<HeldKeys, 'get'>;
  host: HostStatus;
  notice: Notice | null;
  nameOf: (slot: Slot) => string;
}

export function popupState(facts: PopupFacts): PopupState {
  const { config, attempts, host, notice } = facts;
  const rows: ProductView[] = config.products.map((p) => productView(facts, p.code, p.homepage));
  if (attempts.has(null)) rows.push(productView(facts, null, undefined));
  return {
    type: 'devpay:state',
    vendorName: config.vendorName,
    activateUrl: config.activateUrl,
    host: { ...host.view },
    products: rows,
    notice: notice ? { ...notice } : null,
  };
}

function productView(
  { attempts, keys, host, nameOf }: PopupFacts,
  slot: Slot,
  homepage: string | undefined,
): ProductView {
  const attempt = attempts.get(slot);
  const held = keys.get(slot);
  const status = slot === null ? undefined : host.statuses.get(slot);
  const state = attempt?.phase ?? status?.state ?? 'unknown';
  const route: KeyRoute | null =
    state === 'fallback'
      ? 'paste'
      : attempt
        ? attempt.route
        : state === 'activated' && slot !== null
          ? (host.activatedVia.get(slot) ?? null)
          : null;
  return {
    code: slot,
    name: nameOf(slot),
    homepage: homepage ?? null,
    state,
    activatedAt: status?.activatedAt ?? null,
    accessKeyId: status?.accessKeyId ?? null,
    error: attempt?.error ?? null,
    keyHeld: held !== undefined,
    keyExpiresAt: held ? held.capturedAt + ACTIVATION_KEY_LIFETIME_MS : null,
    key: attempt?.phase === 'fallback' && held ? held.key : null,
    route,
    reactivationPendingUntil: status?.reactivationPendingUntil ?? null,
  };
}
