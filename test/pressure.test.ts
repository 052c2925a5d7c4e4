/**
 * Output that nobody reads (issue 14, item 7): the CLI whose reader has gone
 * (`devpay-companion --help | true`) and a browser that stops reading the
 * native host's replies while still sending requests. The packaged bundle.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { pinnedLauncherEnv } from '../native-host/messaging/pinned-settings.ts';
import { DEMO_CHROMIUM_ID, HOST_BUNDLE, frame } from './machine/companion.ts';
import { useTestServices } from './helpers/test-services.ts';

const services = useTestServices('pressure');

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

describe('a reader that went away', () => {
  it('the CLI stops quietly (no stack trace) when its stdout pipe is closed', async () => {
    for (const args of [['--help'], ['activate', '--help'], ['--version']]) {
      const child = spawn('sh', ['-c', `"${process.execPath}" "${HOST_BUNDLE}" ${args.join(' ')} | true`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout.resume();
      await once(child, 'close');
      expect(stderr, args.join(' ')).toBe('');
    }
  });
});

describe('a browser that stops reading replies', () => {
  it('the native host stops reading requests instead of buffering replies without end, and loses none', async () => {
    const testCase = await services.newCase();
    const child = spawn(process.execPath, [HOST_BUNDLE, `chrome-extension://${DEMO_CHROMIUM_ID}/`], {
      env: {
        ...testCase.env,
        ...pinnedLauncherEnv(services.sim.licenseServiceUrl, services.sim.caFile),
        DEVPAY_LOG_FILE: '0',
        DEVPAY_LOG_LEVEL: 'error',
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    child.stdin.on('error', () => undefined);
    child.stdout.pause(); // the browser reads nothing
    const one = frame({ type: 'no-such-type', id: 'n' });
    const count = Math.ceil((2.5 * 1024 * 1024) / one.length);
    const input = Buffer.concat(Array.from({ length: count }, () => one));
    child.stdin.write(input);
    let peak = 0;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 200));
      peak = Math.max(peak, await rssMiB(child.pid!));
    }
    const unread = child.stdin.writableLength;
    console.log(
      `native host RSS with ${(input.length / 1024 / 1024).toFixed(1)} MiB of requests and no reader: peak ${peak.toFixed(0)} MiB; requests it left unread: ${(unread / 1024 / 1024).toFixed(1)} MiB`,
    );
    // It stopped reading: most of the requests are still waiting on our side of the pipe.
    expect(unread).toBeGreaterThan(input.length / 2);
    expect(peak).toBeLessThan(150);

    // The browser reads again: every request gets its answer.
    let replies = 0;
    let buffered = Buffer.alloc(0);
    child.stdout.on('data', (d: Buffer) => {
      buffered = Buffer.concat([buffered, d]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32LE(0)) {
        buffered = buffered.subarray(4 + buffered.readUInt32LE(0));
        replies++;
      }
    });
    child.stdout.resume();
    child.stdin.end();
    await once(child, 'close');
    expect(replies).toBe(count);
  }, 120_000);
});
