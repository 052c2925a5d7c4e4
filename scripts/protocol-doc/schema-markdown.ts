/**
 * Valibot schemas described in Markdown: a field table for an object schema
 * (name, type, required, rules, comment) and a short type text for any schema.
 * Reads valibot's public schema objects (`type`, `entries`, `pipe`, `options`...);
 * a kind of schema it does not know is named as such, never dropped.
 */
import type { GenericSchema } from 'valibot';

/** The parts of a valibot schema or pipe action read here (all are public properties). */
interface SchemaNode {
  kind: 'schema' | 'validation' | 'transformation' | 'metadata';
  type: string;
  expects?: string;
  pipe?: readonly SchemaNode[];
  entries?: Record<string, SchemaNode>;
  options?: readonly unknown[];
  item?: SchemaNode;
  wrapped?: SchemaNode;
  literal?: unknown;
  requirement?: unknown;
  default?: unknown;
  key?: string;
}

export interface NamedSchema {
  name: string;
  schema: GenericSchema;
}

const node = (schema: unknown) => schema as SchemaNode;

export function isObjectSchema(schema: unknown): boolean {
  const type = node(schema).type;
  return type === 'strict_object' || type === 'object' || type === 'loose_object';
}

export function isVariantSchema(schema: unknown): boolean {
  return node(schema).type === 'variant';
}

/** The variant's member schemas (valibot keeps them as `options`). */
export function variantMembers(schema: unknown): unknown[] {
  return [...(node(schema).options ?? [])];
}

/** The value of an object schema's literal `type` field, if it has one. */
export function messageType(schema: unknown): string | undefined {
  const field = node(schema).entries?.type;
  return field?.type === 'literal' && typeof field.literal === 'string' ? field.literal : undefined;
}

const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function ruleText(action: SchemaNode): string {
  const requirement = action.requirement;
  switch (action.type) {
    case 'min_length':
      return `length ≥ ${String(requirement)}`;
    case 'max_length':
      return `length ≤ ${String(requirement)}`;
    case 'length':
      return `length ${String(requirement)}`;
    case 'regex':
      return `matches ${code(String(requirement))}`;
    case 'integer':
      return 'integer';
    case 'min_value':
      return `≥ ${String(requirement)}`;
    case 'max_value':
      return `≤ ${String(requirement)}`;
    case 'max_size':
    case 'max_bytes':
      return `at most ${String(requirement)} bytes`;
    default:
      return action.type.replace(/_/g, ' ');
  }
}

/** The checks in a schema's pipe, in order (the schema itself excluded). */
export function rulesOf(schema: unknown): string[] {
  const pipe = node(schema).pipe ?? [];
  return pipe.filter((step) => step.kind === 'validation').map(ruleText);
}

/** A short type text: `string`, `"hello"`, `ProductStatus[]`, one of `"a"`, `"b"`. */
export function typeText(schema: unknown, names: readonly NamedSchema[]): string {
  const named = names.find((n) => n.schema === schema);
  if (named) return `[${named.name}](#${anchor(named.name)})`;
  const s = node(schema);
  const base = s.pipe?.[0] ?? s;
  switch (base.type) {
    case 'literal':
      return code(JSON.stringify(base.literal));
    case 'picklist':
      return (base.options ?? []).map((o) => code(JSON.stringify(o))).join(' or ');
    case 'array':
      return `array of ${typeText(base.item, names)}`;
    case 'nullable':
      return `${typeText(base.wrapped, names)} or ${code('null')}`;
    case 'optional':
      return typeText(base.wrapped, names);
    case 'strict_object':
    case 'object':
    case 'loose_object':
      return `{ ${Object.entries(base.entries ?? {})
        .map(([key, value]) => `${key}: ${typeText(value, names)}${innerRules(value)}`)
        .join(', ')} }`;
    case 'variant':
    case 'union':
      return variantMembers(base)
        .map((member) => typeText(member, names))
        .join(' or ');
    default:
      return base.type;
  }
}

function innerRules(schema: unknown): string {
  const rules = rulesOf(node(schema).type === 'optional' ? node(schema).wrapped : schema);
  return rules.length > 0 ? ` (${rules.join(', ')})` : '';
}

/** The heading anchor GitHub makes for a heading text. */
export function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

/** One row per field: name, type, required or default, rules, and the source's comment for it. */
export function fieldTable(
  schema: unknown,
  comments: ReadonlyMap<string, string>,
  names: readonly NamedSchema[],
): string {
  const rows = Object.entries(node(schema).entries ?? {}).map(([field, value]) => {
    const optional = value.type === 'optional';
    const inner = optional ? value.wrapped : value;
    const presence = !optional
      ? 'yes'
      : value.default !== undefined
        ? `no (default ${code(JSON.stringify(value.default))})`
        : 'no';
    const rules = rulesOf(inner).join(', ');
    return `| ${code(field)} | ${cell(typeText(inner, names))} | ${presence} | ${cell(rules)} | ${cell(comments.get(field) ?? '')} |`;
  });
  const strictness =
    node(schema).type === 'strict_object' ? 'Any other field makes the message invalid.' : 'Other fields are ignored.';
  return ['| field | type | required | rules | meaning |', '|---|---|---|---|---|', ...rows, '', strictness].join('\n');
}
