import { homedir } from 'node:os';
import { join } from 'node:path';
import { createJsonLogger, type Logger } from '../core/logger.js';

/**
 * What every command gets from the process: where the advisory DB lives, a logger to stderr, and
 * whether stdout/stderr are terminals (progress and colours only on a TTY). Only cli/ reads env.
 */
export interface CliContext {
  defaultDbPath: string;
  cacheDir: string;
  log: Logger;
  stdoutIsTty: boolean;
  stderrIsTty: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
}

export function cacheDirFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PALISADE_CACHE_DIR) return env.PALISADE_CACHE_DIR;
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.length > 0 ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'palisade');
}

export function createCliContext(env: NodeJS.ProcessEnv = process.env): CliContext {
  const cacheDir = cacheDirFromEnv(env);
  const level = env.PALISADE_LOG_LEVEL === 'debug' ? 'debug' : 'warn';
  return {
    cacheDir,
    defaultDbPath: env.PALISADE_DB ?? join(cacheDir, 'vulndb.sqlite'),
    log: createJsonLogger((line) => process.stderr.write(line), level),
    stdoutIsTty: Boolean(process.stdout.isTTY),
    stderrIsTty: Boolean(process.stderr.isTTY),
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
  };
}
