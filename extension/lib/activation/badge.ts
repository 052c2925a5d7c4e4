/**
 * The toolbar badge: one mark for the state that most needs the customer
 * (something to act on, then an activation under way, then the last success),
 * with a title that says it in words, and the colour each mark is drawn in.
 */
import { STRINGS } from '../strings.ts';
import type { Attempt, Slot } from './attempt.ts';

export interface Badge {
  text: '!' | '…' | '✓' | '';
  title: string;
}

export const BADGE_COLOURS: Record<Exclude<Badge['text'], ''>, string> = {
  '!': '#8a1c1c',
  '…': '#44546a',
  '✓': '#1d5e2a',
};

export function badgeFor(
  attempts: Iterable<Attempt>,
  lastActivated: string | null,
  nameOf: (slot: Slot) => string,
): Badge {
  const all = [...attempts];
  const attention = all.find((a) => a.phase !== 'in-progress');
  const busy = all.find((a) => a.phase === 'in-progress');
  if (attention) return { text: '!', title: STRINGS.badge.attention(nameOf(attention.product)) };
  if (busy) return { text: '…', title: STRINGS.badge.inProgress(nameOf(busy.product)) };
  if (lastActivated) return { text: '✓', title: STRINGS.badge.activated(nameOf(lastActivated)) };
  return { text: '', title: STRINGS.badge.idle };
}
