/**
 * What of the vendor configuration the extension is built with (wxt.config.ts
 * bakes it in as `__DEVPAY_EXTENSION_CONFIG__`). Product tokens stay with the
 * host; the extension only needs to know where keys may come from, how to reach
 * the host and what to show.
 */
import type { VendorConfig } from '../shared/config.ts';

export interface ExtensionBuildConfig {
  vendorName: string;
  nativeHostName: string;
  activateUrl: string;
  keyPages: string[];
  redirectPages: string[];
  contentScriptMatches: string[];
  loopbackPort: number;
  products: { code: string; name: string; homepage?: string }[];
}

export function extensionBuildConfig(config: VendorConfig): ExtensionBuildConfig {
  return {
    vendorName: config.vendor.name,
    nativeHostName: config.nativeHostName,
    activateUrl: config.activateUrl,
    keyPages: config.keyPages,
    redirectPages: config.redirectPages,
    contentScriptMatches: [...config.keyPages, ...config.redirectPages],
    loopbackPort: config.loopbackPort,
    products: config.products.map(({ code, name, homepage }) => ({ code, name, ...(homepage ? { homepage } : {}) })),
  };
}
