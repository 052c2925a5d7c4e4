/**
 * The License Service client against the real HTTPS simulator: every success,
 * refusal and fault path a customer can meet, and that no key, token or
 * credential leaks into what the client says.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseVendorConfig, type VendorConfig } from '../shared/config.ts';
import { ACTIVATION_KEY_LIFETIME_MS } from '../shared/activation-key.ts';
import {
  activateDesktopProduct,
  pingLicenseService,
  type ActivateOptions,
} from '../native-host/license-service/client.ts';
import { readCaFile } from '../native-host/license-service/endpoint.ts';
import { LicenseServiceError } from '../native-host/license-service/errors.ts';
import { activationQuery } from '../native-host/license-service/protocol.ts';
import { parseLicenseServiceAnswer } from '../native-host/license-service/response.ts';
import { startSimulator, type Simulator } from './simulator/server.ts';
import { anyString, stringMatching } from './helpers/matchers.ts';

const config: VendorConfig = parseVendorConfig(JSON.parse(readFileSync('shared/config/demo.json', 'utf8')));
const [backup, vault] = config.products as [VendorConfig['products'][number], VendorConfig['products'][number]];
const ACTIVATE_URL = 'https://www.devpay.test/dp-activate';

let sim: Simulator;
let logLines: string[] = [];

beforeAll(async () => {
  sim = await startSimulator({ config });
});
afterAll(async () => {
  await sim?.close();
});
afterEach(() => {
  sim.faults.clear();
  sim.clock.set(Date.now());
  logLines = [];
});

function options(key: string, overrides: Partial<ActivateOptions> = {}): ActivateOptions {
  return {
    endpoint: sim.licenseServiceUrl,
    productToken: backup.productToken,
    activationKey: key,
    activateUrl: ACTIVATE_URL,
    productName: backup.name,
    ca: sim.certificatePem,
    retryBaseDelayMs: 20,
    retryMaxDelayMs: 100,
    log: (line) => logLines.push(line),
    ...overrides,
  };
}

async function refusal(promise: Promise<unknown>): Promise<LicenseServiceError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the activation to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LicenseServiceError);
  return error as LicenseServiceError;
}

/** Everything the client said, in any form a caller might print or log. */
function everythingSaid(error?: LicenseServiceError): string {
  return [
    ...logLines,
    error ? `${error.message} ${error.stack} ${JSON.stringify(error)} ${error.serviceMessage}` : '',
  ].join('\n');
}

function expectNothingSecretIn(text: string, secrets: string[]) {
  for (const secret of secrets) expect(text).not.toContain(secret);
}

describe('activation that succeeds', () => {
  it('returns exactly the set the service issued, from one GET with exactly the four documented parameters', async () => {
    const key = sim.purchase(backup.code);
    const before = sim.requests.length;
    const result = await activateDesktopProduct(options(key));

    const issued = sim.issued.at(-1)!;
    expect(result.credentials).toEqual({
      userToken: issued.userToken,
      accessKeyId: issued.accessKeyId,
      secretAccessKey: issued.secretAccessKey,
    });
    expect(result.requestId).toBe(issued.requestId);
    expect(result.attempts).toBe(1);

    const sent = sim.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.method).toBe('GET');
    expect(sent[0]!.path).toBe('/');
    expect(sent[0]!.params).toEqual({
      Action: ['ActivateDesktopProduct'],
      ActivationKey: [key],
      ProductToken: [backup.productToken],
      Version: ['2008-04-28'],
    });
    expectNothingSecretIn(everythingSaid(), [key, backup.productToken, issued.secretAccessKey, issued.userToken]);
  });

  it('percent-encodes the product token so that { } + / = arrive intact', async () => {
    const token = backup.productToken;
    expect(token).toMatch(/[+/=]/);
    const key = sim.purchase(backup.code);
    const before = sim.requests.length;
    await activateDesktopProduct(options(key));
    const raw = sim.requests[before]!.rawQuery;
    const tokenPart = raw
      .split('&')
      .find((p) => p.startsWith('ProductToken='))!
      .slice('ProductToken='.length);
    // Nothing a form decoder would change: no raw +, /, =, { or }.
    expect(tokenPart).not.toMatch(/[+/={}]/);
    expect(tokenPart.startsWith('%7BProductToken%7D')).toBe(true);
    expect(decodeURIComponent(tokenPart)).toBe(token);
    // And the pure function round-trips every special character through a standard decoder.
    const odd = '{ProductToken}a+b/c=d==';
    expect(new URLSearchParams(activationQuery('ABC', odd)).get('ProductToken')).toBe(odd);
  });

  it('sends the key trimmed of what a paste wraps around it', async () => {
    const key = sim.purchase(backup.code);
    const pasted = `  \u200B${key.slice(0, 10)}\u00AD${key.slice(10)}\u00A0\n`;
    const before = sim.requests.length;
    const result = await activateDesktopProduct(options(pasted));
    expect(result.credentials.accessKeyId).toBe(sim.issued.at(-1)!.accessKeyId);
    expect(sim.requests[before]!.params.ActivationKey).toEqual([key]);
  });

  it('activates again with the same key within its hour, getting a new set each time (another computer)', async () => {
    const key = sim.purchase(vault.code);
    const first = await activateDesktopProduct(options(key, { productToken: vault.productToken }));
    const second = await activateDesktopProduct(options(key, { productToken: vault.productToken }));
    expect(second.credentials.accessKeyId).not.toBe(first.credentials.accessKeyId);
    expect(second.credentials.secretAccessKey).not.toBe(first.credentials.secretAccessKey);
    expect(second.credentials.userToken).not.toBe(first.credentials.userToken);
  });
});

describe('keys refused before anything is sent', () => {
  it.each([
    ['too long', 'A'.repeat(31)],
    ['bad characters', 'ADMAY7DV-JTWHJ76MMBMQYT5LATA'],
    ['empty', ' \u200B '],
    ['too short', 'ADMAY7'],
  ])('a malformed key (%s) is never sent', async (_what, key) => {
    const before = sim.requests.length;
    const error = await refusal(activateDesktopProduct(options(key)));
    expect(error.code).toBe('MALFORMED_KEY');
    expect(error.attempts).toBe(0);
    expect(error.message).toContain(ACTIVATE_URL);
    expect(sim.requests.length).toBe(before);
  });

  it('a key captured over an hour ago is not sent: get a new one', async () => {
    const key = sim.purchase(backup.code);
    const before = sim.requests.length;
    const error = await refusal(
      activateDesktopProduct(options(key, { keyCapturedAt: Date.now() - ACTIVATION_KEY_LIFETIME_MS - 1 })),
    );
    expect(error.code).toBe('KEY_TOO_OLD');
    expect(error.activateUrl).toBe(ACTIVATE_URL);
    expect(sim.requests.length).toBe(before);
  });

  it('an http:// License Service is a configuration error, and nothing is sent', async () => {
    const before = sim.requests.length;
    const error = await refusal(
      activateDesktopProduct(
        options(sim.purchase(backup.code), { endpoint: sim.licenseServiceUrl.replace('https:', 'http:') }),
      ),
    );
    expect(error.code).toBe('VENDOR_CONFIGURATION');
    expect(error.message).toMatch(/https:\/\//);
    expect(sim.requests.length).toBe(before);
  });
});

describe('refusals are final, typed and say what to do next', () => {
  it('ExpiredActivationKey: get a new key at the activate URL; not retried', async () => {
    const key = sim.purchase(backup.code);
    sim.clock.advance(ACTIVATION_KEY_LIFETIME_MS);
    const before = sim.requests.length;
    const error = await refusal(activateDesktopProduct(options(key)));
    expect(error).toMatchObject({
      code: 'EXPIRED_KEY',
      serviceCode: 'ExpiredActivationKey',
      httpStatus: 400,
      attempts: 1,
      activateUrl: ACTIVATE_URL,
    });
    expect(error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(error.nextStep).toContain(ACTIVATE_URL);
    expect(sim.requests.length - before).toBe(1);
    expectNothingSecretIn(everythingSaid(error), [key, backup.productToken]);
  });

  it('IncorrectActivationKey: a key bought for another product; never retried blindly', async () => {
    const key = sim.purchase(vault.code);
    const before = sim.requests.length;
    const error = await refusal(activateDesktopProduct(options(key)));
    expect(error).toMatchObject({
      code: 'INCORRECT_KEY',
      serviceCode: 'IncorrectActivationKey',
      attempts: 1,
      activateUrl: ACTIVATE_URL,
    });
    expect(error.message).toContain(backup.name);
    expect(sim.requests.length - before).toBe(1);
    expectNothingSecretIn(everythingSaid(error), [key, backup.productToken]);
  });

  it('InvalidActivationKey: check the key or get a new one', async () => {
    const error = await refusal(activateDesktopProduct(options('ADMAY7DVLJTWHJ76MMBMQYT5LATA')));
    expect(error).toMatchObject({
      code: 'INVALID_KEY',
      serviceCode: 'InvalidActivationKey',
      attempts: 1,
      activateUrl: ACTIVATE_URL,
    });
  });

  it('InvalidProductToken: the vendor configuration, not the customer', async () => {
    const badToken = `${backup.productToken.slice(0, -8)}AAAAAAA=`;
    const key = sim.purchase(backup.code);
    const error = await refusal(activateDesktopProduct(options(key, { productToken: badToken })));
    expect(error).toMatchObject({ code: 'VENDOR_CONFIGURATION', serviceCode: 'InvalidProductToken', attempts: 1 });
    expect(error.message).toMatch(/vendor/);
    expectNothingSecretIn(everythingSaid(error), [key, badToken]);
  });

  it.each(['MissingParameter', 'MissingProductToken', 'InvalidParameterValue', 'InvalidAction', 'NoSuchVersion'])(
    '%s is a client bug, reported with its request id and not retried',
    async (code) => {
      sim.faults.add({ kind: 'error', code, status: 400 }, 3);
      const error = await refusal(activateDesktopProduct(options(sim.purchase(backup.code))));
      expect(error).toMatchObject({ code: 'CLIENT_BUG', serviceCode: code, attempts: 1 });
      expect(error.message).toContain(error.requestId!);
      expect(sim.faults.pending).toBe(2);
    },
  );

  it("keeps the service's message for diagnosis, with the key cut out", async () => {
    const key = sim.purchase(backup.code);
    sim.faults.add({
      kind: 'error',
      code: 'InvalidActivationKey',
      status: 400,
      message: `The key ${key} is not valid.`,
    });
    const error = await refusal(activateDesktopProduct(options(key)));
    expect(error.serviceMessage).toBe('The key [removed] is not valid.');
    expectNothingSecretIn(everythingSaid(error), [key]);
  });

  it('an answer that is not the License Service (a 404 page) is final: check the address', async () => {
    const error = await refusal(
      activateDesktopProduct(options(sim.purchase(backup.code), { endpoint: `${sim.licenseServiceUrl}nothing-here/` })),
    );
    expect(error).toMatchObject({ code: 'SERVICE_BAD_ANSWER', httpStatus: 404, attempts: 1 });
  });
});

describe('transient failures are retried with back-off until the set arrives', () => {
  it.each([
    ['503 (throttled)', { kind: '503' } as const, 3],
    ['500 (internal error)', { kind: '500' } as const, 2],
    ['a reset connection', { kind: 'reset' } as const, 2],
    ['an unparsable body', { kind: 'unparsable' } as const, 1],
    ['a result without UserToken', { kind: 'missing-part', part: 'UserToken' } as const, 1],
    ['a result without AWSAccessKeyId', { kind: 'missing-part', part: 'AWSAccessKeyId' } as const, 1],
    ['a result without SecretAccessKey', { kind: 'missing-part', part: 'SecretAccessKey' } as const, 1],
  ])('%s', async (_what, fault, times) => {
    const key = sim.purchase(backup.code);
    sim.faults.add(fault, times);
    const before = sim.requests.length;
    const result = await activateDesktopProduct(options(key));
    expect(result.attempts).toBe(times + 1);
    expect(sim.requests.length - before).toBe(times + 1);
    // The whole set is the one issued afterwards: nothing of a partial answer is used.
    const issued = sim.issued.at(-1)!;
    expect(result.credentials).toEqual({
      userToken: issued.userToken,
      accessKeyId: issued.accessKeyId,
      secretAccessKey: issued.secretAccessKey,
    });
    // Each retry sends the very same request.
    const queries = new Set(sim.requests.slice(before).map((r) => r.rawQuery));
    expect(queries.size).toBe(1);
    expect(logLines.filter((l) => l.includes('retrying in'))).toHaveLength(times);
    expectNothingSecretIn(everythingSaid(), [key, backup.productToken, issued.secretAccessKey]);
  });

  it('backs off exponentially, with jitter', async () => {
    sim.faults.add({ kind: '503' }, 4);
    const delays: number[] = [];
    await activateDesktopProduct(
      options(sim.purchase(backup.code), {
        retryBaseDelayMs: 40,
        retryMaxDelayMs: 10_000,
        random: () => 1,
        log: (line) => {
          const m = /retrying in (\d+) ms/.exec(line);
          if (m) delays.push(Number(m[1]));
        },
      }),
    );
    expect(delays).toEqual([40, 80, 160, 320]);
  });

  it('gives each request its own timeout, and retries a request that hangs', async () => {
    sim.faults.latencyMs = 2_000;
    const before = sim.requests.length;
    // Only the first request hangs: once it has arrived, the service answers promptly again.
    const firstArrived = setInterval(() => {
      if (sim.requests.length > before) sim.faults.latencyMs = 0;
    }, 10);
    const started = Date.now();
    try {
      const result = await activateDesktopProduct(options(sim.purchase(backup.code), { requestTimeoutMs: 300 }));
      expect(result.attempts).toBe(2);
      expect(logLines[0]).toMatch(/no answer in time/);
      expect(Date.now() - started).toBeLessThan(1_900);
    } finally {
      clearInterval(firstArrived);
    }
  });

  it('gives up when the total budget is spent: SERVICE_UNAVAILABLE, in time', async () => {
    sim.faults.add({ kind: '503' }, 1_000);
    const started = Date.now();
    // Budgets of a few attempts' length, so that a busy machine (browser tests run beside this) still fits three.
    const error = await refusal(activateDesktopProduct(options(sim.purchase(backup.code), { totalBudgetMs: 2_000 })));
    const elapsed = Date.now() - started;
    expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', serviceCode: 'RequestThrottled', httpStatus: 503 });
    expect(error.attempts).toBeGreaterThan(2);
    // The budget bounds the whole call (plus scheduling slack on a busy machine).
    expect(elapsed).toBeLessThan(2_700);
  });

  it("never runs past the key's hour, however large the budget", async () => {
    sim.faults.add({ kind: '500' }, 1_000);
    const key = sim.purchase(backup.code);
    const started = Date.now();
    const error = await refusal(
      activateDesktopProduct(
        options(key, { totalBudgetMs: 30_000, keyCapturedAt: Date.now() - ACTIVATION_KEY_LIFETIME_MS + 600 }),
      ),
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect(error.nextStep).toContain(ACTIVATE_URL);
  });

  it('unusable answers to the end are SERVICE_BAD_ANSWER', async () => {
    sim.faults.add({ kind: 'unparsable' }, 1_000);
    const error = await refusal(activateDesktopProduct(options(sim.purchase(backup.code), { totalBudgetMs: 1_500 })));
    expect(error.code).toBe('SERVICE_BAD_ANSWER');
    expect(error.attempts).toBeGreaterThan(1);
  });

  it('a License Service that does not answer at all (port closed) is SERVICE_UNAVAILABLE', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    const error = await refusal(
      activateDesktopProduct(
        options(sim.purchase(backup.code), { endpoint: `https://127.0.0.1:${port}/`, totalBudgetMs: 400 }),
      ),
    );
    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('stops at once when the caller cancels', async () => {
    sim.faults.latencyMs = 5_000;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = await refusal(
      activateDesktopProduct(options(sim.purchase(backup.code), { signal: controller.signal })),
    );
    expect(error.message).toMatch(/cancelled/);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('certificates', () => {
  it('an untrusted certificate is refused at once, without retries and without sending the key', async () => {
    const before = sim.issued.length;
    const error = await refusal(activateDesktopProduct(options(sim.purchase(backup.code), { ca: undefined })));
    expect(error).toMatchObject({ code: 'SERVICE_UNTRUSTED', attempts: 1 });
    expect(error.message).toMatch(/DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED/);
    // The TLS handshake failed, so no request reached the service.
    expect(sim.issued.length).toBe(before);
  });

  it('NODE_TLS_REJECT_UNAUTHORIZED=0 does not switch verification off', async () => {
    const saved = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    try {
      const error = await refusal(activateDesktopProduct(options(sim.purchase(backup.code), { ca: undefined })));
      expect(error.code).toBe('SERVICE_UNTRUSTED');
    } finally {
      if (saved === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = saved;
    }
  });

  it('readCaFile takes the PEM the simulator writes, and explains a bad file', async () => {
    expect(await readCaFile(sim.caFile)).toBe(sim.certificatePem);
    const dir = await mkdtemp(join(tmpdir(), 'devpay-ca-'));
    try {
      const notPem = join(dir, 'not.pem');
      await writeFile(notPem, 'hello');
      await expect(readCaFile(notPem)).rejects.toMatchObject({
        code: 'VENDOR_CONFIGURATION',
        message: stringMatching(/no PEM certificate/),
      });
      await expect(readCaFile(join(dir, 'missing.pem'))).rejects.toMatchObject({
        code: 'VENDOR_CONFIGURATION',
        message: stringMatching(/cannot be read/),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('pingLicenseService (for doctor)', () => {
  it('a License Service that answers over verified HTTPS, asked without any key or token', async () => {
    const before = sim.requests.length;
    const ping = await pingLicenseService(sim.licenseServiceUrl, { caPem: sim.certificatePem, timeoutMs: 2_000 });
    expect(ping).toEqual({ ok: true, requestId: stringMatching(/^[0-9a-f-]{36}$/) });
    expect(sim.requests.slice(before).map((r) => r.params)).toEqual([
      { Action: ['ActivateDesktopProduct'], Version: ['2008-04-28'] },
    ]);
  });

  it.each<[string, () => Parameters<typeof pingLicenseService>, string]>([
    ['an untrusted certificate', () => [sim.licenseServiceUrl, { timeoutMs: 2_000 }], 'SERVICE_UNTRUSTED'],
    ['http://', () => [sim.licenseServiceUrl.replace('https:', 'http:'), { timeoutMs: 2_000 }], 'VENDOR_CONFIGURATION'],
    [
      'something else at the address',
      () => [`${sim.licenseServiceUrl}elsewhere/`, { caPem: sim.certificatePem, timeoutMs: 2_000 }],
      'SERVICE_BAD_ANSWER',
    ],
  ])('%s', async (_what, args, code) => {
    const ping = await pingLicenseService(...args());
    expect(ping).toMatchObject({ ok: false, code, message: anyString() });
  });

  it('a throttled or silent service is unavailable, within the time limit', async () => {
    sim.faults.add({ kind: '503' });
    expect(
      await pingLicenseService(sim.licenseServiceUrl, { caPem: sim.certificatePem, timeoutMs: 2_000 }),
    ).toMatchObject({ ok: false, code: 'SERVICE_UNAVAILABLE' });
    sim.faults.latencyMs = 3_000;
    const started = Date.now();
    expect(
      await pingLicenseService(sim.licenseServiceUrl, { caPem: sim.certificatePem, timeoutMs: 200 }),
    ).toMatchObject({ ok: false, code: 'SERVICE_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('reading answers (namespace-aware)', () => {
  const NS = 'http://ls.amazonaws.com/doc/2008-04-28/';
  const result = (inner: string, root = `ActivateDesktopProductResponse xmlns="${NS}"`) =>
    `<?xml version="1.0"?><${root}><ActivateDesktopProductResult>${inner}</ActivateDesktopProductResult><ResponseMetadata><RequestId>abc-1</RequestId></ResponseMetadata></${root.split(' ')[0]}>`;
  const parts =
    '<UserToken>{UserToken}AAAHVXNlclRrbgfOpSykBAXO7g/zG</UserToken><AWSAccessKeyId>01234567890123456789</AWSAccessKeyId><SecretAccessKey>abcdefghijklmnopqrstuvwxyzABCDEFGHIJ+/==</SecretAccessKey>';

  it('reads the documented success, keeping an all-digit access key id a string', () => {
    expect(parseLicenseServiceAnswer(result(parts))).toEqual({
      kind: 'credentials',
      requestId: 'abc-1',
      credentials: {
        userToken: '{UserToken}AAAHVXNlclRrbgfOpSykBAXO7g/zG',
        accessKeyId: '01234567890123456789',
        secretAccessKey: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ+/==',
      },
    });
  });

  it('matches elements by namespace, not by spelling', () => {
    const prefixed = `<ls:ActivateDesktopProductResponse xmlns:ls="${NS}"><ls:ActivateDesktopProductResult>${parts.replace(/<(\/?)(\w+)>/g, '<$1ls:$2>')}</ls:ActivateDesktopProductResult></ls:ActivateDesktopProductResponse>`;
    expect(parseLicenseServiceAnswer(prefixed).kind).toBe('credentials');
    expect(
      parseLicenseServiceAnswer(result(parts, 'ActivateDesktopProductResponse xmlns="http://example.com/other/"')).kind,
    ).toBe('unusable');
    expect(parseLicenseServiceAnswer(result(parts, 'ActivateDesktopProductResponse')).kind).toBe('unusable');
    // The three parts in another namespace do not count.
    const foreign = result(
      parts.replace('<UserToken>', '<x:UserToken xmlns:x="urn:x">').replace('</UserToken>', '</x:UserToken>'),
    );
    expect(parseLicenseServiceAnswer(foreign)).toMatchObject({
      kind: 'unusable',
      reason: 'the result lacks UserToken',
    });
  });

  it('refuses duplicates, odd shapes, DOCTYPEs and broken XML', () => {
    expect(
      parseLicenseServiceAnswer(result(parts + '<UserToken>{UserToken}BBBBBBBBBBBBBBBBBBBB</UserToken>')),
    ).toMatchObject({ kind: 'unusable', reason: 'UserToken appears more than once' });
    expect(
      parseLicenseServiceAnswer(result(parts.replace('01234567890123456789', 'AKIA 1234\n5678901234'))),
    ).toMatchObject({ kind: 'unusable' });
    expect(parseLicenseServiceAnswer(`<!DOCTYPE a [<!ENTITY x "y">]>${result(parts)}`)).toMatchObject({
      kind: 'unusable',
      reason: 'the answer carries a DOCTYPE',
    });
    expect(parseLicenseServiceAnswer(result(parts).slice(0, -10))).toMatchObject({
      kind: 'unusable',
      reason: 'the answer is not well-formed XML',
    });
    expect(parseLicenseServiceAnswer('<html><body>Service Unavailable</body></html>').kind).toBe('unusable');
  });

  it('reads ErrorResponse with or without the namespace, and the older Response/Errors shape', () => {
    const err = (ns: string) =>
      `<ErrorResponse${ns}><Error><Type>Sender</Type><Code>ExpiredActivationKey</Code><Message>The activation key has expired</Message><Detail/></Error><RequestId>c75dbc1c-af20-409a-95de-650bba351890</RequestId></ErrorResponse>`;
    const expected = {
      kind: 'error',
      code: 'ExpiredActivationKey',
      message: 'The activation key has expired',
      requestId: 'c75dbc1c-af20-409a-95de-650bba351890',
    };
    expect(parseLicenseServiceAnswer(err(` xmlns="${NS}"`))).toEqual(expected);
    expect(parseLicenseServiceAnswer(err(''))).toEqual(expected);
    expect(
      parseLicenseServiceAnswer(
        '<Response><Errors><Error><Code>RequestThrottled</Code><Message>Slow down</Message></Error></Errors><RequestID>r-1</RequestID></Response>',
      ),
    ).toEqual({ kind: 'error', code: 'RequestThrottled', message: 'Slow down', requestId: 'r-1' });
  });
});
