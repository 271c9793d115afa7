import { statSync } from 'node:fs';
import { errorMessage, type Logger } from '../core/index.js';
import { openAdvisoryDb, type AdvisoryDb } from '../vulndb/db.js';
import { readDbStatus } from '../vulndb/status.js';

/**
 * The advisory DB the workers match against. `palisade db update` replaces the file by rename, so
 * `refresh()` (called by the scheduler) notices a new file by its mtime and build time, reopens it,
 * and reports the change, which triggers the re-evaluation of stored package lists.
 */
export interface AdvisoryProvider {
  current(): { db: AdvisoryDb; builtAt: string | undefined } | undefined;
  /** Reopens the DB when the file changed; true when a new build was loaded. */
  refresh(): boolean;
  /** Seconds since the loaded DB was built (feed age), or undefined. */
  ageSeconds(now: Date): number | undefined;
  error(): string | undefined;
  close(): void;
}

export function createAdvisoryProvider(path: string, log: Logger): AdvisoryProvider {
  let loaded: { db: AdvisoryDb; builtAt: string | undefined; mtimeMs: number } | undefined;
  let lastError: string | undefined;

  const open = (): boolean => {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(path).mtimeMs;
    } catch {
      lastError = `advisory DB not found at ${path}; build it with \`palisade db update\``;
      return false;
    }
    if (loaded && loaded.mtimeMs === mtimeMs) return false;
    try {
      const status = readDbStatus(path);
      if (loaded && status.builtAt === loaded.builtAt) {
        loaded.mtimeMs = mtimeMs;
        return false;
      }
      const db = openAdvisoryDb(path);
      const previous = loaded;
      loaded = { db, builtAt: status.builtAt ?? undefined, mtimeMs };
      previous?.db.close();
      lastError = undefined;
      log.info({ path, builtAt: status.builtAt }, 'advisory DB loaded');
      return true;
    } catch (error) {
      lastError = errorMessage(error);
      log.error({ path, error: lastError }, 'advisory DB could not be opened');
      return false;
    }
  };
  open();

  return {
    current: () => (loaded ? { db: loaded.db, builtAt: loaded.builtAt } : undefined),
    refresh: open,
    ageSeconds(now) {
      if (!loaded?.builtAt) return undefined;
      return Math.max(0, (now.getTime() - Date.parse(loaded.builtAt)) / 1000);
    },
    error: () => lastError,
    close: () => loaded?.db.close(),
  };
}
