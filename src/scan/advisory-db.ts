import { statSync } from 'node:fs';
import { AppError } from '../core/errors.js';
import type { AdvisoryDb, AdvisoryDbInfo } from '../vulndb/db.js';
import { SCHEMA_VERSION } from '../vulndb/schema.js';

/**
 * The advisory DB as a scan needs it: its info (build time and sources, for the report and the
 * findings cache key) at once, the DB itself only when findings must be computed. The DB file is
 * never written in place, only replaced by rename (vulndb/builder.ts), so the identity of the file
 * (device, inode, size, modification and change times) names one build; the info of the identity
 * seen last is remembered in the scan cache, and a re-scan whose findings are cached never opens
 * the DB. The identity carries the DB schema version this Palisade reads, so after an upgrade the
 * DB is opened (and refused, if it is too old) as before.
 */
export interface LazyAdvisoryDb {
  readonly info: AdvisoryDbInfo;
  /** Opens the DB (once). Fails if the file is no longer the build `info` describes. */
  open(): Promise<AdvisoryDb>;
  close(): void;
}

export interface DbInfoMemo {
  getDbInfo(path: string, identity: string): AdvisoryDbInfo | undefined;
  putDbInfo(path: string, identity: string, info: AdvisoryDbInfo): void;
}

/** The identity of the file at `path`, or undefined when it cannot be stat'ed (then the DB is opened and says why). */
export function advisoryDbIdentity(path: string): string | undefined {
  try {
    const s = statSync(path, { bigint: true });
    if (!s.isFile()) return undefined;
    return [`schema ${SCHEMA_VERSION}`, s.dev, s.ino, s.size, s.mtimeNs, s.ctimeNs].join(':');
  } catch {
    return undefined;
  }
}

async function openDb(path: string): Promise<AdvisoryDb> {
  const { openAdvisoryDb } = await import('../vulndb/db.js');
  return openAdvisoryDb(path);
}

/** `path` must be absolute. Without a memo (no scan cache) the DB is opened at once, as its info needs it. */
export async function openAdvisoryDbLazily(path: string, memo: DbInfoMemo | undefined): Promise<LazyAdvisoryDb> {
  const identity = advisoryDbIdentity(path);
  const remembered = identity !== undefined ? memo?.getDbInfo(path, identity) : undefined;
  let db: AdvisoryDb | undefined;
  if (remembered) {
    let opening: Promise<AdvisoryDb> | undefined;
    return {
      info: remembered,
      open: () => {
        opening ??= openDb(path).then((opened) => {
          db = opened;
          if (opened.info().builtAt !== remembered.builtAt) {
            throw new AppError('CONFLICT', `the advisory DB at ${path} was replaced while this scan ran; run the scan again`);
          }
          return opened;
        });
        return opening;
      },
      close: () => db?.close(),
    };
  }
  const opened = await openDb(path);
  const info = opened.info();
  // Remembered only when the file kept its identity while it was opened and read.
  if (identity !== undefined && advisoryDbIdentity(path) === identity) memo?.putDbInfo(path, identity, info);
  return { info, open: () => Promise.resolve(opened), close: () => opened.close() };
}
