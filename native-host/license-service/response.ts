/**
 * Reads a License Service answer. Elements are matched by namespace and local
 * name (a prefixed `<ls:UserToken>` is the same element as `<UserToken>` under a
 * default namespace), every expected element must appear exactly once, and each
 * credential must have its documented shape: these values end up in signed
 * HTTP headers, so anything odd is refused rather than used.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { LICENSE_SERVICE_NAMESPACE } from './protocol.ts';

export interface ActivationCredentials {
  userToken: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export type LicenseServiceAnswer =
  | { kind: 'credentials'; credentials: ActivationCredentials; requestId: string | undefined }
  | { kind: 'error'; code: string; message: string; requestId: string | undefined }
  /** `reason` is safe to log: it names what was wrong, never a value. */
  | { kind: 'unusable'; reason: string };

/** Far more than any real answer (a few hundred bytes); the reader stops there. */
export const MAX_ANSWER_BYTES = 64 * 1024;

const CREDENTIAL_SHAPES = {
  UserToken: /^\{UserToken\}[A-Za-z0-9+/=]{16,4096}$/,
  AWSAccessKeyId: /^[A-Z0-9]{16,128}$/,
  SecretAccessKey: /^[A-Za-z0-9+/=]{16,128}$/,
} as const;
const REQUEST_ID_SHAPE = /^[A-Za-z0-9-]{1,128}$/;
const ERROR_CODE_SHAPE = /^[A-Za-z0-9.]{1,100}$/;

interface XmlElement {
  namespace: string | null;
  localName: string;
  children: XmlElement[];
  text: string;
}

class UnusableAnswer extends Error {}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  // Keep every value a string: an all-digit access key id must not become a number.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

type OrderedNode = Record<string, unknown>;

/** Turns fast-xml-parser's ordered tree into elements with resolved namespaces. */
function toElements(nodes: unknown, scope: ReadonlyMap<string, string>): XmlElement[] {
  if (!Array.isArray(nodes)) return [];
  const elements: XmlElement[] = [];
  for (const node of nodes as OrderedNode[]) {
    const name = Object.keys(node).find((k) => k !== ':@' && k !== '#text');
    if (name === undefined) continue;
    const attributes = (node[':@'] ?? {}) as Record<string, string>;
    const inner = new Map(scope);
    for (const [attr, value] of Object.entries(attributes)) {
      if (attr === 'xmlns') inner.set('', value);
      else if (attr.startsWith('xmlns:')) inner.set(attr.slice(6), value);
    }
    const colon = name.indexOf(':');
    const prefix = colon === -1 ? '' : name.slice(0, colon);
    const namespace = inner.get(prefix);
    if (prefix !== '' && namespace === undefined)
      throw new UnusableAnswer('an element uses an undeclared namespace prefix');
    const content = node[name] as OrderedNode[];
    elements.push({
      namespace: namespace || null,
      localName: colon === -1 ? name : name.slice(colon + 1),
      children: toElements(content, inner),
      text: content
        .filter((c) => typeof c['#text'] === 'string')
        .map((c) => c['#text'] as string)
        .join(''),
    });
  }
  return elements;
}

function only(parent: XmlElement, namespace: string | null, localName: string): XmlElement | undefined {
  const found = parent.children.filter((c) => c.localName === localName && c.namespace === namespace);
  if (found.length > 1) throw new UnusableAnswer(`${localName} appears more than once`);
  return found[0];
}

function requestIdOf(element: XmlElement | undefined): string | undefined {
  const text = element?.text;
  return text !== undefined && REQUEST_ID_SHAPE.test(text) ? text : undefined;
}

function readCredentials(root: XmlElement): LicenseServiceAnswer {
  const ns = LICENSE_SERVICE_NAMESPACE;
  const result = only(root, ns, 'ActivateDesktopProductResult');
  if (!result) return { kind: 'unusable', reason: 'the answer has no ActivateDesktopProductResult' };
  const values: Partial<Record<keyof typeof CREDENTIAL_SHAPES, string>> = {};
  for (const [name, shape] of Object.entries(CREDENTIAL_SHAPES) as [keyof typeof CREDENTIAL_SHAPES, RegExp][]) {
    const element = only(result, ns, name);
    // All three work as a unit: with one missing or odd, none is used.
    if (!element || element.text === '') return { kind: 'unusable', reason: `the result lacks ${name}` };
    if (!shape.test(element.text))
      return { kind: 'unusable', reason: `the result's ${name} is not in the documented form` };
    values[name] = element.text;
  }
  const metadata = only(root, ns, 'ResponseMetadata');
  return {
    kind: 'credentials',
    credentials: {
      userToken: values.UserToken!,
      accessKeyId: values.AWSAccessKeyId!,
      secretAccessKey: values.SecretAccessKey!,
    },
    requestId: metadata ? requestIdOf(only(metadata, ns, 'RequestId')) : undefined,
  };
}

function readError(
  error: XmlElement | undefined,
  namespace: string | null,
  requestId: string | undefined,
): LicenseServiceAnswer {
  if (!error) return { kind: 'unusable', reason: 'the error answer has no Error element' };
  const code = only(error, namespace, 'Code')?.text ?? '';
  if (!ERROR_CODE_SHAPE.test(code)) return { kind: 'unusable', reason: 'the error answer has no usable Code' };
  return { kind: 'error', code, message: only(error, namespace, 'Message')?.text ?? '', requestId };
}

/** Classifies a response body; never throws. */
export function parseLicenseServiceAnswer(body: string): LicenseServiceAnswer {
  if (body.trim() === '') return { kind: 'unusable', reason: 'the answer is empty' };
  if (body.length > MAX_ANSWER_BYTES) return { kind: 'unusable', reason: 'the answer is too large' };
  // The service never sends a DTD; refusing one rules out entity expansion tricks.
  if (/<!DOCTYPE/i.test(body)) return { kind: 'unusable', reason: 'the answer carries a DOCTYPE' };
  // Deprecated in favour of the fast-xml-validator package, which is not among the packages this project can
  // install; the validator still ships with fast-xml-parser 5.
  // oxlint-disable-next-line typescript/no-deprecated
  if (XMLValidator.validate(body) !== true) return { kind: 'unusable', reason: 'the answer is not well-formed XML' };
  try {
    const roots = toElements(parser.parse(body), new Map());
    const root = roots[0];
    if (roots.length !== 1 || !root) return { kind: 'unusable', reason: 'the answer has no single root element' };
    const ns = LICENSE_SERVICE_NAMESPACE;
    if (root.localName === 'ActivateDesktopProductResponse' && root.namespace === ns) return readCredentials(root);
    // Errors: the documented ErrorResponse (in the service's namespace, or in none as
    // some AWS front ends sent it), and the older Response/Errors/Error shape.
    if (root.localName === 'ErrorResponse' && (root.namespace === ns || root.namespace === null)) {
      return readError(
        only(root, root.namespace, 'Error'),
        root.namespace,
        requestIdOf(only(root, root.namespace, 'RequestId')),
      );
    }
    if (root.localName === 'Response' && root.namespace === null) {
      const errors = only(root, null, 'Errors');
      return readError(
        errors?.children.find((c) => c.localName === 'Error' && c.namespace === null),
        null,
        requestIdOf(only(root, null, 'RequestID')),
      );
    }
    return { kind: 'unusable', reason: 'the answer is not an ActivateDesktopProduct response' };
  } catch (error) {
    if (error instanceof UnusableAnswer) return { kind: 'unusable', reason: error.message };
    return { kind: 'unusable', reason: 'the answer could not be parsed' };
  }
}
