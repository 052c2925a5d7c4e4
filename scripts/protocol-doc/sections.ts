/**
 * The generated parts of PROTOCOL.md, each rendered from the code that defines
 * it: every message schema exported by shared/messages.ts (a new request, reply
 * or event appears here without any change to this file), the error codes and
 * the CLI exit code each one ends with, the exit codes, and the loopback
 * channel's port, limits and close codes. Comments come from the same sources.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as messages from '../../shared/messages.ts';
import { DEFAULT_LOOPBACK_PORT } from '../../shared/config.ts';
import { EXIT, exitCodeFor } from '../../native-host/cli/exit-codes.ts';
import { CLOSE_CODES } from '../../native-host/loopback/connection.ts';
import { DEFAULT_LOOPBACK_LIMITS } from '../../native-host/loopback/server.ts';
import {
  fieldTable,
  isObjectSchema,
  isVariantSchema,
  messageType,
  variantMembers,
  type NamedSchema,
} from './schema-markdown.ts';
import { memberComments } from './source-comments.ts';

/** The files the imports above come from, read for their comments. Moving a definition: change both. */
const SOURCE_FILES = {
  messages: 'shared/messages.ts',
  exitCodes: 'native-host/cli/exit-codes.ts',
  connection: 'native-host/loopback/connection.ts',
  server: 'native-host/loopback/server.ts',
} as const;

const read = (file: keyof typeof SOURCE_FILES) => readFileSync(resolve(SOURCE_FILES[file]), 'utf8');
const code = (text: string | number) => `\`${String(text)}\``;
const table = (header: string[], rows: string[][]) =>
  [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');

/** Every valibot schema shared/messages.ts exports, named without the `Schema` suffix. */
function exportedSchemas(): NamedSchema[] {
  return Object.entries(messages)
    .filter(
      ([name, value]) => name.endsWith('Schema') && typeof value === 'object' && value !== null && 'kind' in value,
    )
    .map(([name, value]) => ({ name: name.replace(/Schema$/, ''), schema: value as NamedSchema['schema'] }));
}

interface MessageGroups {
  requests: NamedSchema[];
  replies: NamedSchema[];
  /** Messages in neither union: sent unasked (events). */
  events: NamedSchema[];
  /** Objects without a `type` that messages carry. */
  types: NamedSchema[];
}

function groupMessages(schemas: NamedSchema[]): MessageGroups {
  const nameOf = (member: unknown, union: string) =>
    schemas.find((s) => s.schema === member) ?? {
      name: `${union} "${messageType(member) ?? '?'}"`,
      schema: member as NamedSchema['schema'],
    };
  const membersOf = (name: string) => {
    const union = schemas.find((s) => s.name === name);
    if (!union || !isVariantSchema(union.schema))
      throw new Error(`protocol-doc: shared/messages.ts exports no ${name}Schema union`);
    return variantMembers(union.schema).map((member) => nameOf(member, name));
  };
  const requests = membersOf('Request');
  const replies = membersOf('Reply');
  const inUnions = new Set<unknown>([...requests, ...replies].map((s) => s.schema));
  const otherUnionMembers = schemas
    .filter((s) => isVariantSchema(s.schema) && s.name !== 'Request' && s.name !== 'Reply')
    .flatMap((s) => variantMembers(s.schema).map((member) => nameOf(member, s.name)));
  const objects = [...schemas.filter((s) => isObjectSchema(s.schema)), ...otherUnionMembers].filter(
    (s, i, all) => !inUnions.has(s.schema) && all.findIndex((o) => o.schema === s.schema) === i,
  );
  const byName = (a: NamedSchema, b: NamedSchema) => a.name.localeCompare(b.name);
  return {
    requests,
    replies,
    events: objects.filter((s) => messageType(s.schema) !== undefined).sort(byName),
    types: objects.filter((s) => messageType(s.schema) === undefined).sort(byName),
  };
}

function messageSection(group: NamedSchema[], schemas: NamedSchema[], source: string): string {
  return group
    .map(({ name, schema }) => {
      const type = messageType(schema);
      const lead = type === undefined ? '' : `\`"type": "${type}"\`\n\n`;
      let comments = new Map<string, string>();
      try {
        comments = memberComments(source, `${name}Schema`);
      } catch {
        // A member of a union that is not exported under a name of its own: no comments to read.
      }
      return `### ${name}\n\n${lead}${fieldTable(
        schema,
        comments,
        // Linked by name: the object schemas that have a section of their own here.
        schemas.filter((s) => isObjectSchema(s.schema) && s.schema !== schema),
      )}`;
    })
    .join('\n\n');
}

function constantsSection(): string {
  // Sorted: a module namespace's key order differs between loaders.
  const numbers = Object.entries(messages)
    .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
    .sort(([a], [b]) => a.localeCompare(b));
  return table(
    ['name', 'value'],
    [...numbers, ['DEFAULT_LOOPBACK_PORT', DEFAULT_LOOPBACK_PORT] as const].map(([name, value]) => [
      code(name),
      code(value),
    ]),
  );
}

function exitName(exit: number): string {
  return Object.entries(EXIT).find(([, value]) => value === exit)?.[0] ?? '?';
}

function errorCodesSection(): string {
  const comments = memberComments(read('messages'), 'ERROR_CODES');
  return table(
    ['code', 'meaning', 'CLI exit code'],
    messages.ERROR_CODES.map((error) => {
      const exit = exitCodeFor(error);
      return [code(error), comments.get(error) ?? '', `${exit} (${exitName(exit)})`];
    }),
  );
}

function exitCodesSection(): string {
  const comments = memberComments(read('exitCodes'), 'EXIT');
  return table(
    ['exit code', 'name', 'meaning'],
    Object.entries(EXIT).map(([name, value]) => [code(value), code(name), comments.get(name) ?? '']),
  );
}

function loopbackLimitsSection(): string {
  const comments = new Map([
    ...memberComments(read('connection'), 'ConnectionLimits'),
    ...memberComments(read('server'), 'LoopbackLimits'),
  ]);
  const limits: Record<string, number> = { ...DEFAULT_LOOPBACK_LIMITS };
  return table(
    ['limit', 'default', 'meaning'],
    Object.entries(limits).map(([name, value]) => [code(name), code(value), comments.get(name) ?? '']),
  );
}

function closeCodesSection(): string {
  const comments = memberComments(read('connection'), 'CLOSE_CODES');
  return table(
    ['close code', 'name', 'meaning'],
    Object.entries(CLOSE_CODES).map(([name, value]) => [code(value), code(name), comments.get(name) ?? '']),
  );
}

/** Section name (as in PROTOCOL.md's markers) -> its Markdown. */
export function renderSections(): Map<string, string> {
  const schemas = exportedSchemas();
  const groups = groupMessages(schemas);
  const source = read('messages');
  return new Map([
    ['constants', constantsSection()],
    ['requests', messageSection(groups.requests, schemas, source)],
    ['replies', messageSection(groups.replies, schemas, source)],
    ['events', messageSection(groups.events, schemas, source)],
    ['types', messageSection(groups.types, schemas, source)],
    ['error-codes', errorCodesSection()],
    ['exit-codes', exitCodesSection()],
    ['loopback-limits', loopbackLimitsSection()],
    ['loopback-close-codes', closeCodesSection()],
  ]);
}

const BEGIN = /<!-- BEGIN GENERATED: ([a-z-]+) .*?-->\n/g;

/** The document with the body between each pair of markers replaced by its section; throws on a missing or unknown marker. */
export function fillSections(document: string, sections: ReadonlyMap<string, string>): string {
  const seen = new Set<string>();
  const filled = document.replace(BEGIN, (begin: string, name: string) => {
    if (!sections.has(name))
      throw new Error(`PROTOCOL.md has a generated section "${name}" that the generator does not make.`);
    seen.add(name);
    return `${begin}\uE000${name}\uE000`;
  });
  const missing = [...sections.keys()].filter((name) => !seen.has(name));
  if (missing.length > 0)
    throw new Error(
      `PROTOCOL.md lacks the markers for: ${missing.join(', ')}. Add <!-- BEGIN GENERATED: NAME --> … <!-- END GENERATED: NAME --> where each belongs.`,
    );
  const result = filled.replace(
    /\uE000([a-z-]+)\uE000[\s\S]*?(<!-- END GENERATED: \1 -->)/g,
    (_all, name: string, end: string) => `${sections.get(name)}\n${end}`,
  );
  const unclosed = /\uE000([a-z-]+)\uE000/.exec(result);
  if (unclosed)
    throw new Error(
      `PROTOCOL.md: the generated section "${unclosed[1]}" has no <!-- END GENERATED: ${unclosed[1]} --> marker.`,
    );
  return result;
}
