/**
 * Log lines go to stderr (never stdout: in native messaging mode stdout carries
 * only frames) and optionally to a 0600 file in the data folder, since browsers
 * swallow a host's stderr. Secrets met at run time are registered with redact()
 * so that even a careless message cannot carry them.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
type Fields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  /** From now on, replace this value wherever it would appear in a log line. */
  redact(secret: string): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Default process.stderr; null for none. */
  stream?: { write(line: string): unknown } | null;
  /** A log file, created 0600 in a 0700 folder; rotated once past maxFileBytes. */
  file?: string;
  maxFileBytes?: number;
}

const MIN_REDACTED_LENGTH = 6;

export function parseLogLevel(value: string | undefined, fallback: LogLevel): LogLevel {
  return value !== undefined && value in LEVELS ? (value as LogLevel) : fallback;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LEVELS[options.level ?? 'info'];
  const stream = options.stream === undefined ? process.stderr : options.stream;
  const secrets = new Set<string>();
  const maxFileBytes = options.maxFileBytes ?? 1024 * 1024;
  let fileUsable = options.file !== undefined;

  const scrub = (text: string) => {
    let out = text.replace(/[\r\n]+/g, ' ');
    for (const secret of secrets) out = out.split(secret).join('[redacted]');
    return out;
  };

  const writeFile = (line: string) => {
    if (!fileUsable || options.file === undefined) return;
    try {
      mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
      // A link planted at the folder or the file is never followed: no line, no chmod, lands elsewhere.
      const folder = lstatSync(dirname(options.file));
      if (folder.isSymbolicLink() || !folder.isDirectory()) throw new Error('log folder is not a real folder');
      try {
        const info = lstatSync(options.file);
        if (info.isFile() && info.size > maxFileBytes) renameSync(options.file, `${options.file}.1`);
      } catch {
        // no file yet
      }
      const fd = openSync(
        options.file,
        constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW,
        0o600,
      );
      try {
        const info = fstatSync(fd);
        if (!info.isFile() || (typeof process.getuid === 'function' && info.uid !== process.getuid()))
          throw new Error('log file is not ours');
        fchmodSync(fd, 0o600);
        writeSync(fd, line);
      } finally {
        closeSync(fd);
      }
    } catch {
      fileUsable = false; // logging must never break the host
    }
  };

  const emit = (level: LogLevel, message: string, fields?: Fields) => {
    if (LEVELS[level] < threshold) return;
    const extra = fields
      ? Object.entries(fields)
          .filter(([, value]) => value !== undefined)
          .map(([key, value]) => ` ${key}=${JSON.stringify(value)}`)
          .join('')
      : '';
    const line =
      scrub(`${new Date().toISOString()} devpay-companion[${process.pid}] ${level}: ${message}${extra}`) + '\n';
    try {
      stream?.write(line);
    } catch {
      // stderr closed: nothing to do
    }
    writeFile(line);
  };

  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    redact(secret) {
      if (secret.length >= MIN_REDACTED_LENGTH) secrets.add(secret);
    },
  };
}

/** For tests and library use: drops everything. */
export const silentLogger: Logger = createLogger({ stream: null, level: 'error' });
