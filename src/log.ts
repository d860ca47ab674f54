// Operational logs (pino to stderr): what the process is doing, scoped by child loggers.
// Never mixed with spend records, which go to their own segment files.
import pino, { type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers["x-api-key"]',
  'apiKey',
  '*.apiKey',
  'api_key',
  '*.api_key',
  'master_key',
  '*.master_key',
  'key',
  '*.key',
];

/**
 * Operational logs redact credentials by field name: `key`, `api_key`, `authorization`, ...
 * A store object's name is therefore never logged as `key`: it is `object_key`, so an
 * operator sees which object a warning is about.
 */
export function createLogger(level: string = process.env.TAGSPEND_LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { pid: process.pid }, redact: { paths: REDACT_PATHS, censor: '[REDACTED]' } },
    destination ?? pino.destination({ dest: 2, sync: true }),
  );
}

/** A logger that drops everything, for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
