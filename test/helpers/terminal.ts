/**
 * A real pseudo-terminal for tests: a private tmux server runs the command, the
 * test types into it and reads the screen. Used to paste a key at the CLI prompt
 * exactly as a customer would.
 *
 *   const term = await startTerminal([process.execPath, 'dist/devpay-companion.mjs', 'activate'], { env });
 *   await term.waitFor('Activation key:');
 *   await term.type(key); await term.press('Enter');
 *   expect(await term.waitForExit()).toBe(0);
 *   await term.stop();
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface Terminal {
  /** Types text literally (no key names). */
  type(text: string): Promise<void>;
  /** Presses a key by tmux name: Enter, C-c, BSpace, Up... */
  press(key: string): Promise<void>;
  /** The visible screen and scrollback, lines joined. */
  screen(): Promise<string>;
  /** Waits until the screen shows the text; returns the screen. */
  waitFor(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Waits for the command to end; returns its exit status. */
  waitForExit(timeoutMs?: number): Promise<number>;
  /** Ends the command and the tmux server, removes the temp folder. */
  stop(): Promise<void>;
}

export interface TerminalOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  width?: number;
  height?: number;
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_/.,:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export async function startTerminal(command: string[], options: TerminalOptions = {}): Promise<Terminal> {
  const dir = await mkdtemp(join(tmpdir(), 'devpay-tty-'));
  const socket = join(dir, 'tmux.sock');
  const conf = join(dir, 'tmux.conf');
  // Keep the pane after the command exits so its status can be read; no status bar in the screen.
  await writeFile(conf, 'set -g remain-on-exit on\nset -g status off\nset -g history-limit 5000\n');
  const env = { ...(options.env ?? process.env), TERM: 'xterm-256color' };
  const tmux = (...args: string[]) =>
    execFileAsync('tmux', ['-S', socket, '-f', conf, ...args], { env, cwd: options.cwd, timeout: 10_000 });

  // A shell runs the command and records its exit status in a file: more dependable than
  // tmux's pane_dead_status, which lags when tmux is slow to reap the process.
  const statusFile = join(dir, 'exit-status');
  const script = `${command.map(shellQuote).join(' ')}; echo $? > ${shellQuote(statusFile)}`;
  await tmux(
    'new-session',
    '-d',
    '-s',
    'test',
    '-x',
    String(options.width ?? 160),
    '-y',
    String(options.height ?? 40),
    `/bin/sh -c ${shellQuote(script)}`,
  );

  const screen = async () => (await tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'test')).stdout;
  const terminal: Terminal = {
    async type(text) {
      await tmux('send-keys', '-t', 'test', '-l', text);
    },
    async press(key) {
      await tmux('send-keys', '-t', 'test', key);
    },
    screen,
    async waitFor(pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      while (Date.now() < deadline) {
        last = await screen();
        if (typeof pattern === 'string' ? last.includes(pattern) : pattern.test(last)) return last;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`terminal: ${String(pattern)} did not appear within ${timeoutMs} ms. Screen:\n${last}`);
    },
    async waitForExit(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const status = await readFile(statusFile, 'utf8').catch(() => '');
        if (/^\d+\n$/.test(status)) return Number(status.trim());
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`terminal: the command did not exit within ${timeoutMs} ms. Screen:\n${await screen()}`);
    },
    async stop() {
      await tmux('kill-server').catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return terminal;
}
