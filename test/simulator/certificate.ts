/**
 * A throw-away certificate for the simulator, made at each start: clients trust
 * it by its PEM (the License Service client's --ca-file), browsers under test
 * ignore certificate errors.
 */
import { generate } from 'selfsigned';

export interface ServerCertificate {
  certPem: string;
  keyPem: string;
}

export async function makeThrowAwayCertificate(dnsNames: readonly string[]): Promise<ServerCertificate> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: 'DevPay License Service simulator' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    // A day of slack either side: a test machine's clock may be off a little.
    notBeforeDate: new Date(now - 24 * 3600_000),
    notAfterDate: new Date(now + 30 * 24 * 3600_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...dnsNames.map((value) => ({ type: 2 as const, value })),
          { type: 7 as const, ip: '127.0.0.1' },
          { type: 7 as const, ip: '::1' },
        ],
      },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private };
}
