/**
 * HostServices: everything a request needs (configuration, credential store,
 * License Service settings, clock, events, log), built once per process from the
 * resolved settings and shared by native messaging, the loopback channel and the CLI.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { VendorConfig } from '../shared/config.ts';
import type { CredentialsEvent } from '../shared/messages.ts';
import type { Logger } from './log.ts';
import { silentLogger } from './log.ts';
import { caOf, type Settings } from './settings.ts';
import { CredentialStore } from './store/credential-store.ts';
import { keychainServiceName, openKeychain, type Keychain } from './store/keychain.ts';
import { HOST_VERSION } from './version.ts';

export interface LicenseServiceOptions {
  endpoint: string;
  /** Extra trusted CA certificates (PEM), from --ca-file / DEVPAY_CA_FILE. */
  ca?: string;
  totalBudgetMs?: number;
  requestTimeoutMs?: number;
  retryBaseDelayMs?: number;
}

export type CredentialEventMap = { 'credentials-changed': [CredentialsEvent] };

/** Emits `credentials-changed` (CredentialsEventSchema) after every stored, replaced or forgotten set. */
export class CredentialEvents extends EventEmitter<CredentialEventMap> {}

export interface HostServices {
  config: VendorConfig;
  dataDir: string;
  store: CredentialStore;
  licenseService: LicenseServiceOptions;
  /** ms since the epoch. */
  now: () => number;
  events: CredentialEvents;
  log: Logger;
  hostVersion: string;
}

export interface HostServicesOptions {
  log?: Logger;
  now?: () => number;
  keychain?: Keychain;
  licenseService?: Partial<LicenseServiceOptions>;
}

export async function createHostServices(settings: Settings, options: HostServicesOptions = {}): Promise<HostServices> {
  const log = options.log ?? silentLogger;
  const keychain = options.keychain ?? openKeychain(keychainServiceName(settings.config.vendor.id));
  const ca = await caOf(settings);
  return {
    config: settings.config,
    dataDir: settings.dataDir,
    store: new CredentialStore({ vendorId: settings.config.vendor.id, dataDir: settings.dataDir, keychain, log }),
    licenseService: {
      endpoint: settings.licenseService,
      ...(ca !== undefined ? { ca } : {}),
      ...options.licenseService,
    },
    now: options.now ?? Date.now,
    events: new CredentialEvents(),
    log,
    hostVersion: HOST_VERSION,
  };
}

/** The host's own log file (native messaging mode), 0600 inside the data folder. */
export function hostLogFile(dataDir: string): string {
  return join(dataDir, 'logs', 'host.log');
}
