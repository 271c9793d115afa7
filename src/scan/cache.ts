import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Distro, Finding, Package } from '../core/types.js';
import type { Cataloger } from '../catalog/types.js';
import type { DescribeMemo, DescribeRecord } from '../image/sources/memo.js';
import type { AdvisoryDbInfo } from '../vulndb/db.js';

/**
 * The scan cache. An image digest's content never changes, so its package list is computed once
 * and re-matched against whatever advisory DB is current: a re-scan reads no layer at all. The
 * findings of that package list are kept too, keyed by the advisory DB they came from, so a re-scan
 * against the same DB is a lookup, and a newer DB re-matches. Keys carry the catalogers' ids and
 * versions, so a changed cataloger recomputes.
 *
 * Two memos make a re-scan cheap to start: what describing an image file read and concluded
 * (image/sources/memo.ts), and the advisory DB's info by the identity of its file (see
 * scan/advisory-db.ts). Rows are JSON this module wrote; reading one checks its shape by hand (no
 * schema library on this path) and treats a row it cannot read as a miss.
 */
export interface CachedSbom {
  distro?: Distro;
  packages: Package[];
}

export interface SbomCache extends DescribeMemo {
  get(imageDigest: string): CachedSbom | undefined;
  put(imageDigest: string, sbom: CachedSbom): void;
  /** Findings of the cached SBOM as matched against the advisory DB identified by `dbKey`. */
  getFindings(imageDigest: string, dbKey: string): Finding[] | undefined;
  putFindings(imageDigest: string, dbKey: string, findings: Finding[]): void;
  /** The info of the advisory DB at `path`, when its file still has `identity`. */
  getDbInfo(path: string, identity: string): AdvisoryDbInfo | undefined;
  putDbInfo(path: string, identity: string, info: AdvisoryDbInfo): void;
  close(): void;
}

/** A cataloger's id and version: all the cache key needs (scan/cataloger-versions.ts lists them without loading the catalogers). */
export type CatalogerVersion = Pick<Cataloger, 'id' | 'version'>;

/** Bumped when the assembly of an SBOM (not a cataloger) changes. */
const ASSEMBLY_VERSION = 2;
/** Bumped when the JSON kept in the cache changes shape (rows are only checked structurally). */
const BODY_FORMAT = 1;

/** The versions themselves, not a hash of them: a few hundred bytes, and no crypto to load on a re-scan. */
export function catalogersKey(catalogers: readonly CatalogerVersion[]): string {
  const parts = catalogers.map((c) => `${c.id}@${c.version}`).sort();
  return `${ASSEMBLY_VERSION}.${BODY_FORMAT}:${parts.join(',')}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every(isString);

function isDistro(value: unknown): value is Distro {
  return isObject(value) && isString(value.id) && isString(value.versionId);
}

function isPackage(value: unknown): value is Package {
  return (
    isObject(value) &&
    isString(value.type) &&
    isString(value.name) &&
    isString(value.version) &&
    isString(value.purl) &&
    Array.isArray(value.locations) &&
    value.locations.every((l) => isObject(l) && isString(l.path)) &&
    (value.distro === undefined || isDistro(value.distro))
  );
}

function isFinding(value: unknown): value is Finding {
  return (
    isObject(value) &&
    isString(value.advisoryId) &&
    isStringArray(value.aliases) &&
    isPackage(value.package) &&
    isString(value.installedVersion) &&
    isStringArray(value.fixedVersions) &&
    isString(value.fixState) &&
    isString(value.severity)
  );
}

function isCachedSbom(value: unknown): value is CachedSbom {
  return isObject(value) && (value.distro === undefined || isDistro(value.distro)) && Array.isArray(value.packages) && value.packages.every(isPackage);
}

function isFindings(value: unknown): value is Finding[] {
  return Array.isArray(value) && value.every(isFinding);
}

function isDbInfo(value: unknown): value is AdvisoryDbInfo {
  return (
    isObject(value) &&
    (value.builtAt === undefined || isString(value.builtAt)) &&
    Array.isArray(value.sources) &&
    value.sources.every((s) => isObject(s) && isString(s.id) && (s.snapshot === undefined || isString(s.snapshot)))
  );
}

function isDescribeRecord(value: unknown): value is DescribeRecord {
  if (!isObject(value) || !Array.isArray(value.reads) || !isObject(value.info)) return false;
  const info = value.info;
  return (
    value.reads.every((r) => isObject(r) && isString(r.op) && isString(r.path)) &&
    isString(info.digest) &&
    isString(info.configDigest) &&
    isObject(info.config) &&
    isObject(info.platform) &&
    isString(info.platform.os) &&
    isString(info.platform.architecture) &&
    isStringArray(info.repoTags) &&
    Array.isArray(info.layers) &&
    info.layers.every((l) => isObject(l) && isString(l.digest) && typeof l.size === 'number')
  );
}

/** A row this version cannot read (older shape, damaged file) is a miss, not an error. */
function parseBody<T>(body: string, check: (value: unknown) => value is T): T | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return check(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function openSbomCache(path: string, catalogers: readonly CatalogerVersion[]): SbomCache {
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
  );
  CREATE TABLE IF NOT EXISTS describe_memo (
    key TEXT PRIMARY KEY,
    body TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS advisory_db (
    path TEXT PRIMARY KEY,
    identity TEXT NOT NULL,
    info TEXT NOT NULL
  )`);
  const key = catalogersKey(catalogers);
  const selectSbom = db.prepare<[string, string], { body: string }>('SELECT body FROM sbom WHERE image_digest = ? AND catalogers = ?');
  const upsertSbom = db.prepare('INSERT OR REPLACE INTO sbom (image_digest, catalogers, created_at, body) VALUES (?, ?, ?, ?)');
  const selectFindings = db.prepare<[string, string, string], { body: string }>(
    'SELECT body FROM findings WHERE image_digest = ? AND catalogers = ? AND db_key = ?',
  );
  // One findings row per image: a newer DB replaces the older DB's findings.
  const upsertFindings = db.prepare('INSERT OR REPLACE INTO findings (image_digest, catalogers, db_key, body) VALUES (?, ?, ?, ?)');
  const selectDescribe = db.prepare<[string], { body: string }>('SELECT body FROM describe_memo WHERE key = ?');
  const upsertDescribe = db.prepare('INSERT OR REPLACE INTO describe_memo (key, body) VALUES (?, ?)');
  // One row per DB path: a rebuilt DB (new identity) replaces the old one's row.
  const selectDbInfo = db.prepare<[string, string], { info: string }>('SELECT info FROM advisory_db WHERE path = ? AND identity = ?');
  const upsertDbInfo = db.prepare('INSERT OR REPLACE INTO advisory_db (path, identity, info) VALUES (?, ?, ?)');
  return {
    get(imageDigest) {
      const row = selectSbom.get(imageDigest, key);
      return row ? parseBody(row.body, isCachedSbom) : undefined;
    },
    put(imageDigest, sbom) {
      upsertSbom.run(imageDigest, key, new Date().toISOString(), JSON.stringify(sbom));
    },
    getFindings(imageDigest, dbKey) {
      const row = selectFindings.get(imageDigest, key, dbKey);
      return row ? parseBody(row.body, isFindings) : undefined;
    },
    putFindings(imageDigest, dbKey, findings) {
      upsertFindings.run(imageDigest, key, dbKey, JSON.stringify(findings));
    },
    getDescribe(memoKey) {
      const row = selectDescribe.get(memoKey);
      return row ? parseBody(row.body, isDescribeRecord) : undefined;
    },
    putDescribe(memoKey, record) {
      upsertDescribe.run(memoKey, JSON.stringify(record));
    },
    getDbInfo(dbPath, identity) {
      const row = selectDbInfo.get(dbPath, identity);
      return row ? parseBody(row.info, isDbInfo) : undefined;
    },
    putDbInfo(dbPath, identity, info) {
      upsertDbInfo.run(dbPath, identity, JSON.stringify(info));
    },
    close() {
      db.close();
    },
  };
}
