/**
 * The built popup in real headless Chromium, in each of its states (reached for
 * real: host, simulator, keychain, purchases; see machine/popup-states.ts):
 * axe-core finds nothing serious or critical; Tab reaches every control in
 * document order with a visible focus ring; Enter and Space work the buttons;
 * the state is written in words and announced by the live region.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { focusableInOrder, pressOn, runAxe, tabStops, type AxeFinding, type TabStop } from './helpers/popup-checks.ts';
import {
  POPUP_STATES,
  announcements,
  productState,
  rowSelector,
  visitPopupStates,
  type PopupStateName,
} from './machine/popup-states.ts';
import { waitFor } from './machine/wait.ts';

interface Seen {
  axe: AxeFinding[];
  stops: TabStop[];
  focusable: string[];
  live: string;
  productName: string;
  stateWords: string;
  /** What pressing a key on a control did, when the state has one to try. */
  keyboard?: { control: string; key: string; outcome: string | null };
}

const seen = new Map<PopupStateName, Seen>();

/** Per state: the control a keyboard user would use, the key pressed, and what must follow. */
const KEYBOARD: Partial<
  Record<PopupStateName, { control: (code: string) => string; key: 'Enter' | ' '; expect: string }>
> = {
  'confirm-replace': { control: (code) => `${code}:cancel-replace`, key: ' ', expect: 'activated' },
  'confirm-key': { control: (code) => `${code}:ignore-key`, key: 'Enter', expect: 'not-activated' },
  'expired-key': { control: (code) => `${code}:dismiss`, key: ' ', expect: 'not-activated' },
  'host-missing': { control: (code) => `${code}:copy-key`, key: 'Enter', expect: 'copied' },
  activated: { control: () => 'refresh', key: 'Enter', expect: 'refreshed' },
};

beforeAll(async () => {
  await visitPopupStates(
    async ({ name, popup, product }) => {
      const row = popup.locator(rowSelector(product));
      const entry: Seen = {
        axe: await runAxe(popup),
        stops: await tabStops(popup),
        focusable: await focusableInOrder(popup),
        live: (await announcements(popup)).join(' '),
        productName: ((await row.locator('.product-name').textContent()) ?? '').trim(),
        stateWords: ((await row.locator('.product-state').textContent()) ?? '').trim(),
      };
      const plan = KEYBOARD[name];
      if (plan) {
        await pressOn(popup, plan.control(product), plan.key);
        let outcome: string | null = null;
        await waitFor(
          async () => {
            // Copied, or (where the page may not write the clipboard) the key selected with advice: either answers the key press.
            if (plan.expect === 'copied') outcome = (await row.locator('.copy-result').textContent()) ? 'copied' : null;
            else if (plan.expect === 'refreshed') {
              // The refresh ran, the popup redrew, and focus stayed on the button.
              const focus = await popup.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.focus);
              outcome =
                (await popup.textContent('#refresh')) === 'Check again' && focus === 'refresh' ? 'refreshed' : null;
            } else outcome = await productState(popup, product);
            return outcome === plan.expect;
          },
          {
            timeoutMs: 20_000,
            what: `${name}: ${plan.expect} after pressing ${plan.key === ' ' ? 'Space' : plan.key}`,
          },
        ).catch(() => {});
        entry.keyboard = { control: plan.control(product), key: plan.key, outcome };
      }
      seen.set(name, entry);
    },
    { label: 'popup-a11y' },
  );
}, 480_000);

function seenIn(name: PopupStateName): Seen {
  const entry = seen.get(name);
  if (!entry) throw new Error(`The popup never reached the state ${name}.`);
  return entry;
}

describe.each(POPUP_STATES)('the popup, %s', (name) => {
  const get = () => seenIn(name);

  it('has no serious or critical axe-core violations', () => {
    const severe = get().axe.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(severe).toEqual([]);
  });

  it('Tab reaches every control in document order, each with a visible focus ring', () => {
    const { stops, focusable } = get();
    expect(stops.map((s) => s.id)).toEqual(focusable);
    expect(stops.filter((s) => !s.focusVisible)).toEqual([]);
    // At least the "Check again" button and the activate-page link in every state.
    expect(stops.length).toBeGreaterThanOrEqual(2);
  });

  it('says the state in words and announces it', () => {
    const { live, productName, stateWords } = get();
    expect(stateWords.length).toBeGreaterThan(3);
    expect(live).toContain(`${productName}: ${stateWords}.`);
  });
});

describe.each(POPUP_STATES.filter((name) => KEYBOARD[name]))('the popup, %s', (name) => {
  const plan = KEYBOARD[name]!;
  it(`works from the keyboard: ${plan.key === ' ' ? 'Space' : 'Enter'} on ${plan.control('CODE')}`, () => {
    expect(seenIn(name).keyboard?.outcome).toBe(plan.expect);
  });
});
