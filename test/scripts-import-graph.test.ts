/**
 * Scripts (demo, benchmark, generators) run outside the test runner: nothing
 * they import, directly or through any chain of modules, may import vitest.
 * esbuild resolves the import graph exactly as the runtime would (packages left
 * external), and the test names the chain that reaches vitest.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const TEST_RUNNER = /^(vitest|@vitest\/.*)(\/|$)/;

/** For each module of the entry's graph that imports the test runner: the chain from the entry to it. */
async function chainsToTestRunner(entry: string): Promise<string[][]> {
  const { metafile } = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
  });
  const importedBy = new Map<string, string>();
  const offenders: string[] = [];
  for (const [file, input] of Object.entries(metafile.inputs)) {
    for (const imported of input.imports) {
      if (imported.external && TEST_RUNNER.test(imported.path)) offenders.push(file);
      else if (!imported.external && !importedBy.has(imported.path)) importedBy.set(imported.path, file);
    }
  }
  return offenders.map((file) => {
    const chain = [file];
    for (let at = importedBy.get(file); at !== undefined && !chain.includes(at); at = importedBy.get(at))
      chain.unshift(at);
    return chain;
  });
}

const scripts = readdirSync('scripts')
  .filter((name) => /\.(ts|mts|mjs|js)$/.test(name))
  .map((name) => join('scripts', name));

describe('scripts do not depend on the test runner', () => {
  it('finds the scripts', () => {
    expect(scripts).toContain('scripts/demo.ts');
    expect(scripts).toContain('scripts/bench.ts');
  });

  it.each(scripts)('%s reaches no module that imports vitest', async (script) => {
    const chains = await chainsToTestRunner(script);
    expect(chains.map((chain) => `${chain.join(' -> ')} -> vitest`)).toEqual([]);
  });

  it('would notice one: a test file that reaches vitest through a helper', async () => {
    const chains = await chainsToTestRunner('test/e2e.test.ts');
    expect(chains).toContainEqual(['test/e2e.test.ts', 'test/helpers/after-browser-test.ts']);
  });
});
