/**
 * The desktop notifications the background shows when a page's key needs the
 * customer or has been used. One id per product, so a newer notification
 * replaces an older one. Texts never hold a key.
 */
import { STRINGS } from '../strings.ts';
import type { FailedPhase, Slot } from './attempt.ts';

export interface Notification {
  id: string;
  title: string;
  message: string;
}

export function activatedNotification(code: string, name: string): Notification {
  return {
    id: `devpay-activated-${code}`,
    title: STRINGS.notification.activatedTitle(name),
    message: STRINGS.notification.activatedBody(name),
  };
}

/** `confirm-key`: a link's key waits for the customer; otherwise the attempt ended in `phase`, saying `message`. */
export function attentionNotification(
  slot: Slot,
  name: string,
  phase: FailedPhase | 'confirm-key',
  message = '',
): Notification {
  const body =
    phase === 'confirm-key'
      ? STRINGS.notification.confirmKeyBody
      : phase === 'confirm-replace'
        ? STRINGS.notification.confirmBody
        : phase === 'fallback'
          ? STRINGS.notification.fallbackBody
          : STRINGS.notification.failedBody(message);
  return {
    id: `devpay-attention-${slot ?? 'unknown'}`,
    title: STRINGS.notification.attentionTitle(name),
    message: body,
  };
}
