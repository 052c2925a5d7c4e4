/**
 * `devpay-companion check --product CODE`: what a desktop product runs at start.
 * Exit 0 when the stored set is complete and readable (all three parts present,
 * decrypted with the product's own key, for this product); exit 6, "reactivate",
 * when it is missing or any part of it is not.
 */
import type { Command } from 'commander';
import { maskIdentifier } from '../../shared/activation-key.ts';
import { productRef, requireProduct } from '../activation/products.ts';
import type { HostServices } from '../services.ts';
import { CliError, EXIT } from './exit-codes.ts';

export interface CheckCommandDeps {
  services(cmd: Command): Promise<HostServices>;
  stdout: NodeJS.WritableStream;
}

/** Why a set is not usable, as `check --json` names it. */
export type CheckProblem = 'not-activated' | 'key-missing' | 'file-damaged';

export function registerCheckCommand(program: Command, deps: CheckCommandDeps): void {
  program
    .command('check')
    .description("whether a product's stored set is complete and readable (exit 0), or it must be reactivated (exit 6)")
    .requiredOption('--product <code>', 'the product')
    .option('--json', 'print {"product":{"code","name"},"usable","problem","accessKeyId","activatedAt"}')
    .action(async (opts: { product: string; json?: boolean }, cmd: Command) => {
      const host = await deps.services(cmd);
      const product = requireProduct(host.config, opts.product);
      const stored = await host.store.read(product.code);
      const problem: CheckProblem | null =
        stored.state === 'activated' ? null : stored.state === 'unreadable' ? stored.reason : 'not-activated';
      const accessKeyId = stored.state === 'activated' ? maskIdentifier(stored.credentials.accessKeyId) : null;
      if (opts.json) {
        const activatedAt = stored.state === 'activated' ? stored.credentials.activatedAt : null;
        deps.stdout.write(
          JSON.stringify({
            product: productRef(product),
            usable: problem === null,
            problem,
            accessKeyId,
            activatedAt,
          }) + '\n',
        );
      } else if (problem === null) {
        deps.stdout.write(`${product.code}  ${product.name}: complete and readable, Access Key ID ${accessKeyId}\n`);
      }
      if (problem !== null) {
        const what = {
          'not-activated': 'has no stored credentials',
          'key-missing': "credentials' key is missing from the keychain",
          'file-damaged': 'credentials are damaged or incomplete',
        }[problem];
        throw new CliError(
          `${product.name} ${what}: run devpay-companion reactivate --product ${product.code}.`,
          EXIT.REACTIVATE,
        );
      }
    });
}
