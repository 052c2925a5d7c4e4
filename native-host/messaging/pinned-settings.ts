/**
 * Where a browser-started host may take its License Service and trust from:
 * only what `install` pinned in the launcher and the vendor configuration.
 * The browser's own environment is not the customer's choice (anything that
 * started the browser could have set it), so DEVPAY_LICENSE_SERVICE and
 * DEVPAY_CA_FILE are ignored here; the launcher always sets the two pinned
 * variables below, whatever the browser's environment held, so they cannot be
 * smuggled in either. NODE_EXTRA_CA_CERTS is ignored by passing `ca`
 * explicitly on every request (license-service/https-get.ts).
 */
import { ENV } from '../settings.ts';

export const PINNED_ENV = {
  licenseService: 'DEVPAY_PINNED_LICENSE_SERVICE',
  caFile: 'DEVPAY_PINNED_CA_FILE',
} as const;

/** What the launcher pins for "no extra CA" (a launcher cannot carry an empty value). */
export const NO_CA_FILE = 'none';

/** The launcher's variables for the License Service and CA install resolved. */
export function pinnedLauncherEnv(licenseService: string, caFile: string | undefined): Record<string, string> {
  return { [PINNED_ENV.licenseService]: licenseService, [PINNED_ENV.caFile]: caFile ?? NO_CA_FILE };
}

/** The environment a browser-started host resolves its settings from: the redirecting variables replaced by the pinned ones. */
export function browserStartedEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { [ENV.licenseService]: _service, [ENV.caFile]: _ca, ...rest } = env;
  const service = env[PINNED_ENV.licenseService];
  const ca = env[PINNED_ENV.caFile];
  return {
    ...rest,
    ...(service ? { [ENV.licenseService]: service } : {}),
    ...(ca && ca !== NO_CA_FILE ? { [ENV.caFile]: ca } : {}),
  };
}
