/**
 * The vendor configuration: the demo file is valid and points at the simulator,
 * every optional field has its documented default, and a bad file gets ONE
 * message listing every problem with its path.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_ACTIVATE_URL,
  DEFAULT_KEY_PAGES,
  DEFAULT_LICENSE_SERVICE,
  DEFAULT_LOOPBACK_PORT,
  DEFAULT_NATIVE_HOST_NAME,
  findProduct,
  parseVendorConfig,
} from '../shared/config.ts';

const TOKEN = '{ProductToken}vksyIC1SQh4GlF1i1Ip2DZWHR4ZfsFKmdZ52dh3AwxHTzpvfXml2mPVq9GDin5U/slaJ1+u49Xas=';
const minimal = () => ({
  vendor: { id: 'acme', name: 'Acme' },
  products: [{ code: 'ACMEBK01', name: 'Acme Backup', productToken: TOKEN }],
  extensions: { chromium: ['bjlnkhfkplkddabacdecopbmibdnkiic'] },
});

function problemsOf(data: unknown): { message: string; problems: string[] } {
  let error: unknown;
  try {
    parseVendorConfig(data, 'vendor.json');
  } catch (caught) {
    error = caught;
  }
  if (error === undefined) throw new Error('expected the configuration to be refused');
  expect(error).toBeInstanceOf(ConfigError);
  return { message: (error as ConfigError).message, problems: (error as ConfigError).problems };
}

describe('vendor configuration', () => {
  it('the example vendor configuration is valid and keeps the real endpoints by default', () => {
    const example = parseVendorConfig(JSON.parse(readFileSync('shared/config/example.json', 'utf8')), 'example.json');
    expect(example.licenseService).toBe('https://ls.amazonaws.com/');
    expect(example.activateUrl).toBe('https://www.amazon.com/dp-activate');
    expect(example.keyPages).toEqual([
      'https://aws-portal.amazon.com/gp/aws/user/subscription/*',
      'https://www.amazon.com/dp-activate*',
    ]);
  });

  it('the demo configuration is valid and points at the simulator', () => {
    const demo = parseVendorConfig(JSON.parse(readFileSync('shared/config/demo.json', 'utf8')), 'demo.json');
    expect(demo.licenseService).toBe('https://localhost:8443/');
    expect(demo.products.map((p) => p.code)).toEqual(['ACMEBK01', 'ACMEPV02']);
    expect(findProduct(demo, 'ACMEPV02')?.name).toBe('Acme Photo Vault');
    expect(findProduct(demo, 'NOPE')).toBeUndefined();
  });

  it('fills every optional field with its documented default', () => {
    const config = parseVendorConfig(minimal());
    expect(config).toMatchObject({
      licenseService: DEFAULT_LICENSE_SERVICE,
      activateUrl: DEFAULT_ACTIVATE_URL,
      keyPages: [...DEFAULT_KEY_PAGES],
      redirectPages: [],
      nativeHostName: DEFAULT_NATIVE_HOST_NAME,
      loopbackPort: DEFAULT_LOOPBACK_PORT,
      extensions: { chromium: ['bjlnkhfkplkddabacdecopbmibdnkiic'], firefox: [] },
    });
    expect(DEFAULT_LICENSE_SERVICE).toBe('https://ls.amazonaws.com/');
    expect(DEFAULT_ACTIVATE_URL).toBe('https://www.amazon.com/dp-activate');
    expect(DEFAULT_KEY_PAGES).toContain('https://aws-portal.amazon.com/gp/aws/user/subscription/*');
  });

  it('lists every problem of a bad file in one message, each with its path', () => {
    const { message, problems } = problemsOf({
      vendor: { id: 'Acme Inc', name: '' },
      products: [minimal().products[0], { code: 'PV-02', name: 'Vault', productToken: 'vault-token' }],
      licenseService: 'http://ls.amazonaws.com/',
      keyPages: ['ftp://example.com/*'],
      nativeHostName: 'Com.Acme',
      extensions: { chromium: ['not-an-id'] },
      loopbackPort: 80,
      colour: 'red',
    });
    expect(problems).toEqual([
      'vendor.id: must be lower-case letters, digits and dashes (at most 40)',
      'vendor.name: must not be empty',
      'products[1].code: must be 1 to 32 letters and digits',
      'products[1].productToken: must start with {ProductToken}',
      'products[1].productToken: must be {ProductToken} followed by base64',
      'licenseService: must be an https:// URL: the License Service accepts HTTPS only',
      'keyPages[0]: must be a match pattern such as https://www.example.com/path*',
      'nativeHostName: must be lower-case letters, digits, dots and underscores',
      'extensions.chromium[0]: must be a 32-letter Chromium extension ID',
      'loopbackPort: Invalid value: Expected >=1024 but received 80',
      'colour: unknown field (check its spelling)',
    ]);
    expect(message.split('\n')[0]).toBe('vendor.json is not valid (11 problems):');
    for (const problem of problems) expect(message).toContain(`  - ${problem}`);
  });

  it('a plain http:// License Service is refused: it accepts HTTPS only', () => {
    expect(problemsOf({ ...minimal(), licenseService: 'http://localhost:8443/' }).problems).toEqual([
      'licenseService: must be an https:// URL: the License Service accepts HTTPS only',
    ]);
  });

  it('key pages, redirect pages and the activate URL must be https:// (a plain-HTTP page can be injected on the way)', () => {
    expect(
      problemsOf({
        ...minimal(),
        keyPages: ['http://www.amazon.com/dp-activate*'],
        redirectPages: ['http://shop.example/thanks*'],
        activateUrl: 'http://www.amazon.com/dp-activate',
      }).problems,
    ).toEqual([
      'activateUrl: must start with https://',
      'keyPages[0]: must be an https:// page: a key shown over plain HTTP can be injected by anyone on the network path',
      'redirectPages[0]: must be an https:// page: a key shown over plain HTTP can be injected by anyone on the network path',
    ]);
    expect(problemsOf({ ...minimal(), keyPages: ['*://www.amazon.com/dp-activate*'] }).problems).toHaveLength(1);
  });

  it('names missing required fields', () => {
    expect(problemsOf({}).problems).toEqual([
      'vendor: is required',
      'products: is required',
      'extensions: is required',
    ]);
    expect(problemsOf({ ...minimal(), products: [{ code: 'A1', name: 'A' }] }).problems).toEqual([
      'products[0].productToken: is required',
    ]);
    expect(problemsOf(null).problems).toEqual(['(top level): Invalid type: Expected Object but received null']);
  });

  it('needs at least one product, unique product codes and at least one allowed extension', () => {
    expect(problemsOf({ ...minimal(), products: [] }).problems).toEqual(['products: must list at least one product']);
    const twice = minimal().products[0]!;
    expect(problemsOf({ ...minimal(), products: [twice, { ...twice, name: 'Again' }] }).problems).toEqual([
      'products: product codes must be unique',
    ]);
    expect(problemsOf({ ...minimal(), extensions: { chromium: [], firefox: [] } }).problems).toEqual([
      'extensions: must allow at least one extension',
    ]);
  });

  it('takes Firefox add-on IDs in both documented forms', () => {
    const config = parseVendorConfig({
      ...minimal(),
      extensions: { firefox: ['companion@acme.example', '{12345678-1234-1234-1234-123456789abc}'] },
    });
    expect(config.extensions.firefox).toHaveLength(2);
    expect(problemsOf({ ...minimal(), extensions: { firefox: ['acme companion'] } }).problems).toEqual([
      'extensions.firefox[0]: must be a Firefox add-on ID',
    ]);
  });
});
