/**
 * Faults on the way to the disk (issue 14): a full disk, for real (a small
 * tmpfs mounted as the data folder; where mounting is not allowed the test says
 * so and is skipped, and test/store.test.ts covers ENOSPC by an injected write
 * failure), and many activations at once in separate processes. kill -9 during
 * a replace is test/cli.test.ts "an activation killed at any moment".
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './machine/companion.ts';
import { useTestServices, type TestCase } from './helpers/test-services.ts';

const services = useTestServices('faults', { keytarInThisProcess: true });

function activate(testCase: TestCase, key: string) {
  return runCli(['activate', '--product', 'ACMEBK01', '--key', '-'], {
    env: testCase.env,
    input: `${key}\n`,
    timeoutMs: 90_000,
  });
}

async function storedId(testCase: TestCase): Promise<string> {
  const out = await runCli(['credentials', '--product', 'ACMEBK01'], { env: testCase.env });
  expect(out.code, out.stderr).toBe(0);
  return (JSON.parse(out.stdout) as { AccessKeyId: string }).AccessKeyId;
}

function tryMountTmpfs(dir: string, bytes: number): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('a full disk', () => {
  it('a replace that cannot be written says so and leaves the old set exactly as it was; with space again it works', async (context) => {
    const testCase = await services.newCase();
    await mkdir(testCase.dataDir, { mode: 0o700 });
    if (!tryMountTmpfs(testCase.dataDir, 256 * 1024)) {
      context.skip(
        'cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN); ENOSPC is covered by an injected failure in test/store.test.ts',
      );
      return;
    }
    try {
      const first = await activate(testCase, services.sim.purchase('ACMEBK01'));
      expect(first.code, first.stderr).toBe(0);
      const before = await storedId(testCase);

      // Fill the disk to the last byte.
      const filler = join(testCase.dataDir, 'filler');
      await writeFile(filler, Buffer.alloc(0));
      for (let size = 64 * 1024; size >= 1; size >>= 1) {
        for (;;) {
          try {
            await writeFile(filler, Buffer.alloc(size), { flag: 'a' });
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
            break;
          }
        }
      }

      const full = await activate(testCase, services.sim.purchase('ACMEBK01'));
      expect(full.code).toBe(5);
      expect(full.stderr).toMatch(/could not be saved.*ENOSPC.*Free some disk space/);
      expect(full.stderr).not.toMatch(/\n\s+at /);
      expect(await storedId(testCase)).toBe(before);
      expect((await readdir(join(testCase.dataDir, 'credentials'))).filter((n) => n.endsWith('.tmp'))).toEqual([]);

      await rm(filler);
      const again = await activate(testCase, services.sim.purchase('ACMEBK01'));
      expect(again.code, again.stderr).toBe(0);
      expect(await storedId(testCase)).toBe(services.sim.issued.at(-1)!.accessKeyId);
    } finally {
      execFileSync('umount', [testCase.dataDir]);
    }
  }, 180_000);
});

describe('parallel activations', () => {
  it('eight at once in eight processes: each finishes, and the stored set is whole and one of those issued', async () => {
    const testCase = await services.newCase();
    const issuedBefore = services.sim.issued.length;
    const results = await Promise.all(
      Array.from({ length: 8 }, () => activate(testCase, services.sim.purchase('ACMEBK01'))),
    );
    for (const r of results) expect([r.code, r.stderr]).toEqual([0, '']);
    const issued = services.sim.issued.slice(issuedBefore).map((s) => s.accessKeyId);
    expect(issued).toHaveLength(8);
    expect(issued).toContain(await storedId(testCase));
    expect((await readdir(join(testCase.dataDir, 'credentials'))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 180_000);
});
