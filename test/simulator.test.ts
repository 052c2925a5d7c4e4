/**
 * The simulator itself, spoken to over real HTTPS the way ls.amazonaws.com and
 * Amazon's pages were: the wire format, every documented refusal, the faults,
 * the purchase and activate pages, and `npm run simulator`.
 */
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ACTIVATION_KEY_LIFETIME_MS } from '../shared/activation-key.ts';
import { parseVendorConfig, type VendorConfig } from '../shared/config.ts';
import { startSimulator, type Simulator } from './simulator/server.ts';

const config: VendorConfig = parseVendorConfig(JSON.parse(readFileSync('shared/config/demo.json', 'utf8')));
const [backup, vault] = config.products as [VendorConfig['products'][number], VendorConfig['products'][number]];
const NS = 'http://ls.amazonaws.com/doc/2008-04-28/';

let sim: Simulator;
const logLines: string[] = [];

beforeAll(async () => {
  sim = await startSimulator({ config, log: (line) => logLines.push(line) });
});
afterAll(async () => {
  await sim?.close();
});
afterEach(() => {
  sim.faults.clear();
  sim.clock.set(Date.now());
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** HTTPS to the simulator under any of its host names (all on 127.0.0.1), trusting its certificate. */
function fetchSim(
  url: string,
  init: { method?: string; form?: Record<string, string>; cookie?: string } = {},
): Promise<Answer> {
  const body = init.form ? new URLSearchParams(init.form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: init.method ?? (body ? 'POST' : 'GET'),
        ca: sim.certificatePem,
        agent: false,
        lookup: (_host, options, callback) =>
          (options as { all?: boolean }).all
            ? (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [
                { address: '127.0.0.1', family: 4 },
              ])
            : callback(null, '127.0.0.1', 4),
        headers: {
          ...(body
            ? { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': String(Buffer.byteLength(body)) }
            : {}),
          ...(init.cookie ? { Cookie: init.cookie } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function lsUrl(params: Record<string, string>): string {
  return `${sim.licenseServiceUrl}?${new URLSearchParams(params)}`;
}

function activationParams(key: string, productToken = backup.productToken): Record<string, string> {
  return { Action: 'ActivateDesktopProduct', ActivationKey: key, ProductToken: productToken, Version: '2008-04-28' };
}

const xml = new XMLParser({ ignoreAttributes: false, parseTagValue: false });
/** The simulator's XML answers as the parser reads them; each test checks the fields it relies on. */
interface ErrorDocument {
  ErrorResponse: { '@_xmlns': string; Error: { Code: string; Type: string; Message: string }; RequestId: string };
}
interface ResultDocument {
  ActivateDesktopProductResponse: {
    '@_xmlns': string;
    ActivateDesktopProductResult: Record<string, string>;
    ResponseMetadata: { RequestId: string };
  };
}

function expectErrorResponse(answer: Answer, status: number, code: string) {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toBe('text/xml');
  const doc = xml.parse(answer.body) as ErrorDocument;
  expect(doc.ErrorResponse['@_xmlns']).toBe(NS);
  expect(doc.ErrorResponse.Error.Code).toBe(code);
  expect(doc.ErrorResponse.Error.Type).toBe(status >= 500 ? 'Receiver' : 'Sender');
  expect(doc.ErrorResponse.Error.Message).toEqual(expect.any(String));
  expect(doc.ErrorResponse.RequestId).toMatch(/^[0-9a-f-]{36}$/);
}

function setCookieOf(answer: Answer): string {
  const raw = answer.headers['set-cookie'];
  const first = Array.isArray(raw) ? raw[0] : raw;
  expect(first).toBeDefined();
  return first!;
}

describe('the License Service', () => {
  it('answers ActivateDesktopProduct with the documented XML: namespace, three parts, request id', async () => {
    const key = sim.purchase(backup.code);
    const answer = await fetchSim(lsUrl(activationParams(key)));
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/xml');
    const doc = (xml.parse(answer.body) as ResultDocument).ActivateDesktopProductResponse;
    expect(doc['@_xmlns']).toBe(NS);
    const result = doc.ActivateDesktopProductResult;
    expect(result.UserToken).toMatch(/^\{UserToken\}[A-Za-z0-9+/]+=*$/);
    expect(result.AWSAccessKeyId).toMatch(/^[A-Z0-9]{20}$/);
    expect(result.SecretAccessKey).toMatch(/^[A-Za-z0-9+/]{40}$/);
    expect(doc.ResponseMetadata.RequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sim.issued.at(-1)).toMatchObject({
      productCode: backup.code,
      userToken: result.UserToken,
      accessKeyId: result.AWSAccessKeyId,
      secretAccessKey: result.SecretAccessKey,
      requestId: doc.ResponseMetadata.RequestId,
    });
  });

  it('takes POST with the parameters in a form body too', async () => {
    const key = sim.purchase(backup.code);
    const answer = await fetchSim(sim.licenseServiceUrl, { form: activationParams(key) });
    expect(answer.status).toBe(200);
    expect(sim.requests.at(-1)).toMatchObject({ method: 'POST', outcome: 'issued' });
  });

  it('issues a whole new set on every activation, and the same key works again within its hour', async () => {
    const key = sim.purchase(vault.code);
    const sets = [];
    for (let i = 0; i < 3; i++) {
      const answer = await fetchSim(lsUrl(activationParams(key, vault.productToken)));
      expect(answer.status).toBe(200);
      sets.push((xml.parse(answer.body) as ResultDocument).ActivateDesktopProductResponse.ActivateDesktopProductResult);
    }
    for (const part of ['UserToken', 'AWSAccessKeyId', 'SecretAccessKey'])
      expect(new Set(sets.map((s) => s[part])).size).toBe(3);
    sim.clock.advance(ACTIVATION_KEY_LIFETIME_MS - 60_000);
    expect((await fetchSim(lsUrl(activationParams(key, vault.productToken)))).status).toBe(200);
  });

  it('refuses a key one hour after it was made: ExpiredActivationKey', async () => {
    const key = sim.purchase(backup.code);
    sim.clock.advance(ACTIVATION_KEY_LIFETIME_MS);
    expectErrorResponse(await fetchSim(lsUrl(activationParams(key))), 400, 'ExpiredActivationKey');
  });

  it.each<[string, (key: string) => Record<string, string>, string]>([
    ['no Action', (key) => ({ ...activationParams(key), Action: '' }), 'MissingParameter'],
    ['another Action', (key) => ({ ...activationParams(key), Action: 'ActivateHostedProduct' }), 'InvalidAction'],
    [
      'no Version',
      (key) => ({ Action: 'ActivateDesktopProduct', ActivationKey: key, ProductToken: backup.productToken }),
      'MissingParameter',
    ],
    ['an unknown Version', (key) => ({ ...activationParams(key), Version: '2009-01-01' }), 'NoSuchVersion'],
    [
      'no ProductToken',
      (key) => ({ Action: 'ActivateDesktopProduct', ActivationKey: key, Version: '2008-04-28' }),
      'MissingProductToken',
    ],
    [
      'no ActivationKey',
      () => ({ Action: 'ActivateDesktopProduct', ProductToken: backup.productToken, Version: '2008-04-28' }),
      'MissingParameter',
    ],
    [
      'an unknown product token',
      (key) => activationParams(key, `${backup.productToken.slice(0, -4)}AAA=`),
      'InvalidProductToken',
    ],
    ['an unknown key', () => activationParams('ADMAY7DVLJTWHJ76MMBMQYT5LATA'), 'InvalidActivationKey'],
    ['a lower-cased key', (key) => activationParams(key.toLowerCase()), 'InvalidActivationKey'],
    ["another product's key", () => activationParams(sim.purchase(vault.code)), 'IncorrectActivationKey'],
  ])('refuses %s with the documented ErrorResponse', async (_what, params, code) => {
    expectErrorResponse(await fetchSim(lsUrl(params(sim.purchase(backup.code)))), 400, code);
  });

  it('decodes parameters as a form does: a product token sent with a raw + is not the same token', async () => {
    const key = sim.purchase(backup.code);
    const raw = `${sim.licenseServiceUrl}?Action=ActivateDesktopProduct&ActivationKey=${key}&Version=2008-04-28&ProductToken=${backup.productToken.replace(/[{}/=]/g, encodeURIComponent)}`;
    expect(backup.productToken).toContain('+');
    expectErrorResponse(await fetchSim(raw), 400, 'InvalidProductToken');
  });

  it('logs each request with the key masked and never a credential', async () => {
    const key = sim.purchase(backup.code);
    await fetchSim(lsUrl(activationParams(key)));
    const issued = sim.issued.at(-1)!;
    const log = logLines.join('\n');
    expect(logLines.at(-1)).toMatch(/License Service GET \/ key=\w{4}\*+\w{4} -> 200 issued/);
    for (const secret of [key, issued.secretAccessKey, issued.userToken, issued.accessKeyId, backup.productToken])
      expect(log).not.toContain(secret);
  });
});

describe('faults, switchable per run', () => {
  const key = () => sim.purchase(backup.code);

  it('503 RequestThrottled for the next N requests, then normal service', async () => {
    sim.faults.add({ kind: '503' }, 2);
    expectErrorResponse(await fetchSim(lsUrl(activationParams(key()))), 503, 'RequestThrottled');
    expectErrorResponse(await fetchSim(lsUrl(activationParams(key()))), 503, 'RequestThrottled');
    expect((await fetchSim(lsUrl(activationParams(key())))).status).toBe(200);
  });

  it('500 InternalError', async () => {
    sim.faults.add({ kind: '500' });
    expectErrorResponse(await fetchSim(lsUrl(activationParams(key()))), 500, 'InternalError');
  });

  it('a reset connection', async () => {
    sim.faults.add({ kind: 'reset' });
    await expect(fetchSim(lsUrl(activationParams(key())))).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(sim.requests.at(-1)!.outcome).toBe('fault:reset');
  });

  it('an unparsable body', async () => {
    sim.faults.add({ kind: 'unparsable' });
    const answer = await fetchSim(lsUrl(activationParams(key())));
    expect(answer.status).toBe(200);
    // The product checks answers with the same validator (see license-service/response.ts).
    // oxlint-disable-next-line typescript/no-deprecated
    const { XMLValidator } = await import('fast-xml-parser');
    expect(XMLValidator.validate(answer.body)).not.toBe(true);
  });

  it('a result missing a part, with no set issued', async () => {
    const issuedBefore = sim.issued.length;
    sim.faults.add({ kind: 'missing-part', part: 'AWSAccessKeyId' });
    const answer = await fetchSim(lsUrl(activationParams(key())));
    const result = (xml.parse(answer.body) as ResultDocument).ActivateDesktopProductResponse
      .ActivateDesktopProductResult;
    expect(Object.keys(result).sort()).toEqual(['SecretAccessKey', 'UserToken']);
    expect(sim.issued.length).toBe(issuedBefore);
  });

  it('added latency', async () => {
    sim.faults.latencyMs = 300;
    const started = Date.now();
    expect((await fetchSim(lsUrl(activationParams(key())))).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('faults touch only the License Service, not the pages', async () => {
    sim.faults.add({ kind: '503' });
    expect((await fetchSim(sim.purchaseUrl(backup.code))).status).toBe(200);
    expect(sim.faults.pending).toBe(1);
  });
});

describe('the purchase pages', () => {
  it('walks purchase URL, order page and the split confirmation: key on top, redirect URL with ActivationKey and ProductCode below', async () => {
    const purchaseUrl = sim.purchaseUrl(vault.code);
    expect(purchaseUrl).toMatch(
      /^https:\/\/aws-portal\.devpay\.test:\d+\/gp\/aws\/user\/subscription\/index\.html\?offeringCode=[A-Z0-9]{8}$/,
    );
    const order = await fetchSim(purchaseUrl);
    expect(order.status).toBe(200);
    expect(order.body).toContain(vault.name);
    expect(order.body).toContain('Place your order');

    const offeringCode = new URL(purchaseUrl).searchParams.get('offeringCode')!;
    const placed = await fetchSim(purchaseUrl.split('?')[0]!, { form: { offeringCode, email: 'buyer@example.com' } });
    expect(placed.status).toBe(303);
    // Signed in on Amazon's sites (portal and activate page alike).
    expect(setCookieOf(placed)).toMatch(/; Secure; HttpOnly; SameSite=Lax; Domain=devpay\.test$/);
    const thankYou = new URL(placed.headers.location as string, purchaseUrl);

    const split = await fetchSim(thankYou.href);
    expect(split.status).toBe(200);
    const frames = [...split.body.matchAll(/<frame name="(\w+)" src="([^"]+)">/g)].map((m) => ({
      name: m[1],
      src: m[2]!.replace(/&#38;/g, '&'),
    }));
    expect(frames.map((f) => f.name)).toEqual(['aws', 'vendor']);
    const top = new URL(frames[0]!.src, thankYou);
    const bottom = new URL(frames[1]!.src);
    expect(top.origin).toBe(new URL(purchaseUrl).origin);
    expect(top.pathname).toMatch(/^\/gp\/aws\/user\/subscription\//);
    expect(`${bottom.origin}${bottom.pathname}`).toBe(sim.redirectUrl);
    expect(bottom.searchParams.get('ProductCode')).toBe(vault.code);
    const key = bottom.searchParams.get('ActivationKey')!;
    expect(key).toMatch(/^[A-Z2-7]{28}$/);

    const confirmation = await fetchSim(top.href);
    expect(confirmation.body).toMatch(
      new RegExp(`Activation Key:</td><td class="key" id="activation-key">${key}</td>`),
    );
    expect(confirmation.body).toContain(sim.activateUrl);
    const welcome = await fetchSim(bottom.href);
    expect(welcome.status).toBe(200);
    expect(welcome.body).toContain(vault.name);

    // The key shown is a real one, for this product.
    expect((await fetchSim(lsUrl(activationParams(key, vault.productToken)))).status).toBe(200);
  });

  it('says so for an unknown offer', async () => {
    const answer = await fetchSim(sim.purchaseUrl(backup.code).replace(/offeringCode=\w+/, 'offeringCode=NOSUCH00'));
    expect(answer.status).toBe(404);
  });

  it('the activate URL: sign in, pick an owned product, get a fresh key and a Go to Application link', async () => {
    const email = 'activator@example.com';
    sim.purchase(backup.code, email);
    const signInPage = await fetchSim(sim.activateUrl);
    expect(signInPage.body).toContain('Sign in');

    const signedIn = await fetchSim(`${sim.activateUrl}/sign-in`, { form: { email } });
    expect(signedIn.status).toBe(303);
    const cookie = setCookieOf(signedIn).split(';')[0]!;
    const list = await fetchSim(sim.activateUrl, { cookie });
    expect(list.body).toContain(backup.name);
    expect(list.body).not.toContain(vault.name);

    const notOwned = await fetchSim(sim.activateUrl, { cookie, form: { productCode: vault.code } });
    expect(notOwned.status).toBe(403);

    const granted = await fetchSim(sim.activateUrl, { cookie, form: { productCode: backup.code } });
    expect(granted.status).toBe(303);
    const keyPage = new URL(granted.headers.location as string, sim.activateUrl);
    const page = await fetchSim(keyPage.href, { cookie });
    const key = /id="activation-key">([A-Z2-7]{28})</.exec(page.body)![1]!;
    const goTo = new URL(/id="go-to-application" href="([^"]+)"/.exec(page.body)![1]!.replace(/&#38;/g, '&'));
    expect(goTo.searchParams.get('ActivationKey')).toBe(key);
    expect(goTo.searchParams.get('ProductCode')).toBe(backup.code);
    expect((await fetchSim(lsUrl(activationParams(key)))).status).toBe(200);

    // Another customer cannot read that key page.
    expect((await fetchSim(keyPage.href)).status).toBe(404);
  });

  it('the hostile site shows a valid key on an origin no configuration allows', async () => {
    const page = await fetchSim(sim.hostileUrl);
    expect(new URL(sim.hostileUrl).hostname).toBe('hostile.devpay.test');
    const key = /id="activation-key">([A-Z2-7]{28})</.exec(page.body)![1]!;
    expect((await fetchSim(lsUrl(activationParams(key)))).status).toBe(200);
  });

  it("its certificate names every site it plays, and the PEM file is the server's certificate", async () => {
    const cert = new X509Certificate(readFileSync(sim.caFile));
    for (const name of [
      'localhost',
      'aws-portal.devpay.test',
      'www.devpay.test',
      'vendor.devpay.test',
      'hostile.devpay.test',
    ]) {
      expect(cert.checkHost(name)).toBeDefined();
    }
    expect(cert.checkHost('www.example.com')).toBeUndefined();
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.toString()).toBe(new X509Certificate(sim.certificatePem).toString());
  });
});

describe('npm run simulator', () => {
  const script = ['--import', 'tsx', 'test/simulator/main.ts'];

  it('prints its URLs, serves, and stops cleanly on SIGTERM', async () => {
    const certDir = await mkdtemp(join(tmpdir(), 'devpay-sim-cli-'));
    const child = spawn(
      process.execPath,
      [...script, '--port', '0', '--cert-dir', certDir, '--keys', '--fault', '503:2'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no banner in time: ${out}`)), 20_000);
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString('utf8');
          if (out.includes('Press Ctrl+C')) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on('exit', () => reject(new Error(`exited early: ${out}`)));
      });
      expect(out).toMatch(/License Service\s+https:\/\/localhost:\d+\//);
      expect(out).toContain(join(certDir, 'license-service-ca.pem'));
      expect(out).toMatch(/Buy Acme Backup\s+https:\/\/aws-portal\.devpay\.test:\d+\//);
      expect(out).toMatch(/Faults\s+2 queued/);
      const port = /localhost:(\d+)/.exec(out)![1];
      const key = /Key for Acme Backup\s+([A-Z2-7]{28})/.exec(out)![1]!;
      const ca = readFileSync(join(certDir, 'license-service-ca.pem'), 'utf8');
      const activate = () =>
        new Promise<number>((resolve, reject) => {
          request(
            `https://localhost:${port}/?${new URLSearchParams(activationParams(key))}`,
            { ca, agent: false },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          )
            .on('error', reject)
            .end();
        });
      expect([await activate(), await activate(), await activate()]).toEqual([503, 503, 200]);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(certDir, { recursive: true, force: true });
    }
  });

  it.each([
    [['--config', 'no/such/config.json'], 2, /Cannot read the vendor configuration/],
    [['--fault', 'lightning:2'], 1, /Unknown fault "lightning:2"/],
    [['--port', '70000'], 1, /from 0 to 65535/],
  ])('refuses %j with a message, not a stack trace', async (args, exitCode, message) => {
    const child = spawn(process.execPath, [...script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(exitCode);
    expect(err).toMatch(message);
    expect(err).not.toMatch(/\n\s+at /);
  });
});
