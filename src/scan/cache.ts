import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { distroSchema, packageSchema, type Distro, type Package } from '../core/index.js';
import type { Cataloger } from '../catalog/types.js';

/**
 * The SBOM cache. An image digest's content never changes, so its package list is computed once and
 * re-matched against whatever advisory DB is current: a warm re-scan reads no layer at all. The key
 * also carries the catalogers' ids and versions, so a changed cataloger recomputes.
 */
export interface CachedSbom {
  distro?: Distro;
  packages: Package[];
}

export interface SbomCache {
  get(imageDigest: string): CachedSbom | undefined;
  put(imageDigest: string, sbom: CachedSbom): void;
  close(): void;
}

/** Bumped when the assembly of an SBOM (not a cataloger) changes. */
const ASSEMBLY_VERSION = 1;

export function catalogersKey(catalogers: readonly Cataloger[]): string {
  const parts = catalogers.map((c) => `${c.id}@${c.version}`).sort();
  return createHash('sha256').update(`${ASSEMBLY_VERSION}|${parts.join(',')}`).digest('hex').slice(0, 16);
}

const cachedSbomSchema = z.object({ distro: distroSchema.optional(), packages: z.array(packageSchema) });

export function openSbomCache(path: string, catalogers: readonly Cataloger[]): SbomCache {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS sbom (
    image_digest TEXT NOT NULL,
    catalogers TEXT NOT NULL,
    created_at TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (image_digest, catalogers)
  )`);
  const key = catalogersKey(catalogers);
  const select = db.prepare<[string, string], { body: string }>('SELECT body FROM sbom WHERE image_digest = ? AND catalogers = ?');
  const upsert = db.prepare('INSERT OR REPLACE INTO sbom (image_digest, catalogers, created_at, body) VALUES (?, ?, ?, ?)');
  return {
    get(imageDigest) {
      const row = select.get(imageDigest, key);
      if (!row) return undefined;
      // A row this version cannot read (older shape, damaged file) is a miss, not an error.
      let body: unknown;
      try {
        body = JSON.parse(row.body);
      } catch {
        return undefined;
      }
      const parsed = cachedSbomSchema.safeParse(body);
      return parsed.success ? parsed.data : undefined;
    },
    put(imageDigest, sbom) {
      upsert.run(imageDigest, key, new Date().toISOString(), JSON.stringify(sbom));
    },
    close() {
      db.close();
    },
  };
}
