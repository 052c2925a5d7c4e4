/**
 * `devpay-companion`, the command line: the customer's fallback when the
 * extension cannot hand the key over, the desktop product's way to read
 * credentials in any language, and the vendor's tool (install/doctor).
 */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../../shared/config.ts';
import { activate, forget } from '../activation/activate.ts';
import { NotActivatedError, productStatuses, readProductCredentials } from '../activation/credentials.ts';
import { requireProduct } from '../activation/products.ts';
import { HostError } from '../errors.ts';
import { InstallError } from '../install/errors.ts';
import { createLogger, parseLogLevel, type Logger } from '../log.ts';
import { createHostServices, type HostServices } from '../services.ts';
import { ENV, resolveSettings, type SettingsOptions } from '../settings.ts';
import { HOST_VERSION } from '../version.ts';
import { registerCheckCommand } from './check-command.ts';
import { registerDoctorCommand } from './doctor-command.ts';
import { CliError, EXIT, exitCodeFor } from './exit-codes.ts';
import { registerInstallCommands } from './install-commands.ts';
import { registerReactivateCommand } from './reactivate-command.ts';
import { promptForKey, readKeyFromStdin, refuseKeyInArgv } from './read-key.ts';
import { registerServeCommand } from './serve-command.ts';

export interface CliIo {
  stdin: NodeJS.ReadStream | NodeJS.ReadableStream;
  stdinIsTTY: boolean;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export const EXIT_CODES_HELP = `
Exit codes:
  0  done
  1  anything else (e.g. a product that is not activated, a cancelled prompt)
  2  usage or configuration (an http:// License Service included)
  3  the key was refused (malformed, expired, invalid, for another product)
  4  the License Service could not be used (down after retries, untrusted certificate, an unusable answer)
  5  keychain or storage
  6  check: the stored set is missing, incomplete or unreadable: run reactivate
  7  reactivate: no new key arrived in time (or it was cancelled); the old set is untouched

Environment variables (a flag wins over its variable):
  ${ENV.config}           the vendor configuration file (--config)
  ${ENV.dataDir}         where the encrypted credentials are kept (--data-dir)
  ${ENV.licenseService}  the License Service, https:// only (--license-service)
  ${ENV.caFile}          extra trusted CA certificates, PEM (--ca-file)
  DEVPAY_LOG_LEVEL        debug, info, warn (default) or error; logs go to stderr
`;

/** The product's credentials in the shape of AWS credential_process, plus both tokens. */
export interface CredentialProcessOutput {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  /** User token and product token joined by a comma, as x-amz-security-token takes them. */
  SessionToken: string;
  UserToken: string;
  ProductToken: string;
}

function defaultIo(): CliIo {
  // isTTY is undefined when stdin is not a terminal, whatever its type says.
  return {
    stdin: process.stdin,
    stdinIsTTY: process.stdin.isTTY ?? false,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  };
}

export function createProgram(io: CliIo = defaultIo()): Command {
  const log: Logger = createLogger({
    level: parseLogLevel(io.env.DEVPAY_LOG_LEVEL, 'warn'),
    stream: { write: (line: string) => io.stderr.write(line) },
  });
  const program = new Command('devpay-companion');
  program
    .description(
      "Activates DevPay desktop products and keeps each product's credentials encrypted, with the key in the OS keychain.",
    )
    .version(HOST_VERSION, '-V, --version')
    .option('--config <file>', `vendor configuration (env ${ENV.config})`)
    .option('--data-dir <dir>', `folder of the encrypted credentials (env ${ENV.dataDir})`)
    .option('--license-service <url>', `License Service, https:// only (env ${ENV.licenseService})`)
    .option('--ca-file <pem>', `extra trusted CA certificates, PEM (env ${ENV.caFile})`)
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  const services = async (cmd: Command): Promise<HostServices> => {
    const settings = await resolveSettings(cmd.optsWithGlobals<SettingsOptions>(), io.env);
    return createHostServices(settings, { log });
  };

  program
    .command('activate')
    .description(
      'activate a product with an activation key (prompted for on a terminal, read from stdin when piped); replaces an existing set',
    )
    .option('--product <code>', 'the product the key is for (default: the only product, or each in turn)')
    .addOption(
      new Option(
        '--key <source>',
        '"-": read the key from stdin (a key itself is refused: other users can see command lines)',
      ),
    )
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (opts: { product?: string; key?: string }, cmd: Command) => {
      const host = await services(cmd);
      // Checked before asking for a key.
      const product = opts.product !== undefined ? requireProduct(host.config, opts.product) : undefined;
      // A key in argv is in /proc/*/cmdline for every user of the machine: refused (read-key.ts).
      refuseKeyInArgv(opts.key);
      let key: string;
      if (opts.key === '-') key = await readKeyFromStdin(io.stdin);
      else {
        key = io.stdinIsTTY
          ? await promptForKey({ stdin: io.stdin, output: io.stdout, isTTY: true }, host.config, product?.name)
          : await readKeyFromStdin(io.stdin);
      }
      if (key.trim() === '') {
        throw new CliError(
          'No activation key given: pipe the key on stdin (--key -), or run this in a terminal to be asked for it.',
          EXIT.USAGE,
        );
      }
      const outcome = await activate(host, {
        key,
        ...(opts.product !== undefined ? { productCode: opts.product } : {}),
        capturedAt: host.now(),
        replace: true,
        source: 'cli',
      });
      io.stdout.write(
        `Activated ${outcome.product.name} (${outcome.product.code}).\nAccess Key ID: ${outcome.accessKeyId}\n`,
      );
      if (outcome.replaced) io.stdout.write('The credentials stored before were replaced.\n');
    });

  program
    .command('status')
    .description('each configured product: whether it is activated, when, and the masked Access Key ID')
    .option('--json', 'print {"products":[{"code","name","activated","activatedAt","accessKeyId"}]}')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const host = await services(cmd);
      const products = await productStatuses(host);
      if (opts.json) {
        const out = {
          products: products.map(({ code, name, activated, activatedAt, accessKeyId }) => ({
            code,
            name,
            activated,
            activatedAt,
            accessKeyId,
          })),
        };
        io.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return;
      }
      for (const p of products) {
        const what =
          p.state === 'activated'
            ? `activated ${p.activatedAt}, Access Key ID ${p.accessKeyId}`
            : p.state === 'unreadable'
              ? 'credentials unreadable: reactivate'
              : 'not activated';
        io.stdout.write(`${p.code}  ${p.name}: ${what}\n`);
      }
    });

  program
    .command('credentials')
    .description("print a product's credentials as AWS credential_process JSON (plus UserToken and ProductToken)")
    .requiredOption('--product <code>', 'the product')
    .action(async (opts: { product: string }, cmd: Command) => {
      const { product, credentials: c } = await readProductCredentials(await services(cmd), opts.product);
      const out: CredentialProcessOutput = {
        Version: 1,
        AccessKeyId: c.accessKeyId,
        SecretAccessKey: c.secretAccessKey,
        SessionToken: `${c.userToken},${product.productToken}`,
        UserToken: c.userToken,
        ProductToken: product.productToken,
      };
      io.stdout.write(JSON.stringify(out) + '\n');
    });

  program
    .command('forget')
    .description("delete a product's credentials file and its keychain entry")
    .requiredOption('--product <code>', 'the product')
    .action(async (opts: { product: string }, cmd: Command) => {
      const host = await services(cmd);
      const outcome = await forget(host, opts.product);
      io.stdout.write(
        outcome.removedFile || outcome.removedKey
          ? `Forgot the credentials of ${outcome.product.name} (${outcome.product.code}).\n`
          : `${outcome.product.name} (${outcome.product.code}) had no credentials stored.\n`,
      );
    });

  const settings = (opts: SettingsOptions) => resolveSettings(opts, io.env);
  registerInstallCommands(program, settings);
  registerDoctorCommand(program, settings);
  registerServeCommand(program, { services, stderr: io.stderr });
  registerReactivateCommand(program, { services, ...io });
  registerCheckCommand(program, { services, stdout: io.stdout });
  for (const command of program.commands)
    command
      .exitOverride()
      .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  return program;
}

/** Runs the CLI; resolves with the exit code (never throws). */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (error) {
    const say = (message: string) => io.stderr.write(`devpay-companion: ${message}\n`);
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.OK;
      if (error.code === 'commander.help') return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE; // no command given
      return EXIT.USAGE; // commander already printed what was wrong
    }
    const exitCode = exitCodeOf(error);
    if (exitCode !== undefined) {
      say((error as Error).message);
      return exitCode;
    }
    say(`unexpected error: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    return EXIT.OTHER;
  }
}

/** The exit code of a failure the customer can act on; undefined for a bug. */
function exitCodeOf(error: unknown): number | undefined {
  if (error instanceof ConfigError) return EXIT.USAGE;
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof InstallError) return error.kind === 'usage' ? EXIT.USAGE : EXIT.OTHER;
  if (error instanceof NotActivatedError) return EXIT.OTHER;
  if (error instanceof HostError) return exitCodeFor(error.code);
  return undefined;
}
