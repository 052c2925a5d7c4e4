/**
 * The popup's "Pair with this computer" section, for browsers that reach the
 * companion through the loopback channel (`devpay-companion serve`): says
 * whether this browser is paired and, if not, that keys fall back to copy and
 * paste; takes the one-time code `devpay-companion serve --pair` shows.
 * Drawn outside #app (which is redrawn) so typing is never interrupted.
 *
 * DOM contract (tests rely on it): #pairing[data-paired=true|false],
 * #pairing-status, input#pairing-code, button#pair, #pairing-result[data-result].
 */
import { browser } from 'wxt/browser';
import { normalisePairingCode } from '../../../shared/loopback-auth.ts';
import { loadPairing, type PairingStorageArea } from '../../lib/loopback-pairing.ts';
import { pairWithCompanion, type PairingResult } from '../../lib/loopback-transport.ts';

export const PAIRING_STRINGS = {
  heading: 'Pair with this computer',
  paired: 'Paired: keys can go to `devpay-companion serve` when the browser cannot start the companion itself.',
  unpaired:
    'Not paired. If this browser cannot start the companion itself (Snap, Flatpak), keys are shown for you to copy and paste. To hand them over directly, run `devpay-companion serve --pair` and type the code it shows here.',
  label: 'Pairing code',
  button: 'Pair',
  working: 'Pairing…',
  badFormat: 'A pairing code has 10 letters and digits, like 7K3QX-9ZP2M.',
  results: {
    ok: 'Paired.',
    'bad-code': 'That code was not accepted. Check it, or run `devpay-companion serve --pair` again for a new one.',
    'not-running': 'Nothing answered: is `devpay-companion serve --pair` running?',
    refused: 'The companion refused the code: it may have expired or had too many tries. Run `devpay-companion serve --pair` again.',
    timeout: 'The companion did not answer in time. Try again.',
  } satisfies Record<(PairingResult & { ok: false })['reason'] | 'ok', string>,
} as const;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

export function mountPairing(parent: HTMLElement, port: number, storage: PairingStorageArea = browser.storage.local): void {
  const section = element('section', { id: 'pairing', 'aria-labelledby': 'pairing-heading' });
  const status = element('p', { id: 'pairing-status' });
  const form = element('form');
  const input = element('input', { id: 'pairing-code', autocomplete: 'off', spellcheck: 'false', maxlength: '16', 'aria-describedby': 'pairing-status' });
  const button = element('button', { id: 'pair', type: 'submit' }, PAIRING_STRINGS.button);
  const result = element('p', { id: 'pairing-result', role: 'status' });
  form.append(element('label', { for: 'pairing-code' }, PAIRING_STRINGS.label), input, button);
  section.append(element('h2', { id: 'pairing-heading' }, PAIRING_STRINGS.heading), status, form, result);
  parent.append(section);

  const showStatus = async () => {
    const paired = (await loadPairing(storage)) !== undefined;
    section.dataset.paired = String(paired);
    status.textContent = paired ? PAIRING_STRINGS.paired : PAIRING_STRINGS.unpaired;
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const code = normalisePairingCode(input.value);
    if (!code) {
      result.dataset.result = 'bad-format';
      result.textContent = PAIRING_STRINGS.badFormat;
      return;
    }
    button.disabled = true;
    result.dataset.result = 'working';
    result.textContent = PAIRING_STRINGS.working;
    void pairWithCompanion({ port, code, storage }).then(async (outcome) => {
      const key = outcome.ok ? 'ok' : outcome.reason;
      result.dataset.result = key;
      result.textContent = PAIRING_STRINGS.results[key];
      if (outcome.ok) input.value = '';
      button.disabled = false;
      return showStatus();
    });
  });
  void showStatus();
}
