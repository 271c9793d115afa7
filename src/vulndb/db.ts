import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { AppError, type AdvisoryHeader, type EpssScore, type KevEntry } from '../core/index.js';
import { isBeyond } from './bound.js';
import { GenerationCache, SecondRequestCache } from './cache.js';
import { decodeCvss, decodePackageRecords, decodeStrings, decodeSummary, toSeverity } from './codec.js';
import { SCHEMA_VERSION } from './schema.js';
import type { AdvisoryIndex, AdvisorySummary, AffectedRecord, InstalledVersion } from './types.js';

interface AdvisoryRow {
  id: string;
  source: string;
  severity: string | null;
  published: string | null;
  modified: string | null;
  aliases: string | null;
  cvss: string | null;
  summary: string | null;
  refs: string | null;
}

/**
 * Cache sizes, per generation (a cache holds up to twice as many). A scan of a few images touches a
 * few thousand advisories; a re-evaluation of many stored SBOMs touches tens of thousands, and a
 * summary costs a few hundred bytes, so the summaries of the whole working set are kept.
 */
const SUMMARY_CACHE = 100_000;
const HEADER_CACHE = 5_000;
/** (namespace, name) lookups: images share most of their packages. */
const LOOKUP_CACHE = 20_000;
/** EPSS scores by CVE id (a score is a few dozen bytes). */
const EPSS_CACHE = 50_000;

/** The answer of a lookup beyond its row's bound; never written to. */
const NONE: readonly AffectedRecord[] = Object.freeze([]);

/** A whole header (what `palisade db show` prints) from its row. */
function headerOf(row: AdvisoryRow): AdvisoryHeader {
  const h: AdvisoryHeader = {
    id: row.id,
    aliases: decodeStrings(row.aliases, 'advisories.aliases'),
    source: row.source,
    cvss: decodeCvss(row.cvss),
    references: decodeStrings(row.refs, 'advisories.refs'),
  };
  if (row.summary !== null) h.summary = row.summary;
  if (row.published !== null) h.published = row.published;
  if (row.modified !== null) h.modified = row.modified;
  const severity = toSeverity(row.severity);
  if (severity) h.severity = severity;
  return h;
}

/** Which DB a scan used: build time and each source's snapshot, for reports. */
export interface AdvisoryDbInfo {
  builtAt?: string;
  sources: { id: string; snapshot?: string }[];
}

export interface AdvisoryDb extends AdvisoryIndex {
  info(): AdvisoryDbInfo;
  /** Every advisory filed under an id (one per feed that carries it), e.g. for `palisade db show`. */
  advisories(id: string): AdvisoryHeader[];
  close(): void;
}

/**
 * Open the advisory DB read-only. A lookup reads one `packages` row (clustered on (namespace, name));
 * summaries are read for the advisories asked for, one row each (the matcher asks for those of the
 * records that matched only). Lookups and summaries are cached from their second request on, EPSS
 * scores from the first, in bounded two-generation caches; the KEV catalog is read whole on first use.
 */
export function openAdvisoryDb(path: string): AdvisoryDb {
  if (!existsSync(path)) {
    throw new AppError('NOT_FOUND', `advisory DB not found at ${path}; build it with \`palisade db update\` or \`palisade db import PATH\``, {
      details: { path },
    });
  }
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const row = db.prepare<[], { version: number }>('SELECT version FROM schema_version').get();
    if (row?.version !== SCHEMA_VERSION) {
      db.close();
      throw new AppError(
        'CONFLICT',
        `advisory DB at ${path} has schema version ${row?.version ?? 'none'}, this Palisade needs ${SCHEMA_VERSION}; rebuild it with \`palisade db update\``,
      );
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('BAD_INPUT', `${path} is not a Palisade advisory DB; rebuild it with \`palisade db update\``, { cause: error, details: { path } });
  }
  // The file is only ever replaced by rename, never written in place, so the connection keeps its
  // shared lock instead of taking and dropping it (and re-reading the header) around every statement:
  // that round trip cost ~9 µs per lookup, more than the lookup itself. Other readers are not blocked.
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('cache_size = -32768');
  // The whole file mapped (read-only): lookups touch pages all over the packages and advisories tables.
  db.pragma('mmap_size = 2147483648');

  // One row per lookup (the packages table, clustered on (namespace, name)); one row per summary of
  // the advisories a match() needs.
  const packageStmt = db
    .prepare<[string, string], [string | null, string, string | null, number]>('SELECT ranges, records, bound, bound_strict FROM packages WHERE namespace = ? AND name = ?')
    .raw();
  const summaryStmt = db.prepare<[number], string>('SELECT doc FROM summaries WHERE rid = ?').pluck();
  const advisoryStmt = db.prepare<[number], AdvisoryRow>(
    'SELECT id, source, severity, published, modified, aliases, cvss, summary, refs FROM advisories WHERE rid = ?',
  );
  const byIdStmt = db.prepare<[string], { rid: number }>('SELECT rid FROM advisories WHERE id = ?');
  const kevStmt = db.prepare<[], { cve: string; date_added: string; due_date: string | null; ransomware: number }>(
    'SELECT cve, date_added, due_date, ransomware FROM kev',
  );
  const epssStmt = db.prepare<[string], { score: number; percentile: number }>('SELECT score, percentile FROM epss WHERE cve = ?');
  const maxRid = db.prepare<[], number | null>('SELECT max(rid) FROM summaries').pluck().get() ?? 0;

  const headers = new GenerationCache<AdvisoryHeader>(HEADER_CACHE);
  // Lookups and summaries are kept from their second request on: a first match of many distinct
  // packages keeps nothing (its objects die young), a repeated one is answered from memory. Which
  // summaries were asked for once is a byte per advisory row.
  const summaries = new GenerationCache<AdvisorySummary>(SUMMARY_CACHE);
  const summaryAsked = new Uint8Array(maxRid + 1);
  const lookups = new SecondRequestCache<AffectedRecord[]>(LOOKUP_CACHE);
  const epssCache = new GenerationCache<EpssScore | null>(EPSS_CACHE);
  // The KEV catalog is small (about 1,500 entries): read whole on first use.
  let kevById: Map<string, KevEntry> | undefined;

  /**
   * Reads one summary (not cached), by primary key: one lookup per row costs less than one
   * `rid IN (SELECT value FROM json_each(?))` statement per batch (≈ 60 vs 95 ms for the 35,000
   * summaries of a full match). Keeps it from its second request on.
   */
  function readSummary(rid: number): AdvisorySummary | undefined {
    const doc = summaryStmt.get(rid);
    if (doc === undefined) return undefined;
    const s = decodeSummary(doc);
    if (summaryAsked[rid] === 1) summaries.set(rid, s);
    else summaryAsked[rid] = 1;
    return s;
  }

  function header(rid: number): AdvisoryHeader | undefined {
    const cached = headers.get(rid);
    if (cached) return cached;
    const row = advisoryStmt.get(rid);
    if (!row) return undefined;
    const h = headerOf(row);
    headers.set(rid, h);
    return h;
  }

  return {
    info(): AdvisoryDbInfo {
      const built = db.prepare<[], { built_at: string | null }>('SELECT built_at FROM schema_version').get();
      const sources = db
        .prepare<[], { source: string; snapshot: string | null }>('SELECT source, snapshot FROM sources ORDER BY source')
        .all()
        .map((r) => (r.snapshot ? { id: r.source, snapshot: r.snapshot } : { id: r.source }));
      return built?.built_at ? { builtAt: built.built_at, sources } : { sources };
    },
    records(namespace: string, name: string, installed?: InstalledVersion): readonly AffectedRecord[] {
      const key = `${namespace}\u0000${name}`;
      const cached = lookups.get(key);
      if (cached) return cached;
      const row = packageStmt.get(namespace, name);
      // Beyond the row's bound no record applies: nothing to decode (and nothing cached, the answer
      // holds for this version only).
      if (row !== undefined && installed !== undefined && row[2] !== null && isBeyond(installed.scheme, installed.version, { version: row[2], strict: row[3] === 1 })) {
        return NONE;
      }
      const records = row === undefined ? [] : decodePackageRecords(row[1], row[0]);
      lookups.set(key, records);
      return records;
    },
    summaries(keys: readonly number[]): AdvisorySummary[] {
      // In key order, one row each: a batch seldom names one advisory twice (a package listed
      // twice in one advisory), and such a repeat is read again rather than every key tracked.
      const out: AdvisorySummary[] = [];
      for (let i = 0; i < keys.length; i++) {
        const rid = keys[i] ?? 0;
        const s = summaries.get(rid) ?? readSummary(rid);
        if (s === undefined) throw new AppError('BAD_INPUT', `advisory DB names advisory row ${rid}, which is missing; rebuild it with \`palisade db update\``);
        out.push(s);
      }
      return out;
    },
    kev(cveId: string): KevEntry | undefined {
      if (!kevById) {
        kevById = new Map();
        for (const row of kevStmt.iterate()) {
          const entry: KevEntry = { cveId: row.cve, dateAdded: row.date_added, knownRansomwareUse: row.ransomware === 1 };
          if (row.due_date !== null) entry.dueDate = row.due_date;
          kevById.set(row.cve, entry);
        }
      }
      return kevById.get(cveId);
    },
    epss(cveId: string): EpssScore | undefined {
      const cached = epssCache.get(cveId);
      if (cached !== undefined) return cached ?? undefined;
      const row = epssStmt.get(cveId);
      const score = row ? { cveId, score: row.score, percentile: row.percentile } : null;
      epssCache.set(cveId, score);
      return score ?? undefined;
    },
    advisories(id: string): AdvisoryHeader[] {
      return byIdStmt
        .all(id)
        .map((r) => header(r.rid))
        .filter((h): h is AdvisoryHeader => h !== undefined);
    },
    close(): void {
      db.close();
    },
  };
}
