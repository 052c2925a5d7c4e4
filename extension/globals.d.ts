declare const __DEVPAY_EXTENSION_CONFIG__: import("./build-config.ts").ExtensionBuildConfig;
