/** The License Service client: what the rest of the host uses. */
export {
  activateDesktopProduct,
  parseLicenseServiceEndpoint,
  readCaFile,
  pingLicenseService,
  type LicenseServiceProbe,
  DEFAULT_TOTAL_BUDGET_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type ActivateOptions,
  type ActivationResult,
  type ActivationCredentials,
} from './client.ts';
export { LicenseServiceError } from './errors.ts';
