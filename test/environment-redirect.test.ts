/**
 * A browser started with an environment that points elsewhere (issue 14, item
 * 5): DEVPAY_LICENSE_SERVICE, DEVPAY_CA_FILE, NODE_EXTRA_CA_CERTS, and even the
 * launcher's own pinned variables, aimed at a fake License Service with its own
 * CA. The host, started through the launcher `install` wrote (the simulator
 * pinned at install time), goes to the pinned License Service only.
 */
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSettings as resolveHostContext } from '../native-host/settings.ts';
import { installForContext } from '../native-host/install/this-machine.ts';
import { pinnedLauncherEnv } from '../native-host/messaging/pinned-settings.ts';
import { DEMO_CHROMIUM_ID, HOST_BUNDLE, NativeHostProcess } from './machine/companion.ts';
import { useTestServices } from './helpers/test-services.ts';
import { startSimulator, type Simulator } from './simulator/server.ts';

const services = useTestServices('redirect', { keytarInThisProcess: true });
let fake: Simulator;
beforeAll(async () => {
  fake = await startSimulator({ config: services.demo });
});
afterAll(() => fake?.close());

function activation(key: string) {
  return { type: 'activate', id: 'a', key, productCode: 'ACMEBK01', capturedAt: Date.now(), replace: false };
}

describe('a browser-started host', () => {
  it('goes to the License Service install pinned, whatever the browser environment says', async () => {
    const testCase = await services.newCase();
    const xdg = await mkdtemp(join(testCase.dir, 'xdg-'));
    const installEnv = { ...testCase.env, XDG_CONFIG_HOME: xdg };
    const ctx = await resolveHostContext({}, installEnv);
    const report = await installForContext(ctx, {
      userDataDirs: [join(xdg, 'chromium')],
      env: installEnv,
      hostScript: HOST_BUNDLE,
    });

    const browserEnv = {
      ...testCase.env,
      DEVPAY_LICENSE_SERVICE: fake.licenseServiceUrl,
      DEVPAY_CA_FILE: fake.caFile,
      NODE_EXTRA_CA_CERTS: fake.caFile,
      ...pinnedLauncherEnv(fake.licenseServiceUrl, fake.caFile),
    };
    const host = new NativeHostProcess([`chrome-extension://${DEMO_CHROMIUM_ID}/`], browserEnv, [report.launcher]);
    host.send(activation(services.sim.purchase('ACMEBK01')));
    expect(await host.next(60_000)).toMatchObject({ type: 'activated', id: 'a' });
    host.end();
    await host.exited;
    expect(fake.issued).toEqual([]);
    expect(fake.mintedKeys()).toEqual([]);
  });

  it('installed as a customer would (nothing pinned but the configuration), still ignores a redirecting environment', async () => {
    const testCase = await services.newCase();
    const xdg = await mkdtemp(join(testCase.dir, 'xdg-'));
    const installEnv = {
      ...testCase.env,
      XDG_CONFIG_HOME: xdg,
      DEVPAY_LICENSE_SERVICE: undefined,
      DEVPAY_CA_FILE: undefined,
    };
    const ctx = await resolveHostContext({}, installEnv);
    expect(ctx.licenseService).toBe(new URL(services.demo.licenseService).toString());
    const report = await installForContext(ctx, {
      userDataDirs: [join(xdg, 'chromium')],
      env: installEnv,
      hostScript: HOST_BUNDLE,
    });
    const host = new NativeHostProcess(
      [`chrome-extension://${DEMO_CHROMIUM_ID}/`],
      {
        ...testCase.env,
        DEVPAY_LICENSE_SERVICE: fake.licenseServiceUrl,
        DEVPAY_CA_FILE: fake.caFile,
        NODE_EXTRA_CA_CERTS: fake.caFile,
      },
      [report.launcher],
    );
    host.send(activation(fake.purchase('ACMEBK01')));
    // The vendor's License Service is out of reach from this test machine: an error, but the fake got nothing.
    expect(await host.next(120_000)).toMatchObject({ type: 'error', id: 'a' });
    host.end();
    await host.exited;
    expect(fake.issued).toEqual([]);
  }, 150_000);

  it('ignores NODE_EXTRA_CA_CERTS: a certificate only it vouches for is not trusted', async () => {
    const testCase = await services.newCase();
    // The simulator pinned without its CA: only NODE_EXTRA_CA_CERTS would make it trusted.
    const host = NativeHostProcess.chromium({
      ...testCase.env,
      DEVPAY_CA_FILE: undefined,
      NODE_EXTRA_CA_CERTS: services.sim.caFile,
    });
    host.send(activation(services.sim.purchase('ACMEBK01')));
    expect(await host.next(60_000)).toMatchObject({ type: 'error', id: 'a', code: 'SERVICE_UNTRUSTED' });
    host.end();
    await host.exited;
  });
});
