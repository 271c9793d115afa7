import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { distroSchema, findingSchema, packageSchema, type Distro, type Finding, type Package } from '../core/index.js';
import type { Cataloger } from '../catalog/types.js';

/**
 * The scan cache. An image digest's content never changes, so its package list is computed once
 * and re-matched against whatever advisory DB is current: a re-scan reads no layer at all. The
 * findings of that package list are kept too, keyed by the advisory DB they came from, so a re-scan
 * against the same DB is a lookup, and a newer DB re-matches. Keys carry the catalogers' ids and
 * versions, so a changed cataloger recomputes.
 */
export interface CachedSbom {
  distro?: Distro;
  packages: Package[];
}

export interface SbomCache {
  get(imageDigest: string): CachedSbom | undefined;
  put(imageDigest: string, sbom: CachedSbom): void;
  /** Findings of the cached SBOM as matched against the advisory DB identified by `dbKey`. */
  getFindings(imageDigest: string, dbKey: string): Finding[] | undefined;
  putFindings(imageDigest: string, dbKey: string, findings: Finding[]): void;
  close(): void;
}

/** Bumped when the assembly of an SBOM (not a cataloger) changes. */
const ASSEMBLY_VERSION = 2;

export function catalogersKey(catalogers: readonly Cataloger[]): string {
  const parts = catalogers.map((c) => `${c.id}@${c.version}`).sort();
  return createHash('sha256').update(`${ASSEMBLY_VERSION}|${parts.join(',')}`).digest('hex').slice(0, 16);
}

const cachedSbomSchema = z.object({ distro: distroSchema.optional(), packages: z.array(packageSchema) });
const cachedFindingsSchema = z.array(findingSchema);

function parseBody<T>(body: string, schema: z.ZodType<T>): T | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  // A row this version cannot read (older shape, damaged file) is a miss, not an error.
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

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
  );
  CREATE TABLE IF NOT EXISTS findings (
    image_digest TEXT NOT NULL,
    catalogers TEXT NOT NULL,
    db_key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (image_digest, catalogers)
  )`);
  const key = catalogersKey(catalogers);
  const selectSbom = db.prepare<[string, string], { body: string }>('SELECT body FROM sbom WHERE image_digest = ? AND catalogers = ?');
  const upsertSbom = db.prepare('INSERT OR REPLACE INTO sbom (image_digest, catalogers, created_at, body) VALUES (?, ?, ?, ?)');
  const selectFindings = db.prepare<[string, string, string], { body: string }>(
    'SELECT body FROM findings WHERE image_digest = ? AND catalogers = ? AND db_key = ?',
  );
  // One findings row per image: a newer DB replaces the older DB's findings.
  const upsertFindings = db.prepare('INSERT OR REPLACE INTO findings (image_digest, catalogers, db_key, body) VALUES (?, ?, ?, ?)');
  return {
    get(imageDigest) {
      const row = selectSbom.get(imageDigest, key);
      return row ? parseBody(row.body, cachedSbomSchema) : undefined;
    },
    put(imageDigest, sbom) {
      upsertSbom.run(imageDigest, key, new Date().toISOString(), JSON.stringify(sbom));
    },
    getFindings(imageDigest, dbKey) {
      const row = selectFindings.get(imageDigest, key, dbKey);
      return row ? parseBody(row.body, cachedFindingsSchema) : undefined;
    },
    putFindings(imageDigest, dbKey, findings) {
      upsertFindings.run(imageDigest, key, dbKey, JSON.stringify(findings));
    },
    close() {
      db.close();
    },
  };
}
