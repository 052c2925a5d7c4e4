/**
 * Getting the activation key from the customer when it is not on the command
 * line: a prompt on a terminal (saying where the key was shown and where to get
 * a new one), otherwise the first non-empty line of stdin.
 */
import { password } from '@inquirer/prompts';
import type { VendorConfig } from '../../shared/config.ts';
import { HostError } from '../errors.ts';
import { CliError, EXIT } from './exit-codes.ts';

/** More than any key plus the noise a paste brings. */
const MAX_STDIN_BYTES = 4096;
const STDIN_WAIT_MS = 60_000;
/** A key lives an hour; nobody should be left with a prompt for longer than that. */
const PROMPT_WAIT_MS = 15 * 60_000;

export interface KeyInput {
  stdin: NodeJS.ReadStream | NodeJS.ReadableStream;
  /** Where the prompt and its explanation go (the terminal). */
  output: NodeJS.WritableStream;
  isTTY: boolean;
}

export function keyPromptIntro(config: VendorConfig, productName: string | undefined): string {
  const forWhat =
    productName ??
    (config.products.length === 1
      ? config.products[0]!.name
      : `one of: ${config.products.map((p) => p.name).join(', ')}`);
  return [
    `Activating ${forWhat}.`,
    'Paste the activation key that was shown in the top frame of your browser after the purchase.',
    'If it is no longer shown (or over an hour old), sign in and get a new key at:',
    `  ${config.activateUrl}`,
    '',
  ].join('\n');
}

/** `intro` replaces the usual explanation; `signal` ends the prompt early (AbortPromptError). */
export async function promptForKey(
  input: KeyInput,
  config: VendorConfig,
  productName: string | undefined,
  options: { intro?: string; signal?: AbortSignal } = {},
): Promise<string> {
  input.output.write(options.intro ?? keyPromptIntro(config, productName));
  const timeout = AbortSignal.timeout(PROMPT_WAIT_MS);
  try {
    return await password(
      { message: 'Activation key:', mask: '*' },
      {
        input: input.stdin,
        output: input.output,
        signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
        clearPromptOnDone: false,
      },
    );
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'ExitPromptError') throw new CliError('Cancelled: no activation key was entered.', EXIT.OTHER);
    if (name === 'AbortPromptError') throw new CliError('No activation key was entered in time.', EXIT.USAGE);
    throw error;
  }
}

/** The first non-empty line of stdin, read with a size and time bound. */
export function readKeyFromStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    let bytes = 0;
    const finish = (error?: Error) => {
      clearTimeout(timer);
      stdin.removeListener('data', onData);
      stdin.removeListener('end', onEnd);
      stdin.removeListener('error', onError);
      if ('pause' in stdin) stdin.pause();
      if (error) reject(error);
      else resolve(text.split(/\r?\n/).find((line) => line.trim() !== '') ?? '');
    };
    const onData = (chunk: Buffer | string) => {
      bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      if (bytes > MAX_STDIN_BYTES) {
        finish(new HostError('MALFORMED_KEY', 'That is not an activation key: stdin held far more than one key.'));
        return;
      }
      text += chunk.toString();
      // One line is all we need; do not wait for the writer to close the pipe.
      if (/\S[^\n]*\n/.test(text)) finish();
    };
    const onEnd = () => finish();
    const onError = (error: Error) => finish(error);
    const timer = setTimeout(
      () =>
        finish(
          new CliError(
            'No activation key arrived on stdin within a minute. Pipe it in (with --key -), or run the command in a terminal to paste it at the prompt.',
            EXIT.USAGE,
          ),
        ),
      STDIN_WAIT_MS,
    );
    timer.unref();
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onError);
  });
}

/** `--key -` reads stdin; anything else would be a key in argv, readable by every user in the process list. */
export function refuseKeyInArgv(value: string | undefined): void {
  if (value === undefined || value === '-') return;
  throw new CliError(
    'Refusing an activation key on the command line: other users of this computer can read command lines. Pipe it in (`devpay-companion activate --key - < key.txt`) or run `devpay-companion activate` and paste it at the prompt.',
    EXIT.USAGE,
  );
}
