/**
 * `devpay-companion serve`: runs the loopback channel until SIGINT or SIGTERM,
 * then shuts it down cleanly.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { PAIRING_ATTEMPTS, PAIRING_CODE_TTL_MS } from '../loopback/pairing.ts';
import { LoopbackStartError, startLoopbackServer, type LoopbackServer } from '../loopback/server.ts';
import type { HostServices } from '../services.ts';
import { CliError, EXIT } from './exit-codes.ts';
import { interruption } from './interruption.ts';

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d{1,5}$/.test(value) || port > 65535)
    throw new InvalidArgumentError('must be a port number (0 picks a free one).');
  return port;
}

export interface ServeCommandDeps {
  services(cmd: Command): Promise<HostServices>;
  stderr: NodeJS.WritableStream;
}

/** Adds `devpay-companion serve` to the program. */
export function registerServeCommand(program: Command, deps: ServeCommandDeps): void {
  program
    .command('serve')
    .description(
      'serve the loopback WebSocket channel (for sandboxed browsers and running desktop products) until interrupted',
    )
    .option(
      '--port <port>',
      "the port (default: the vendor configuration's loopbackPort; 0 picks a free one)",
      parsePort,
    )
    .option('--pair', 'show a one-time code to type into the extension popup, pairing the browser with this computer')
    .action(async (opts: { port?: number; pair?: boolean }, cmd: Command) => {
      const services = await deps.services(cmd);
      const stop = interruption();
      let server: LoopbackServer;
      try {
        server = await startLoopbackServer({ services, port: opts.port ?? services.config.loopbackPort });
      } catch (error) {
        stop.dispose();
        if (error instanceof LoopbackStartError) throw new CliError(error.message, EXIT.OTHER);
        throw error;
      }
      const where = server.addresses
        .map((a) => (a.includes(':') ? `ws://[${a}]:${server.port}/` : `ws://${a}:${server.port}/`))
        .join(' and ');
      deps.stderr.write(
        `devpay-companion: loopback channel listening on ${where}\ndevpay-companion: token for local programs in ${server.tokenFile}\ndevpay-companion: stop with Ctrl+C\n`,
      );
      if (opts.pair) {
        const pairing = server.openPairing();
        const shown = `${pairing.code.slice(0, 5)}-${pairing.code.slice(5)}`;
        deps.stderr.write(
          `devpay-companion: pairing code ${shown}: type it into the extension's popup ("Pair with this computer") within ${Math.round(PAIRING_CODE_TTL_MS / 60_000)} minutes (${PAIRING_ATTEMPTS} tries)\n`,
        );
      }
      const signal = await stop.received;
      deps.stderr.write(`devpay-companion: ${signal}: shutting down\n`);
      await server.close();
      stop.dispose();
      deps.stderr.write('devpay-companion: loopback channel closed\n');
    });
}
