/**
 * `devpay-companion reactivate --product CODE`: started by the desktop product
 * when its credentials are unusable. Records a pending reactivation, opens the
 * activate page in the default browser and waits for the extension to hand the
 * new key over (on a terminal the paste prompt runs meanwhile: first one wins).
 * Prints the product and the masked Access Key ID; exit 7 when no key came.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import open from 'open';
import { activate } from '../activation/activate.ts';
import { DEFAULT_REACTIVATION_MS, MAX_REACTIVATION_MS } from '../activation/pending-reactivation.ts';
import {
  reactivateProduct,
  reactivationCancelled,
  ReactivationEndedError,
  type ReactivatedSet,
} from '../activation/reactivation.ts';
import { productRef, requireProduct } from '../activation/products.ts';
import type { HostServices } from '../services.ts';
import { CliError, EXIT } from './exit-codes.ts';
import { interruption } from './interruption.ts';
import { promptForKey } from './read-key.ts';

export interface ReactivateCommandDeps {
  services(cmd: Command): Promise<HostServices>;
  stdin: NodeJS.ReadStream | NodeJS.ReadableStream;
  stdinIsTTY: boolean;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

function parseTimeout(value: string): number {
  const seconds = Number(value);
  if (!/^\d{1,5}$/.test(value) || seconds < 1 || seconds * 1000 > MAX_REACTIVATION_MS) {
    throw new InvalidArgumentError(`must be a number of seconds from 1 to ${MAX_REACTIVATION_MS / 1000}.`);
  }
  return seconds;
}

export function registerReactivateCommand(program: Command, deps: ReactivateCommandDeps): void {
  program
    .command('reactivate')
    .description(
      'get a new set for a product without reinstalling: opens the activate page and waits for the extension to take the new key (or for it to be pasted)',
    )
    .requiredOption('--product <code>', 'the product to reactivate')
    .option(
      '--timeout <seconds>',
      `how long to wait for the new key (default ${DEFAULT_REACTIVATION_MS / 1000}, at most ${MAX_REACTIVATION_MS / 1000})`,
      parseTimeout,
    )
    .option('--no-open', 'do not open the activate page (the desktop product shows it in its own words)')
    .option('--json', 'print {"product":{"code","name"},"accessKeyId","activatedAt"} (or {"error":{"code","message"}})')
    .action(async (opts: { product: string; timeout?: number; open: boolean; json?: boolean }, cmd: Command) => {
      const host = await deps.services(cmd);
      const product = requireProduct(host.config, opts.product);
      const say = (text: string) => deps.stderr.write(`devpay-companion: ${text}\n`);
      const timeoutMs = (opts.timeout ?? DEFAULT_REACTIVATION_MS / 1000) * 1000;
      // A key pasted at the prompt is the customer's own: it replaces the set as `activate` does.
      const pasted = async (signal: AbortSignal): Promise<ReactivatedSet> => {
        const intro = `Waiting for a new key for ${product.name}. Get one at ${host.config.activateUrl}: the browser extension takes it from there, or paste it here.\n`;
        const key = await promptForKey(
          { stdin: deps.stdin, output: deps.stderr, isTTY: true },
          host.config,
          product.name,
          { intro, signal },
        ).catch((error: unknown) => {
          // Ctrl+C at the prompt cancels the reactivation; the browser winning, or the prompt's own time running out, leaves the wait to the browser.
          if (!signal.aborted && error instanceof CliError && error.exitCode === EXIT.OTHER) {
            throw reactivationCancelled(productRef(product));
          }
          return new Promise<never>(() => undefined);
        });
        const outcome = await activate(host, {
          key,
          productCode: product.code,
          capturedAt: host.now(),
          replace: true,
          source: 'cli',
        });
        return { product: outcome.product, accessKeyId: outcome.accessKeyId, activatedAt: outcome.activatedAt };
      };
      let set: ReactivatedSet;
      const interrupted = interruption();
      try {
        set = await reactivateProduct(host, product.code, {
          timeoutMs,
          signal: interrupted.signal,
          ...(opts.open ? { openActivatePage: async (url: string) => void (await open(url)) } : {}),
          onWaiting: (record) => {
            if (!deps.stdinIsTTY)
              say(
                `waiting until ${new Date(record.expiresAt).toISOString()} for a new key for ${product.name} from ${host.config.activateUrl}`,
              );
          },
          ...(deps.stdinIsTTY ? { alsoWaitFor: pasted } : {}),
        });
      } catch (error) {
        if (error instanceof ReactivationEndedError) {
          if (opts.json)
            deps.stdout.write(
              JSON.stringify({
                error: { code: error.reason === 'timed-out' ? 'TIMED_OUT' : 'CANCELLED', message: error.message },
              }) + '\n',
            );
          throw new CliError(error.message, EXIT.NO_NEW_KEY);
        }
        throw error;
      } finally {
        interrupted.dispose();
      }
      if (opts.json) deps.stdout.write(JSON.stringify(set) + '\n');
      else
        deps.stdout.write(
          `Reactivated ${set.product.name} (${set.product.code}).\nAccess Key ID: ${set.accessKeyId}\n`,
        );
    });
}
