/**
 * PROTOCOL.md's tables are generated from shared/messages.ts, the exit codes and
 * the loopback channel's constants (scripts/protocol-doc.ts): this keeps the file
 * in step with them, and checks that the generator covers every message and
 * error code the code defines rather than a list of its own.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, REQUEST_TYPES, ReplySchema } from '../shared/messages.ts';
import { exitCodeFor } from '../native-host/cli/exit-codes.ts';
import { fillSections, renderSections } from '../scripts/protocol-doc/sections.ts';
import { memberComments } from '../scripts/protocol-doc/source-comments.ts';

const document = readFileSync('PROTOCOL.md', 'utf8');
const sections = renderSections();

describe('PROTOCOL.md', () => {
  it('is up to date with the schemas and constants it documents', () => {
    const stale = fillSections(document, sections) !== document;
    expect(stale, 'PROTOCOL.md is out of date: run "npm run protocol-doc" and commit the result.').toBe(false);
  });

  it('documents every request type, reply type and error code the code defines', () => {
    for (const type of REQUEST_TYPES) expect(sections.get('requests')).toContain(`\`"type": "${type}"\``);
    for (const reply of ReplySchema.options)
      expect(sections.get('replies')).toContain(`\`"type": "${reply.entries.type.literal}"\``);
    expect(sections.get('events')).toContain('`"type": "credentials-changed"`');
    for (const code of ERROR_CODES) expect(sections.get('error-codes')).toContain(`| \`${code}\` |`);
  });

  it('gives each error code the exit code the CLI ends with', () => {
    const rows = sections.get('error-codes')!.split('\n').slice(2);
    expect(rows).toHaveLength(ERROR_CODES.length);
    for (const [index, code] of ERROR_CODES.entries())
      expect(rows[index]).toMatch(new RegExp(`^\\| \`${code}\` \\|.*\\| ${exitCodeFor(code)} \\(`));
  });

  it('notices a stale table, and markers that are missing or unknown', () => {
    const edited = document.replace('| `BUSY` |', '| `BUSY_OLD` |');
    expect(fillSections(edited, sections)).not.toBe(edited);
    expect(() =>
      fillSections(document.replace(/<!-- BEGIN GENERATED: events[\s\S]*?END GENERATED: events -->/, ''), sections),
    ).toThrow(/lacks the markers for: events/);
    expect(() =>
      fillSections(`${document}\n<!-- BEGIN GENERATED: pairing -->\n<!-- END GENERATED: pairing -->\n`, sections),
    ).toThrow(/"pairing" that the generator does not make/);
  });
});

describe('source comments', () => {
  it('reads a field comment above it, a comment after it, and skips nested members', () => {
    const source = `export const ThingSchema = v.strictObject({
  /** The first. */
  first: v.string(),
  second: v.pipe(v.string(), v.regex(/^[a-z]{1,3}$/)), // the second
  /**
   * The third,
   * on two lines.
   */
  third: v.strictObject({ inner: v.string() }),
  fourth,
});`;
    expect(Object.fromEntries(memberComments(source, 'ThingSchema'))).toEqual({
      first: 'The first.',
      second: 'the second',
      third: 'The third, on two lines.',
    });
  });
});
