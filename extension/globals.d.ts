/** The extension's build configuration, defined at build time by wxt.config.ts (see build-config.ts). */
declare const __DEVPAY_EXTENSION_CONFIG__: import('./build-config.ts').ExtensionBuildConfig;
