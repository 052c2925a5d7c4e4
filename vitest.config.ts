import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // browser.i18n for extension modules tested in Node.
    setupFiles: ['test/setup/i18n.ts'],
    pool: 'forks',
    // Browser and keychain tests start real processes; two cores.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
