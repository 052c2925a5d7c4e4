/**
 * Starts a host the way a browser does (the manifest's `path`, the caller on the
 * command line, frames on stdin/stdout) and sends `hello`: the proof that a
 * browser-started host will answer. Time-limited; the child is always killed.
 */
import { spawn } from 'node:child_process';
import { PROTOCOL_VERSION } from '../../shared/messages.ts';
import { encodeFrame, FrameDecoder } from '../messaging/framing.ts';

export interface HandshakeOptions {
  executable: string;
  /** What the browser passes: ['chrome-extension://ID/'] or [manifestPath, addonId]. */
  args: string[];
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
}

export type HandshakeResult =
  | { ok: true; ms: number; reply: Record<string, unknown> }
  | { ok: false; ms: number; reason: 'spawn' | 'exited' | 'timeout' | 'bad-reply' | 'error-reply'; detail: string };

const MAX_STDERR = 4096;

/** Only the last line, shortened: enough to say why, never a flood. */
function lastLine(text: string): string {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const line = lines.at(-1) ?? '';
  return line.length > 240 ? `${line.slice(0, 240)}...` : line;
}

export function helloHandshake(options: HandshakeOptions): Promise<HandshakeResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const id = `doctor-${process.pid}-${Date.now()}`;
  return new Promise((resolve) => {
    let settled = false;
    let stderr = '';
    const child = spawn(options.executable, options.args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      windowsHide: true,
    });
    const finish = (result: HandshakeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout?.removeAllListeners('data');
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ ok: false, ms: elapsed(), reason: 'timeout', detail: `no answer within ${options.timeoutMs} ms` }),
      options.timeoutMs,
    );
    child.on('error', (error: NodeJS.ErrnoException) =>
      finish({
        ok: false,
        ms: elapsed(),
        reason: 'spawn',
        detail: `cannot start ${options.executable} (${error.code ?? error.message})`,
      }),
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < MAX_STDERR) stderr += chunk.toString('utf8').slice(0, MAX_STDERR - stderr.length);
    });
    child.on('exit', (code, signal) => {
      // Give a last stdout chunk the chance to arrive first.
      setImmediate(() =>
        finish({
          ok: false,
          ms: elapsed(),
          reason: 'exited',
          detail: `the host exited (${signal ?? `code ${code}`}) without answering${lastLine(stderr) ? `: ${lastLine(stderr)}` : ''}`,
        }),
      );
    });
    const decoder = new FrameDecoder(1024 * 1024);
    child.stdout?.on('data', (chunk: Buffer) => {
      let messages: unknown[];
      try {
        messages = decoder.push(chunk);
      } catch (error) {
        finish({
          ok: false,
          ms: elapsed(),
          reason: 'bad-reply',
          detail: `broken framing on stdout (${(error as Error).message})`,
        });
        return;
      }
      for (const message of messages) {
        const reply =
          typeof message === 'object' && message !== null ? (message as Record<string, unknown>) : undefined;
        if (reply?.type === 'hello' && reply.id === id) finish({ ok: true, ms: elapsed(), reply });
        else if (reply?.type === 'error') {
          finish({
            ok: false,
            ms: elapsed(),
            reason: 'error-reply',
            detail: `${String(reply.code)}: ${String(reply.message)}`,
          });
        } else
          finish({
            ok: false,
            ms: elapsed(),
            reason: 'bad-reply',
            detail: 'the host answered something other than hello',
          });
      }
    });
    child.stdin?.on('error', () => {
      // EPIPE when the host exits early: reported through 'exit'.
    });
    child.stdin?.write(
      encodeFrame({ type: 'hello', id, protocol: PROTOCOL_VERSION, client: 'devpay-companion doctor' }),
    );
  });
}
