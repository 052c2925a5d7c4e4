/**
 * The host against the floor, as a browser starts it (the launcher `install`
 * wrote, the browser's argument, frames over pipes), each pair interleaved:
 *  - start-up: spawn to the reply to `hello`, against a bare `node -e` that
 *    echoes one frame;
 *  - activation: spawn with an `activate` frame to the `activated` reply, against
 *    a bare `node` that reads the frame, makes one verified HTTPS GET to the same
 *    License Service simulator, writes one keychain entry (keytar) and replies;
 *  - the host's peak memory (VmHWM) at its reply, and its keychain broker's.
 * Used by scripts/bench.ts.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { encodeFrame, FrameDecoder } from '../native-host/messaging/framing.ts';
import { activationQuery } from '../native-host/license-service/protocol.ts';

export interface Timed {
  ms: number;
  reply: { type?: string; code?: string; message?: string };
  /** Peak resident memory of the process (and of its children still running) at the reply, in KiB. */
  peakKiB: number;
  childPeakKiB: number;
}

/** A bare node answering the first frame with one frame: the least any host can do. */
export const ECHO_FLOOR = `process.stdin.once('data', () => {
  const body = Buffer.from(JSON.stringify({ type: 'hello' }));
  const head = Buffer.alloc(4); head.writeUInt32LE(body.length);
  process.stdout.write(Buffer.concat([head, body]));
});`;

/**
 * The activation floor: read the frame, one verified HTTPS GET (the simulator's
 * CA), one keychain write, one reply. argv: keytar's path, License Service URL, CA file, product token, data account.
 */
export const ACTIVATION_FLOOR = `const [keytarPath, endpoint, caFile, query, account] = process.argv.slice(1);
const https = require('node:https');
let input = Buffer.alloc(0);
process.stdin.on('data', (d) => {
  input = Buffer.concat([input, d]);
  if (input.length < 4 || input.length < 4 + input.readUInt32LE(0)) return;
  process.stdin.pause();
  const request = JSON.parse(input.subarray(4, 4 + input.readUInt32LE(0)).toString());
  https.get(new URL('?' + query.replace('KEY', request.key), endpoint), { ca: require('node:fs').readFileSync(caFile), agent: false }, (res) => {
    let body = '';
    res.on('data', (c) => (body += c)).on('end', async () => {
      if (res.statusCode !== 200) throw new Error('License Service said ' + res.statusCode);
      await require(keytarPath).setPassword('devpay-companion.bench-floor', account, body.slice(0, 64));
      const out = Buffer.from(JSON.stringify({ type: 'activated', id: request.id }));
      const head = Buffer.alloc(4); head.writeUInt32LE(out.length);
      process.stdout.write(Buffer.concat([head, out]));
    });
  }).on('error', (e) => { throw e; });
});`;

export function activationFloorArgs(options: { endpoint: string; caFile: string; productToken: string }): string[] {
  const keytar = createRequire(import.meta.url).resolve('keytar');
  return [
    keytar,
    options.endpoint,
    options.caFile,
    activationQuery('KEY', options.productToken),
    `bench-floor-${process.pid}`,
  ];
}

function peakKiB(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function childrenOf(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Spawns, writes one frame, times the first reply frame; then kills the process (and waits for it). */
export function timeOneReply(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  message: unknown,
  timeoutMs = 30_000,
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const decoder = new FrameDecoder(1024 * 1024);
    let stderr = '';
    let outcome: Timed | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.stdout.on('data', (chunk: Buffer) => {
      if (outcome) return;
      const [reply] = decoder.push(chunk) as Timed['reply'][];
      if (reply === undefined) return;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const children = childrenOf(child.pid);
      outcome = { ms, reply, peakKiB: peakKiB(child.pid), childPeakKiB: Math.max(0, ...children.map(peakKiB)) };
      child.stdin.end(); // as a browser closing the port: the host exits and stops its broker
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    });
    child.on('exit', () => {
      clearTimeout(timer);
      if (outcome) resolve(outcome);
      else reject(new Error(`${command} exited without a reply: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.write(encodeFrame(message));
  });
}

export const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export const spread = (values: number[]): string =>
  `median ${median(values).toFixed(0)} ms (min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)}, n=${values.length})`;
