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
import { t, type MessageKey } from '../../lib/strings.ts';

/** The message shown for each outcome of a pairing attempt. */
const RESULT_KEYS = {
  ok: 'pairing.ok',
  'bad-code': 'pairing.badCode',
  'not-running': 'pairing.notRunning',
  refused: 'pairing.refused',
  timeout: 'pairing.timeout',
} as const satisfies Record<(PairingResult & { ok: false })['reason'] | 'ok', MessageKey>;

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

export function mountPairing(
  parent: HTMLElement,
  port: number,
  storage: PairingStorageArea = browser.storage.local,
): void {
  const section = element('section', { id: 'pairing', 'aria-labelledby': 'pairing-heading' });
  const status = element('p', { id: 'pairing-status' });
  const form = element('form');
  const input = element('input', {
    id: 'pairing-code',
    'data-focus': 'pairing-code',
    autocomplete: 'off',
    spellcheck: 'false',
    maxlength: '16',
    'aria-describedby': 'pairing-status',
  });
  const button = element('button', { id: 'pair', type: 'submit', 'data-focus': 'pair' }, t('pairing.button'));
  const result = element('p', { id: 'pairing-result', role: 'status' });
  form.append(element('label', { for: 'pairing-code' }, t('pairing.label')), input, button);
  section.append(element('h2', { id: 'pairing-heading' }, t('pairing.heading')), status, form, result);
  parent.append(section);

  const showStatus = async () => {
    const paired = (await loadPairing(storage)) !== undefined;
    section.dataset.paired = String(paired);
    status.textContent = paired ? t('pairing.paired') : t('pairing.unpaired');
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const code = normalisePairingCode(input.value);
    if (!code) {
      result.dataset.result = 'bad-format';
      result.textContent = t('pairing.badFormat');
      return;
    }
    button.disabled = true;
    result.dataset.result = 'working';
    result.textContent = t('pairing.working');
    void pairWithCompanion({ port, code, storage }).then(async (outcome) => {
      const key = outcome.ok ? 'ok' : outcome.reason;
      result.dataset.result = key;
      result.textContent = t(RESULT_KEYS[key]);
      if (outcome.ok) input.value = '';
      button.disabled = false;
      return showStatus();
    });
  });
  void showStatus();
}
