import Database from 'better-sqlite3';
import { z } from 'zod';
import type { BlobList } from './container.js';

export const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

const Row = z.object({ blob: z.instanceof(Buffer) });

/**
 * Header blobs of an rpm SQLite database (`rpmdb.sqlite`, rpm ≥ 4.16): table `Packages(hnum, blob)`.
 * The bytes are opened in memory (sqlite3_deserialize). A database in WAL mode cannot be
 * deserialized, so a copy with the header's read/write version bytes set back to legacy (1) is opened;
 * anything still only in a `-wal` file beside it is not seen.
 */
export function readSqliteBlobs(bytes: Buffer): BlobList {
  const copy = Buffer.from(bytes);
  if (copy.length > 19 && copy[18] === 2 && copy[19] === 2) {
    copy[18] = 1;
    copy[19] = 1;
  }
  const db = new Database(copy, { readonly: true });
  try {
    const blobs: Buffer[] = [];
    let bad = 0;
    for (const row of db.prepare('SELECT blob FROM Packages ORDER BY hnum').iterate()) {
      const parsed = Row.safeParse(row);
      if (parsed.success) blobs.push(parsed.data.blob);
      else bad++;
    }
    return { blobs, bad };
  } finally {
    db.close();
  }
}
