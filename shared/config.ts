/**
 * The vendor configuration: one JSON file shipped with the host (and baked into
 * the extension at build time). One schema validates it; every field but
 * `vendor` and `products` has a documented default.
 */
import * as v from 'valibot';
import { isValidMatchPattern } from './match-pattern.ts';
import { ProductCodeSchema } from './product-code.ts';

export const DEFAULT_LICENSE_SERVICE = 'https://ls.amazonaws.com/';
export const DEFAULT_ACTIVATE_URL = 'https://www.amazon.com/dp-activate';
/** Amazon's purchase confirmation (top frame) and the activate URL page. */
export const DEFAULT_KEY_PAGES = [
  'https://aws-portal.amazon.com/gp/aws/user/subscription/*',
  'https://www.amazon.com/dp-activate*',
] as const;
export const DEFAULT_NATIVE_HOST_NAME = 'com.devpay.companion';
export const DEFAULT_LOOPBACK_PORT = 47815;

const matchPattern = v.pipe(
  v.string(),
  v.check(isValidMatchPattern, 'must be a match pattern such as https://www.example.com/path*'),
  // Anyone on the network path can write a key into a plain-HTTP page.
  v.check(
    (p) => !isValidMatchPattern(p) || p.startsWith('https://'),
    'must be an https:// page: a key shown over plain HTTP can be injected by anyone on the network path',
  ),
);

const httpUrl = v.pipe(
  v.string(),
  v.url('must be an absolute URL'),
  v.check((u) => /^https?:\/\//.test(u), 'must start with http:// or https://'),
);

/** Where the customer is sent for a key: a page that shows one, so https:// only. */
const httpsUrl = v.pipe(
  v.string(),
  v.url('must be an absolute URL'),
  v.check((u) => u.startsWith('https://'), 'must start with https://'),
);

export const ProductSchema = v.strictObject({
  /** DevPay product code, as Amazon appends it to the redirect URL (`ProductCode`). */
  code: ProductCodeSchema,
  name: v.pipe(v.string(), v.trim(), v.minLength(1, 'must not be empty'), v.maxLength(100)),
  productToken: v.pipe(
    v.string(),
    v.startsWith('{ProductToken}', 'must start with {ProductToken}'),
    v.maxLength(4096),
    v.regex(/^\{ProductToken\}[A-Za-z0-9+/=]+$/, 'must be {ProductToken} followed by base64'),
  ),
  /** Where the customer can read about the product (linked from the popup). */
  homepage: v.optional(httpUrl),
});

export const VendorConfigSchema = v.strictObject({
  /** Free text for the people who edit the file. */
  $comment: v.optional(v.string()),
  vendor: v.strictObject({
    /** Names the keychain entries and the data folder: lower-case, digits, dashes. */
    id: v.pipe(
      v.string(),
      v.regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'must be lower-case letters, digits and dashes (at most 40)'),
    ),
    name: v.pipe(v.string(), v.minLength(1, 'must not be empty'), v.maxLength(100)),
  }),
  products: v.pipe(
    v.array(ProductSchema),
    v.minLength(1, 'must list at least one product'),
    v.check((ps) => new Set(ps.map((p) => p.code)).size === ps.length, 'product codes must be unique'),
  ),
  licenseService: v.optional(
    v.pipe(
      v.string(),
      v.url('must be an absolute URL'),
      v.check((u) => u.startsWith('https://'), 'must be an https:// URL: the License Service accepts HTTPS only'),
    ),
    DEFAULT_LICENSE_SERVICE,
  ),
  activateUrl: v.optional(httpsUrl, DEFAULT_ACTIVATE_URL),
  /** Pages whose content shows the key (Amazon's confirmation frame, the activate page). */
  keyPages: v.optional(v.pipe(v.array(matchPattern), v.minLength(1)), [...DEFAULT_KEY_PAGES]),
  /** The vendor's redirect URL(s), where Amazon appends ActivationKey and ProductCode. */
  redirectPages: v.optional(v.array(matchPattern), []),
  nativeHostName: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[a-z0-9_]+(\.[a-z0-9_]+)*$/, 'must be lower-case letters, digits, dots and underscores'),
    ),
    DEFAULT_NATIVE_HOST_NAME,
  ),
  extensions: v.pipe(
    v.strictObject({
      /** Chromium extension IDs (32 letters a-p). */
      chromium: v.optional(
        v.array(v.pipe(v.string(), v.regex(/^[a-p]{32}$/, 'must be a 32-letter Chromium extension ID'))),
        [],
      ),
      /** Firefox add-on IDs (`name@domain` or a `{uuid}`). */
      firefox: v.optional(
        v.array(
          v.pipe(
            v.string(),
            v.regex(/^(\{[0-9a-fA-F-]{36}\}|[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+)$/, 'must be a Firefox add-on ID'),
          ),
        ),
        [],
      ),
    }),
    v.check((e) => e.chromium.length + e.firefox.length > 0, 'must allow at least one extension'),
  ),
  /** Loopback WebSocket port for sandboxed browsers and desktop products. */
  loopbackPort: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1024), v.maxValue(65535)), DEFAULT_LOOPBACK_PORT),
});

export type VendorConfig = v.InferOutput<typeof VendorConfigSchema>;
export type Product = v.InferOutput<typeof ProductSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
  }
}

/** Valibot's wording for a missing or an unknown field ("Invalid key: Expected never ...") says little to a vendor. */
function plainMessage(issue: v.BaseIssue<unknown>): string {
  if (issue.type === 'strict_object' && issue.expected === 'never') return 'unknown field (check its spelling)';
  if ((issue.type === 'strict_object' || issue.type === 'object') && issue.received === 'undefined')
    return 'is required';
  return issue.message;
}

/** Every problem on its own line, with the path to it: `products[1].productToken: must start with {ProductToken}`. */
export function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string[] {
  return issues.map((issue) => {
    const path = (issue.path ?? [])
      .map((item) => (typeof item.key === 'number' ? `[${item.key}]` : `.${String(item.key)}`))
      .join('')
      .replace(/^\./, '');
    return `${path || '(top level)'}: ${plainMessage(issue)}`;
  });
}

/** Validates parsed JSON; `source` names the file in the message. */
export function parseVendorConfig(data: unknown, source = 'vendor configuration'): VendorConfig {
  const result = v.safeParse(VendorConfigSchema, data, { abortEarly: false });
  if (result.success) return result.output;
  const problems = describeIssues(result.issues);
  throw new ConfigError(
    `${source} is not valid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
      problems.map((p) => `  - ${p}`).join('\n'),
    problems,
  );
}

export function findProduct(config: VendorConfig, code: string): Product | undefined {
  return config.products.find((p) => p.code === code);
}
