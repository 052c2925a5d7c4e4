/** The host's version, reported in the handshake and `--version`; kept equal to package.json (a test checks). */
export const HOST_VERSION = '0.1.0';
