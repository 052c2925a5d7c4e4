/**
 * The built host (dist/devpay-companion.mjs) run as a black box: as the CLI, or
 * as a browser starts it, talking frames over real pipes; an environment with
 * nothing of the developer's session in it; and a scan for secrets in whatever
 * it left behind (files, output).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join, resolve } from 'node:path';
import { pinnedLauncherEnv } from '../../native-host/messaging/pinned-settings.ts';

export const HOST_BUNDLE = resolve('dist/devpay-companion.mjs');
export const DEMO_CONFIG = resolve('shared/config/demo.json');
export const DEMO_CHROMIUM_ID = 'bjlnkhfkplkddabacdecopbmibdnkiic';
export const DEMO_FIREFOX_ID = 'devpay-companion@acme-demo.devpay.test';

/** DEVPAY_TEST_EXECUTABLE=PATH: run the host and CLI through a packaged executable (npm run release) instead of the bundle. */
const PACKAGED_EXECUTABLE = process.env.DEVPAY_TEST_EXECUTABLE
  ? resolve(process.env.DEVPAY_TEST_EXECUTABLE)
  : undefined;

function hostCommand(args: string[]): [string, string[]] {
  return PACKAGED_EXECUTABLE ? [PACKAGED_EXECUTABLE, args] : [process.execPath, [HOST_BUNDLE, ...args]];
}

export function assertBundleBuilt(): void {
  if (!existsSync(HOST_BUNDLE)) throw new Error('dist/devpay-companion.mjs is missing: run npm run build:host');
}

/** An environment with nothing from the developer's session but PATH: no HOME keychain, no display. */
export function isolatedEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, LANG: 'C.UTF-8' };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export async function runCli(
  args: string[],
  options: { env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number },
): Promise<CliResult> {
  const child = spawn(...hostCommand(args), { env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  if (options.input !== undefined) child.stdin.end(options.input);
  else child.stdin.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

/** The CLI left running (serve, reactivate), to be signalled or awaited. */
export function startCli(env: NodeJS.ProcessEnv, args: string[]): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [HOST_BUNDLE, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = once(child, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    stdout,
    stderr,
  }));
  return { child, done };
}

const LE = endianness() === 'LE';

export function frame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  return Buffer.concat([lengthPrefix(body.length), body]);
}

export function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(4);
  if (LE) prefix.writeUInt32LE(length, 0);
  else prefix.writeUInt32BE(length, 0);
  return prefix;
}

/** Splits stdout into frames; throws if anything else is there. */
export function parseFrames(bytes: Buffer): unknown[] {
  const out: unknown[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < 4)
      throw new Error(`stdout holds ${bytes.length - offset} stray bytes after ${out.length} frames`);
    const length = LE ? bytes.readUInt32LE(offset) : bytes.readUInt32BE(offset);
    if (offset + 4 + length > bytes.length)
      throw new Error(`stdout holds a truncated frame after ${out.length} frames`);
    out.push(JSON.parse(bytes.subarray(offset + 4, offset + 4 + length).toString('utf8')));
    offset += 4 + length;
  }
  return out;
}

/** The host as a browser starts it, talking frames over real pipes. */
export class NativeHostProcess {
  readonly child: ChildProcess;
  private stdoutBytes = Buffer.alloc(0);
  private consumed = 0;
  stderr = '';
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** `program`: default the host as the tests run it (see hostCommand); a launcher written by install, say. */
  constructor(args: string[], env: NodeJS.ProcessEnv, program?: string[]) {
    const [command, commandArgs] = program ? [program[0]!, [...program.slice(1), ...args]] : hostCommand(args);
    this.child = spawn(command, commandArgs, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.stdoutBytes = Buffer.concat([this.stdoutBytes, d]);
      for (const w of this.waiters) w();
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.stdin!.on('error', () => undefined); // the host may close first
    this.exited = once(this.child, 'close').then(([code, signal]) => {
      for (const w of this.waiters) w();
      return { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
  }

  /** As the launcher `install` writes would start it: the License Service and CA of `env` pinned. */
  static chromium(env: NodeJS.ProcessEnv, extensionId = DEMO_CHROMIUM_ID): NativeHostProcess {
    return new NativeHostProcess([`chrome-extension://${extensionId}/`], {
      ...env,
      ...pinnedLauncherEnv(env.DEVPAY_LICENSE_SERVICE ?? '', env.DEVPAY_CA_FILE),
    });
  }

  send(message: unknown): void {
    this.child.stdin!.write(frame(message));
  }

  writeRaw(bytes: Buffer): void {
    this.child.stdin!.write(bytes);
  }

  end(): void {
    this.child.stdin!.end();
  }

  /** Every stdout byte so far, which must be whole frames only. */
  get stdout(): Buffer {
    return this.stdoutBytes;
  }

  /** The next reply (in arrival order). */
  async next(timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.stdoutBytes.subarray(this.consumed);
      if (rest.length >= 4) {
        const length = LE ? rest.readUInt32LE(0) : rest.readUInt32BE(0);
        if (rest.length >= 4 + length) {
          this.consumed += 4 + length;
          return JSON.parse(rest.subarray(4, 4 + length).toString('utf8')) as Record<string, unknown>;
        }
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`host exited (stderr: ${this.stderr.slice(-500)})`);
      if (Date.now() > deadline)
        throw new Error(`no reply within ${timeoutMs} ms (stderr: ${this.stderr.slice(-500)})`);
      await new Promise<void>((r) => {
        const t = setTimeout(done, Math.max(1, deadline - Date.now()));
        function done() {
          clearTimeout(t);
          r();
        }
        this.waiters.add(done);
      });
      this.waiters.clear();
    }
  }

  /** Sends one request and waits for its reply. */
  async request(message: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>> {
    this.send(message);
    return this.next(timeoutMs);
  }

  async close(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

export async function filesUnder(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** The forms a secret could leak in: as is, URL-encoded, and the base64 body of a {Token}. */
function leakForms(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret)]);
  const body = secret.replace(/^\{[A-Za-z]+\}/, '');
  if (body.length >= 16) forms.add(body.slice(0, 40));
  return [...forms];
}

/** Where any of the secrets shows up: files under the folders, and the given texts (stdout, stderr). */
export async function findSecrets(
  secrets: string[],
  places: { dirs?: string[]; texts?: Record<string, string | Buffer> },
): Promise<string[]> {
  const found: string[] = [];
  const check = (where: string, content: string) => {
    for (const secret of secrets) {
      if (!secret) continue;
      if (leakForms(secret).some((form) => content.includes(form)))
        found.push(`${where} holds a secret (${secret.slice(0, 4)}…)`);
    }
  };
  for (const dir of places.dirs ?? []) {
    for (const file of await filesUnder(dir)) check(file, (await readFile(file)).toString('latin1'));
  }
  for (const [where, text] of Object.entries(places.texts ?? {}))
    check(where, typeof text === 'string' ? text : text.toString('latin1'));
  return found;
}
