/**
 * `npm run simulator`: the DevPay simulator on its own, for trying the extension
 * by hand and for a vendor's development. Prints its URLs, then one line per
 * request.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, parseVendorConfig } from '../../shared/config.ts';
import { parseFaultSpec, type Fault } from './faults.ts';
import { DEFAULT_SITE_DOMAIN, startSimulator } from './server.ts';

function integer(min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    return n;
  };
}

function faultSpec(value: string, previous: { fault: Fault; times: number }[]) {
  try {
    return [...previous, parseFaultSpec(value)];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

const program = new Command('simulator')
  .description(
    'A local, faithful stand-in for the DevPay License Service (ls.amazonaws.com) and the purchase pages around it.',
  )
  .option('--config <file>', 'vendor configuration whose products it sells', 'shared/config/demo.json')
  .option('--port <port>', 'HTTPS port on 127.0.0.1 and ::1 (0: any free port)', integer(0, 65535), 8443)
  .option('--cert-dir <dir>', 'where to write the certificate PEM for clients', join(tmpdir(), 'devpay-simulator'))
  .option('--latency <ms>', 'delay every License Service answer', integer(0, 600_000), 0)
  .option(
    '--fault <kind[:count]>',
    'fail the next License Service requests: 503, 500, reset, unparsable, missing-part (repeatable)',
    faultSpec,
    [],
  )
  .option('--keys', 'buy every product for the demo customer at start and print the keys')
  .showHelpAfterError();

program.parse();
const opts = program.opts<{
  config: string;
  port: number;
  certDir: string;
  latency: number;
  fault: { fault: Fault; times: number }[];
  keys?: boolean;
}>();

let config;
try {
  const path = resolve(opts.config);
  config = parseVendorConfig(JSON.parse(readFileSync(path, 'utf8')), path);
} catch (error) {
  console.error(
    error instanceof ConfigError
      ? error.message
      : `Cannot read the vendor configuration ${opts.config}: ${(error as Error).message}`,
  );
  process.exit(2);
}

await mkdir(opts.certDir, { recursive: true, mode: 0o700 });
const time = () => new Date().toISOString().slice(11, 23);
let sim;
try {
  sim = await startSimulator({
    config,
    port: opts.port,
    certDir: opts.certDir,
    log: (line) => console.log(`${time()} ${line}`),
  });
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  console.error(
    code === 'EADDRINUSE'
      ? `Port ${opts.port} is in use: stop what runs there, or pass --port 0 for any free port.`
      : `The simulator could not start: ${(error as Error).message}`,
  );
  process.exit(1);
}
sim.faults.latencyMs = opts.latency;
for (const { fault, times } of opts.fault) sim.faults.add(fault, times);

const rows: [string, string][] = [
  ['License Service', sim.licenseServiceUrl],
  ['Its certificate', `${sim.caFile}   (trust it with --ca-file)`],
  ...sim.products.map((p): [string, string] => [`Buy ${p.name}`, sim.purchaseUrl(p.code)]),
  ['Activate URL', sim.activateUrl],
  ['Vendor redirect', sim.redirectUrl],
  ['Browsers need', `--host-resolver-rules="MAP *.${DEFAULT_SITE_DOMAIN} 127.0.0.1" --ignore-certificate-errors`],
];
if (opts.keys)
  for (const p of sim.products) rows.push([`Key for ${p.name}`, `${sim.purchase(p.code)}   (valid one hour)`]);
if (sim.faults.pending || opts.latency)
  rows.push(['Faults', `${sim.faults.pending} queued, ${opts.latency} ms latency`]);
const width = Math.max(...rows.map(([label]) => label.length)) + 2;
const lines = [
  `DevPay simulator for ${config.vendor.name}, on 127.0.0.1 and ::1, port ${sim.port}`,
  ...rows.map(([label, value]) => `  ${label.padEnd(width)}${value}`),
];
console.log(`${lines.join('\n')}\nPress Ctrl+C to stop.`);

const stop = () => {
  void sim.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
