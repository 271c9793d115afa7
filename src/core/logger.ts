/**
 * Structured logger interface (pino-compatible shape: fields first, static message second).
 * Areas receive a Logger; only cli/, server/ and sensor/ decide where it writes.
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
  child(fields: LogFields): Logger;
}

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

type Level = 'debug' | 'info' | 'warn' | 'error';
const LEVEL_ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A JSON-lines logger writing to a sink (stderr in the CLI). */
export function createJsonLogger(
  write: (line: string) => void,
  minLevel: Level = 'info',
  base: LogFields = {},
): Logger {
  const emit = (level: Level, fields: LogFields, message: string): void => {
    if (LEVEL_ORDER[level] < LEVEL_ORDER[minLevel]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...base, ...fields }) + '\n');
  };
  return {
    debug: (f, m) => emit('debug', f, m),
    info: (f, m) => emit('info', f, m),
    warn: (f, m) => emit('warn', f, m),
    error: (f, m) => emit('error', f, m),
    child: (fields) => createJsonLogger(write, minLevel, { ...base, ...fields }),
  };
}
