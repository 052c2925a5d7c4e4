/**
 * The loopback WebSocket channel, for desktop products written in TypeScript/JavaScript:
 * run it (`serveLoopback`) or talk to a running one (`connectLoopback`).
 */
export { serveLoopback, registerServeCommand, type ServeLoopbackOptions } from './serve.ts';
export { startLoopbackServer, DEFAULT_LOOPBACK_LIMITS, LoopbackStartError, type LoopbackServer, type LoopbackServerOptions, type LoopbackLimits } from './server.ts';
export { connectLoopback, LoopbackUnavailableError, type LoopbackChannel, type ConnectLoopbackOptions, type LoopbackRequestInput } from './client.ts';
export { CLOSE_CODES as LOOPBACK_CLOSE_CODES } from './connection.ts';
export { loopbackTokenFile } from './token.ts';
