/**
 * Extension modules tested in Node (the activation controller) get their texts from
 * `browser.i18n`. Here that is the English messages as the build writes them
 * (@wxt-dev/i18n's own converter), looked up the way Chromium does: `$1`..`$9`
 * are substitutions, `$$` a dollar sign. Browser tests use the real thing.
 */
import { generateChromeMessages, parseMessagesFile } from '@wxt-dev/i18n/build';

const messages = generateChromeMessages(await parseMessagesFile('extension/locales/en.yml')) as Record<
  string,
  { message: string }
>;

function getMessage(name: string, substitutions?: string | string[]): string {
  const entry = messages[name];
  if (!entry) return '';
  const subs = typeof substitutions === 'string' ? [substitutions] : (substitutions ?? []);
  return entry.message.replace(/\$(\$|[1-9])/g, (_, what: string) =>
    what === '$' ? '$' : (subs[Number(what) - 1] ?? ''),
  );
}

const g = globalThis as { chrome?: { i18n?: unknown } };
g.chrome ??= {};
g.chrome.i18n ??= { getMessage, getUILanguage: () => 'en' };
