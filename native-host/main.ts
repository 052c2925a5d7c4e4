/**
 * Entry point. Started by a browser (argv holds `chrome-extension://ID/`, or a
 * Firefox manifest path and add-on ID) it speaks native messaging on stdio;
 * otherwise it is the `devpay-companion` command line.
 *
 * In native messaging mode stdout carries only frames: before any other module is
 * loaded (they are imported dynamically below), every other write to stdout —
 * console.log, a library's stray output — is sent to stderr instead.
 */
import { looksLikeBrowserLaunch } from './messaging/caller.ts';

const args = process.argv.slice(2);

// No top-level await: the packaged executable bundles this file as CommonJS.
async function main(): Promise<never> {
  if (looksLikeBrowserLaunch(args)) {
    const stdout = process.stdout;
    const realWrite = stdout.write.bind(stdout);
    const toStderr = process.stderr.write.bind(process.stderr);
    stdout.write = toStderr;
    for (const method of ['log', 'info', 'debug', 'warn', 'trace', 'dir'] as const) {
      console[method] = (...items: unknown[]) => console.error(...items);
    }
    stdout.on('error', () => undefined); // EPIPE once the browser is gone: reported per write
    process.on('uncaughtException', (error) => {
      process.stderr.write(`devpay-companion: internal error: ${error.name}: ${error.message}\n`);
      process.exit(1);
    });
    process.on('unhandledRejection', (reason) => {
      process.stderr.write(
        `devpay-companion: internal error: ${reason instanceof Error ? reason.message : String(reason)}\n`,
      );
      process.exit(1);
    });
    const { runNativeHost } = await import('./messaging/native-host.ts');
    const code = await runNativeHost(args, (frame, done) => {
      realWrite(frame, (error) => done(error ?? null));
    });
    process.exit(code);
  } else {
    // The reader went away (`devpay-companion --help | head -c 1`): stop quietly, as a SIGPIPE would, not with a stack trace.
    for (const stream of [process.stdout, process.stderr]) {
      stream.on('error', (error: NodeJS.ErrnoException) => process.exit(error.code === 'EPIPE' ? 141 : 1));
    }
    const { runCli } = await import('./cli/program.ts');
    const code = await runCli(process.argv);
    // Flush stdout before exiting (a pipe may be slow); exit explicitly so a keychain call stuck in a native thread cannot keep us alive.
    await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
    process.exit(code);
  }
}

void main();
