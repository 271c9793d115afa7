import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { AppError } from '../core/index.js';

export interface DbStatus {
  path: string;
  schemaVersion: number | null;
  builtAt: string | null;
  bytes: number;
  sources: { source: string; feed: string; snapshot: string | null; records: number; importedAt: string }[];
  skips: { feed: string; reason: string; count: number }[];
}

/** What `palisade db status` reports: schema version, build time, each source's snapshot and size. */
export function readDbStatus(path: string): DbStatus {
  if (!existsSync(path)) {
    throw new AppError('NOT_FOUND', `advisory DB not found at ${path}; build it with \`palisade db update\` or \`palisade db import PATH\``);
  }
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new AppError('BAD_INPUT', `cannot open ${path} as an SQLite file; rebuild it with \`palisade db update\``, { cause: error });
  }
  try {
    const version = db.prepare<[], { version: number; built_at: string }>('SELECT version, built_at FROM schema_version').get();
    const sources = db
      .prepare<[], { source: string; feed: string; snapshot: string | null; records: number; imported_at: string }>(
        'SELECT source, feed, snapshot, records, imported_at FROM sources ORDER BY source',
      )
      .all()
      .map((r) => ({ source: r.source, feed: r.feed, snapshot: r.snapshot, records: r.records, importedAt: r.imported_at }));
    const skips = db
      .prepare<[], { feed: string; reason: string; count: number }>('SELECT feed, reason, count FROM skips ORDER BY feed, count DESC, reason')
      .all();
    return { path, schemaVersion: version?.version ?? null, builtAt: version?.built_at ?? null, bytes: statSync(path).size, sources, skips };
  } catch (error) {
    throw new AppError('BAD_INPUT', `${path} is not a Palisade advisory DB; rebuild it with \`palisade db update\``, { cause: error });
  } finally {
    db.close();
  }
}
