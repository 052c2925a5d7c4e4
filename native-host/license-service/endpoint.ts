/**
 * Where the License Service is and whom to trust there: the one rule for its
 * address (absolute https://, no user name, password, query or fragment) and the
 * reader of an extra trusted CA file. Settings resolution and the client both use them.
 */
import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { LicenseServiceError } from './errors.ts';

const MAX_CA_FILE_BYTES = 1024 * 1024;

/** What is wrong with an address for the License Service ("must start with https://..."), or undefined when nothing is. */
export function licenseServiceUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL: use https://host[:port]/';
  }
  if (url.protocol !== 'https:')
    return `must start with https:// (the License Service accepts HTTPS only; got ${url.protocol}//)`;
  if (url.username || url.password || url.search || url.hash)
    return 'must not carry a user name, password, query or fragment';
  return undefined;
}

/** The License Service's address as a URL, or a VENDOR_CONFIGURATION error saying what is wrong with it. */
export function parseLicenseServiceEndpoint(endpoint: string): URL {
  const problem = licenseServiceUrlProblem(endpoint);
  if (problem !== undefined) throw configurationError(`The License Service address ${problem}.`);
  return new URL(endpoint);
}

/** Reads a PEM file of extra trusted CA certificates, with a message that says what is wrong with it. */
export async function readCaFile(path: string): Promise<string> {
  let pem: string;
  try {
    const info = await stat(path);
    if (!info.isFile() || info.size > MAX_CA_FILE_BYTES) throw new Error('not a small file');
    pem = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw configurationError(
      `The CA file ${path} cannot be read${code ? ` (${code})` : ''}. Give the path of a PEM certificate file.`,
    );
  }
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  try {
    if (!first) throw new Error('no certificate');
    // Parsing is the check: the constructor throws on a certificate that is not well-formed.
    // oxlint-disable-next-line no-new
    new X509Certificate(first[0]);
  } catch {
    throw configurationError(`The CA file ${path} holds no PEM certificate ("-----BEGIN CERTIFICATE-----").`);
  }
  return pem;
}

function configurationError(problem: string): LicenseServiceError {
  return new LicenseServiceError(
    'VENDOR_CONFIGURATION',
    problem,
    'Check the vendor configuration or the --license-service and --ca-file options.',
  );
}
