import { statSync } from 'node:fs';
import { errorMessage, type Logger } from '../core/index.js';
import { openAdvisoryDb, type AdvisoryDb } from '../vulndb/db.js';
import { readDbStatus } from '../vulndb/status.js';

/**
 * The advisory DB the workers match against. `palisade db update` replaces the file by rename, so
 * `refresh()` (called by the scheduler) notices a new file by its mtime and build time, reopens it,
 * and reports the change, which triggers the re-evaluation of stored package lists.
 *
 * A scan holds its DB across awaits (a pull reads layers before it matches): it takes a lease, and a
 * DB replaced meanwhile stays open until its last lease is released, so the scan finishes with the
 * build it began with instead of failing on a closed connection.
 */
export interface AdvisoryProvider {
  /** The loaded DB, for synchronous use (it may be closed once the caller awaits). */
  current(): { db: AdvisoryDb; builtAt: string | undefined } | undefined;
  /** The loaded DB, kept open until `release()` even when a new build replaces it. */
  acquire(): AdvisoryLease | undefined;
  /** Reopens the DB when the file changed; true when a new build was loaded. */
  refresh(): boolean;
  /** Seconds since the loaded DB was built (feed age), or undefined. */
  ageSeconds(now: Date): number | undefined;
  error(): string | undefined;
  close(): void;
}

export interface AdvisoryLease {
  db: AdvisoryDb;
  builtAt: string | undefined;
  /** Idempotent. */
  release(): void;
}

interface Loaded {
  db: AdvisoryDb;
  builtAt: string | undefined;
  mtimeMs: number;
  leases: number;
  /** Replaced by a newer build: closed when its last lease is released. */
  retired: boolean;
}

export function createAdvisoryProvider(path: string, log: Logger): AdvisoryProvider {
  let loaded: Loaded | undefined;
  const retired = new Set<Loaded>();

  const retire = (entry: Loaded): void => {
    entry.retired = true;
    if (entry.leases === 0) entry.db.close();
    else retired.add(entry);
  };
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
      loaded = { db, builtAt: status.builtAt ?? undefined, mtimeMs, leases: 0, retired: false };
      if (previous) retire(previous);
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
    acquire() {
      const entry = loaded;
      if (!entry) return undefined;
      entry.leases++;
      let released = false;
      return {
        db: entry.db,
        builtAt: entry.builtAt,
        release() {
          if (released) return;
          released = true;
          entry.leases--;
          if (entry.retired && entry.leases === 0) {
            retired.delete(entry);
            entry.db.close();
          }
        },
      };
    },
    refresh: open,
    ageSeconds(now) {
      if (!loaded?.builtAt) return undefined;
      return Math.max(0, (now.getTime() - Date.parse(loaded.builtAt)) / 1000);
    },
    error: () => lastError,
    close() {
      loaded?.db.close();
      for (const entry of retired) entry.db.close();
      retired.clear();
    },
  };
}
