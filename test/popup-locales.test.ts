/**
 * The locales: every language has exactly the English keys, with the same
 * placeholders, plural forms and commands, and every key is used somewhere in
 * the extension (or its manifest). A missing or stale key fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMessagesFile, type ParsedMessage } from '@wxt-dev/i18n/build';
import { describe, expect, it } from 'vitest';

const LOCALES_DIR = 'extension/locales';
const DEFAULT_LOCALE = 'en';

async function load(locale: string): Promise<Map<string, ParsedMessage>> {
  const messages = await parseMessagesFile(join(LOCALES_DIR, `${locale}.yml`));
  // The parser adds the browser's predefined messages (@@ui_locale, ...): not ours.
  return new Map(messages.filter((m) => !m.key[0]?.startsWith('@@')).map((m) => [m.key.join('.'), m]));
}

const textOf = (m: ParsedMessage): string => (m.type === 'plural' ? Object.values(m.plurals).join(' | ') : m.message);
/** What must survive translation: named placeholders, `$1` substitutions, `commands`. */
const invariants = (m: ParsedMessage) => ({
  named: [...m.namedSubstitutions].sort(),
  substitutions: m.substitutions,
  plural: m.type === 'plural' ? Object.keys(m.plurals).filter((k) => k === 'n' || k === '1') : null,
  commands: [...textOf(m).matchAll(/`[^`]+`/g)].map(([c]) => c).sort(),
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'locales' ? [] : sourceFiles(path);
    return /\.(ts|html|css)$/.test(entry.name) ? [path] : [];
  });
}

const locales = readdirSync(LOCALES_DIR)
  .filter((f) => f.endsWith('.yml'))
  .map((f) => f.slice(0, -4));

describe('locales', () => {
  it('ships English and German', () => {
    expect(locales.sort()).toEqual(['de', 'en']);
  });

  for (const locale of locales.filter((l) => l !== DEFAULT_LOCALE)) {
    it(`${locale} has every English key, no other, with the same placeholders and commands`, async () => {
      const english = await load(DEFAULT_LOCALE);
      const other = await load(locale);
      expect([...other.keys()].sort()).toEqual([...english.keys()].sort());
      for (const [key, message] of english) {
        const translated = other.get(key)!;
        expect({ key, ...invariants(translated) }).toEqual({ key, ...invariants(message) });
        expect(textOf(translated).trim(), key).not.toBe('');
      }
    });
  }

  it('every key is used by the extension or its manifest', async () => {
    const sources = [...sourceFiles('extension'), 'wxt.config.ts'].map((file) => readFileSync(file, 'utf8')).join('\n');
    const unused = [...(await load(DEFAULT_LOCALE)).keys()].filter(
      (key) => !sources.includes(`'${key}'`) && !sources.includes(`__MSG_${key.replaceAll('.', '_')}__`),
    );
    expect(unused).toEqual([]);
  });

  it('the built extension carries each locale and names itself through it', () => {
    const built = '.output/chrome-mv3';
    const manifest = JSON.parse(readFileSync(join(built, 'manifest.json'), 'utf8')) as Record<string, string>;
    expect(manifest.default_locale).toBe(DEFAULT_LOCALE);
    expect(manifest.name).toBe('__MSG_manifest_name__');
    expect(manifest.description).toBe('__MSG_manifest_description__');
    const vendor = (JSON.parse(readFileSync('shared/config/demo.json', 'utf8')) as { vendor: { name: string } }).vendor
      .name;
    for (const locale of locales) {
      const messages = JSON.parse(readFileSync(join(built, '_locales', locale, 'messages.json'), 'utf8')) as Record<
        string,
        { message: string }
      >;
      // The vendor's name is filled in at build time; the manifest cannot pass it.
      expect(messages.manifest_name?.message).toContain(vendor);
      expect(messages.manifest_name?.message).not.toContain('{vendor}');
      // Chromium's limits for the name and description.
      expect(messages.manifest_name!.message.length).toBeLessThanOrEqual(75);
      expect(messages.manifest_description!.message.length).toBeLessThanOrEqual(132);
    }
  });
});
