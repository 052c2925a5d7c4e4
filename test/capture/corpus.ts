/**
 * The confirmation-page corpus (test/fixtures/pages/*.html), served on the real
 * key-page URLs (host names mapped to a local HTTPS server by the browser's host
 * resolver rules), with each page's expected answer. Browser-agnostic: a runner
 * opens `url(case)` in the browser under test and reports what the extension's
 * background received from it.
 *
 * Each case is served under its own folder (`.../corpus/<case>/`) so that every
 * frame it loads (test/fixtures/pages/parts/) reports from a URL naming the case.
 * In a page, `{{ORIGIN}}` becomes the case's own folder URL and `{{FOREIGN}}` the
 * same folder on a site that is not a key page.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join, normalize, resolve } from 'node:path';
import { makeThrowAwayCertificate } from '../simulator/certificate.ts';

export const CORPUS_DIR = resolve('test/fixtures/pages');
export const CORPUS_HOSTS = ['aws-portal.devpay.test', 'www.devpay.test', 'evil.devpay.test'];

export interface CorpusCase {
  name: string;
  /** The key a person takes from the page, or null: nothing. */
  key: string | null;
  /** The page shows two keys: the customer is told none was taken. */
  ambiguous: boolean;
  /** Served as Amazon's activate page instead of the portal's confirmation page. */
  site: 'portal' | 'activate';
  /** The page renders its key some time after load. */
  late: boolean;
}

function meta(html: string, name: string): string | undefined {
  return new RegExp(`<meta name="${name}" content="([^"]+)">`).exec(html)?.[1];
}

export function loadCorpus(): CorpusCase[] {
  return readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith('.html'))
    .sort()
    .map((file) => {
      const html = readFileSync(join(CORPUS_DIR, file), 'utf8');
      const expected = meta(html, 'expect');
      if (!expected) throw new Error(`${file} has no <meta name="expect">`);
      return {
        name: file.replace(/\.html$/, ''),
        key: expected.startsWith('key:') ? expected.slice(4) : null,
        ambiguous: expected === 'none:ambiguous',
        site: meta(html, 'site') === 'activate' ? 'activate' : 'portal',
        late: meta(html, 'mode') === 'watch',
      };
    });
}

const FOLDERS = { portal: '/gp/aws/user/subscription/corpus/', activate: '/dp-activate/corpus/' } as const;
const HOST_OF = { portal: 'aws-portal.devpay.test', activate: 'www.devpay.test' } as const;

export interface CorpusServer {
  port: number;
  url(c: CorpusCase): string;
  close(): Promise<void>;
}

/** Serves the corpus over HTTPS on a loopback port (browsers map *.devpay.test to 127.0.0.1). */
export async function serveCorpus(): Promise<CorpusServer> {
  const certificate = await makeThrowAwayCertificate(CORPUS_HOSTS);
  let port = 0;
  const server: Server = createServer({ cert: certificate.certPem, key: certificate.keyPem }, (req, res) => {
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    const m = /^(\/gp\/aws\/user\/subscription\/corpus\/|\/dp-activate\/corpus\/)([\w-]+)\/([\w/.-]+\.html)$/.exec(
      path,
    );
    const file = m ? normalize(join(CORPUS_DIR, m[3]!)) : '';
    if (!m || !file.startsWith(CORPUS_DIR + '/')) {
      res.writeHead(404).end('not found');
      return;
    }
    let html: string;
    try {
      html = readFileSync(file, 'utf8');
    } catch {
      res.writeHead(404).end('not found');
      return;
    }
    const folder = `${m[1]}${m[2]}/`;
    html = html
      .replaceAll('{{ORIGIN}}', `https://${req.headers.host}${folder}`)
      .replaceAll('{{FOREIGN}}', `https://evil.devpay.test:${port}${folder}`);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  port = (server.address() as { port: number }).port;
  return {
    port,
    url: (c) => `https://${HOST_OF[c.site]}:${port}${FOLDERS[c.site]}${c.name}/${c.name}.html`,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

/** The case a message came from, by the URL of the frame that sent it. */
export function caseOfUrl(url: string): string | undefined {
  return /\/corpus\/([\w-]+)\//.exec(url)?.[1];
}
