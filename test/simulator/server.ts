/**
 * The DevPay simulator: one HTTPS server on loopback that plays
 * `ls.amazonaws.com` and the sites around a purchase, told apart by host name:
 *
 *   aws-portal.<domain>   Amazon's purchase pages        (see pages.ts)
 *   www.<domain>          Amazon's activate URL
 *   vendor.<domain>       the vendor's redirect URL and product pages
 *   hostile.<domain>      a page that shows a valid key where none belongs
 *   anything else         the License Service, e.g. https://localhost:PORT/
 *
 * Browsers reach the named sites with `--host-resolver-rules=MAP *.<domain> 127.0.0.1`.
 */
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VendorConfig } from '../../shared/config.ts';
import {
  DEFAULT_CUSTOMER,
  DevPayBackend,
  type IssuedCredentials,
  type SimulatedClock,
  type SimulatedProduct,
} from './backend.ts';
import { makeThrowAwayCertificate } from './certificate.ts';
import { FaultPlan } from './faults.ts';
import { handleLicenseService, type LicenseServiceRequest } from './license-service.ts';
import { ACTIVATE_PATH, Pages, WELCOME_PATH, type Site } from './pages.ts';

export const DEFAULT_SITE_DOMAIN = 'devpay.test';
const MAX_FORM_BYTES = 16 * 1024;

export interface SimulatorOptions {
  /** The products it knows come from a vendor configuration (their codes, names and tokens). */
  config: VendorConfig;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Loopback addresses to listen on; ::1 is skipped quietly where IPv6 is off. */
  listen?: string[];
  siteDomain?: string;
  /** Where the certificate's PEM is written; default a new temporary folder, removed on close. */
  certDir?: string;
  /** The vendor's redirect URL; default https://vendor.<domain>:PORT/welcome. */
  redirectUrl?: string;
  /** One line per request; keys masked, credentials never. Default: silent. */
  log?: (line: string) => void;
}

export interface Simulator {
  port: number;
  /** `https://localhost:PORT/`: what a client configures as its License Service. */
  licenseServiceUrl: string;
  /** Amazon's activate URL page. */
  activateUrl: string;
  redirectUrl: string;
  /** A page on an origin no configuration allows, showing a valid key. */
  hostileUrl: string;
  /** The certificate's PEM, also written to caFile for clients (--ca-file). */
  certificatePem: string;
  caFile: string;
  products: readonly SimulatedProduct[];
  /** Amazon's purchase URL of a product, by product code. */
  purchaseUrl(productCode: string): string;
  clock: SimulatedClock;
  faults: FaultPlan;
  /** Every License Service request, in order. */
  requests: LicenseServiceRequest[];
  /** Every credential set issued, in order. */
  issued: IssuedCredentials[];
  /** Buys the product for a customer without the pages, and returns the new key. */
  purchase(productCode: string, customer?: string): string;
  /** From now on, keys shown on the pages are already this old (0: fresh). */
  ageNewKeys(ms: number): void;
  /** Every activation key handed out so far. */
  mintedKeys(): string[];
  close(): Promise<void>;
}

function readForm(req: IncomingMessage): Promise<URLSearchParams | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_FORM_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        resolve('too-large');
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

async function listenOn(server: Server, port: number, host: string): Promise<void> {
  server.listen(port, host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => Promise.reject(error as Error)),
  ]);
}

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const domain = options.siteDomain ?? DEFAULT_SITE_DOMAIN;
  const log = options.log ?? (() => {});
  const backend = new DevPayBackend(options.config.products);
  const faults = new FaultPlan();
  const requests: LicenseServiceRequest[] = [];
  const closing = new AbortController();
  const hostnames = {
    portal: `aws-portal.${domain}`,
    www: `www.${domain}`,
    vendor: `vendor.${domain}`,
    hostile: `hostile.${domain}`,
  };

  const certificate = await makeThrowAwayCertificate([
    'localhost',
    `*.${domain}`,
    `ls.${domain}`,
    ...Object.values(hostnames),
  ]);
  const ownCertDir = options.certDir === undefined;
  const certDir = options.certDir ?? (await mkdtemp(join(tmpdir(), 'devpay-simulator-')));
  await mkdir(certDir, { recursive: true });
  const caFile = join(certDir, 'license-service-ca.pem');
  await writeFile(caFile, certificate.certPem, { mode: 0o644 });

  const siteOf = (req: IncomingMessage): Site | 'license-service' => {
    const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
    const site = (Object.keys(hostnames) as Site[]).find((name) => hostnames[name] === host);
    return site ?? 'license-service';
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://simulator.invalid');
    let form: URLSearchParams | undefined;
    if (req.method === 'POST') {
      const read = await readForm(req);
      if (read === 'too-large') {
        res.writeHead(413, { Connection: 'close' }).end();
        return;
      }
      form = read;
    }
    const site = siteOf(req);
    if (site === 'license-service') {
      return handleLicenseService(req, res, url, form, { backend, faults, requests, log, signal: closing.signal });
    }
    pages.handle(site, req, res, url, form);
    log(`${hostnames[site]} ${req.method} ${url.pathname} -> ${res.statusCode}`);
  };

  const servers: Server[] = [];
  const newServer = () => {
    const server = createServer(
      { cert: certificate.certPem, key: certificate.keyPem, requestTimeout: 15_000, headersTimeout: 10_000 },
      (req, res) => {
        handle(req, res).catch(() => {
          if (!res.headersSent) res.writeHead(500).end();
          else res.destroy();
        });
      },
    );
    servers.push(server);
    return server;
  };

  const [firstHost = '127.0.0.1', ...otherHosts] = options.listen ?? ['127.0.0.1', '::1'];
  const first = newServer();
  await listenOn(first, options.port ?? 0, firstHost);
  const port = (first.address() as AddressInfo).port;
  for (const host of otherHosts) {
    const server = newServer();
    try {
      await listenOn(server, port, host);
    } catch (error) {
      servers.pop();
      const code = (error as NodeJS.ErrnoException).code;
      if (host !== '::1' || (code !== 'EADDRNOTAVAIL' && code !== 'EAFNOSUPPORT')) {
        await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
        throw error;
      }
    }
  }

  const origin = (host: string) => `https://${host}:${port}`;
  const redirectUrl = options.redirectUrl ?? `${origin(hostnames.vendor)}${WELCOME_PATH}`;
  // Made once the port is known; a request before that answers 500, like any handler error.
  const pages = new Pages({
    backend,
    vendorName: options.config.vendor.name,
    origins: {
      portal: origin(hostnames.portal),
      www: origin(hostnames.www),
      vendor: origin(hostnames.vendor),
      redirectUrl,
      cookieDomain: domain,
    },
  });

  let closed: Promise<void> | undefined;
  return {
    port,
    licenseServiceUrl: `https://localhost:${port}/`,
    activateUrl: `${origin(hostnames.www)}${ACTIVATE_PATH}`,
    redirectUrl,
    hostileUrl: `${origin(hostnames.hostile)}/gp/aws/user/subscription/thank-you.html`,
    certificatePem: certificate.certPem,
    caFile,
    products: backend.products,
    purchaseUrl(productCode) {
      const product = backend.product(productCode);
      if (!product) throw new Error(`The simulator has no product ${productCode}.`);
      return pages.purchaseUrl(product);
    },
    clock: backend.clock,
    faults,
    requests,
    issued: backend.issued,
    mintedKeys: () => backend.mintedKeys(),
    ageNewKeys(ms) {
      backend.newKeyAgeMs = ms;
    },
    purchase: (productCode, customer) => backend.purchase(productCode, customer ?? DEFAULT_CUSTOMER).key,
    close() {
      closed ??= (async () => {
        closing.abort();
        await Promise.all(
          servers.map((server) => {
            const done = new Promise((resolve) => server.close(resolve));
            server.closeAllConnections();
            return done;
          }),
        );
        if (ownCertDir) await rm(certDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
