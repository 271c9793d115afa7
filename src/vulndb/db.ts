import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { AppError, isSeverity, FIX_STATES, type AdvisoryHeader, type EpssScore, type FixState, type KevEntry, type Severity } from '../core/index.js';
import { decodeCvss, decodeRanges, decodeStrings } from './codec.js';
import { SCHEMA_VERSION } from './schema.js';
import type { AdvisoryCandidate, AdvisoryIndex, AdvisorySummary } from './types.js';

interface CandidateRow {
  rid: number;
  ranges: string | null;
  versions: string | null;
  fix_state: string;
  pkg_severity: string | null;
  id: string;
  source: string;
  summary: string | null;
  published: string | null;
  modified: string | null;
  severity: string | null;
  cvss: string | null;
  aliases: string | null;
}

interface AdvisoryRow {
  id: string;
  source: string;
  summary: string | null;
  published: string | null;
  modified: string | null;
  severity: string | null;
  cvss: string | null;
  refs: string | null;
  aliases: string | null;
}

/** How many parsed advisory headers are kept: a scan touches a few thousand advisories at most. */
const HEADER_CACHE = 20_000;
/** How many (namespace, name) lookups are kept: images share most of their packages. */
const LOOKUP_CACHE = 5_000;

function toFixState(value: string): FixState {
  return FIX_STATES.find((s) => s === value) ?? 'unknown';
}

function toSeverity(value: string | null): Severity | undefined {
  return value !== null && isSeverity(value) ? value : undefined;
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
 * Open the advisory DB read-only. Lookups use prepared statements on the (namespace, name)
 * clustered key; parsed advisory headers are cached (aliases merged both ways: the advisory's own
 * aliases plus every advisory that lists it as an alias).
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
  db.pragma('cache_size = -32768');
  db.pragma('mmap_size = 268435456');

  // One statement per lookup: the affected rows with the columns of their advisories that matching needs.
  const candidateStmt = db.prepare<[string, string], CandidateRow>(
    `SELECT f.rid AS rid, f.ranges AS ranges, f.versions AS versions, f.fix_state AS fix_state, f.severity AS pkg_severity,
            a.id AS id, a.source AS source, a.summary AS summary, a.published AS published, a.modified AS modified,
            a.severity AS severity, a.cvss AS cvss, a.aliases AS aliases
       FROM affected f JOIN advisories a ON a.rid = f.rid
      WHERE f.namespace = ? AND f.name = ?`,
  );
  const advisoryStmt = db.prepare<[number], AdvisoryRow>(
    'SELECT id, source, summary, published, modified, severity, cvss, refs, aliases FROM advisories WHERE rid = ?',
  );
  const byIdStmt = db.prepare<[string], { rid: number }>('SELECT rid FROM advisories WHERE id = ?');
  const kevStmt = db.prepare<[string], { date_added: string; due_date: string | null; ransomware: number }>(
    'SELECT date_added, due_date, ransomware FROM kev WHERE cve = ?',
  );
  const epssStmt = db.prepare<[string], { score: number; percentile: number }>('SELECT score, percentile FROM epss WHERE cve = ?');

  const headers = new Map<number, AdvisoryHeader>();
  const summaries = new Map<number, AdvisorySummary>();
  const lookups = new Map<string, AdvisoryCandidate[]>();
  const kevCache = new Map<string, KevEntry | null>();
  const epssCache = new Map<string, EpssScore | null>();

  function summary(row: CandidateRow): AdvisorySummary {
    const cached = summaries.get(row.rid);
    if (cached) return cached;
    // The builder stored aliases both ways (see AdvisoryDbBuilder.mergeReverseAliases).
    const s: AdvisorySummary = { id: row.id, aliases: decodeStrings(row.aliases).sort(), source: row.source, cvss: decodeCvss(row.cvss) };
    if (row.summary !== null) s.summary = row.summary;
    if (row.published !== null) s.published = row.published;
    if (row.modified !== null) s.modified = row.modified;
    const severity = toSeverity(row.severity);
    if (severity) s.severity = severity;
    if (summaries.size >= HEADER_CACHE) summaries.delete(summaries.keys().next().value ?? row.rid);
    summaries.set(row.rid, s);
    return s;
  }

  function remember<V>(cache: Map<string, V | null>, key: string, value: V | undefined): V | undefined {
    if (cache.size >= LOOKUP_CACHE) cache.delete(cache.keys().next().value ?? key);
    cache.set(key, value ?? null);
    return value;
  }

  function header(rid: number): AdvisoryHeader | undefined {
    const cached = headers.get(rid);
    if (cached) return cached;
    const row = advisoryStmt.get(rid);
    if (!row) return undefined;
    // The builder stored aliases both ways (see AdvisoryDbBuilder.mergeReverseAliases).
    const h: AdvisoryHeader = {
      id: row.id,
      aliases: decodeStrings(row.aliases).sort(),
      source: row.source,
      cvss: decodeCvss(row.cvss),
      references: decodeStrings(row.refs),
    };
    if (row.summary !== null) h.summary = row.summary;
    if (row.published !== null) h.published = row.published;
    if (row.modified !== null) h.modified = row.modified;
    const severity = toSeverity(row.severity);
    if (severity) h.severity = severity;
    if (headers.size >= HEADER_CACHE) headers.delete(headers.keys().next().value ?? rid);
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
    candidates(namespace: string, name: string): AdvisoryCandidate[] {
      const key = `${namespace}\u0000${name}`;
      const cached = lookups.get(key);
      if (cached) return [...cached];
      const out: AdvisoryCandidate[] = [];
      for (const row of candidateStmt.all(namespace, name)) {
        const advisory = summary(row);
        const affected: AdvisoryCandidate['affected'] = {
          namespace,
          name,
          ranges: decodeRanges(row.ranges),
          versions: decodeStrings(row.versions),
          fixState: toFixState(row.fix_state),
        };
        const severity = toSeverity(row.pkg_severity);
        if (severity) affected.severity = severity;
        out.push({ advisory, affected });
      }
      if (lookups.size >= LOOKUP_CACHE) lookups.delete(lookups.keys().next().value ?? key);
      lookups.set(key, out);
      return [...out];
    },
    kev(cveId: string): KevEntry | undefined {
      const cached = kevCache.get(cveId);
      if (cached !== undefined) return cached ?? undefined;
      const row = kevStmt.get(cveId);
      if (!row) return remember(kevCache, cveId, undefined);
      const entry: KevEntry = { cveId, dateAdded: row.date_added, knownRansomwareUse: row.ransomware === 1 };
      if (row.due_date !== null) entry.dueDate = row.due_date;
      return remember(kevCache, cveId, entry);
    },
    epss(cveId: string): EpssScore | undefined {
      const cached = epssCache.get(cveId);
      if (cached !== undefined) return cached ?? undefined;
      const row = epssStmt.get(cveId);
      return remember(epssCache, cveId, row ? { cveId, score: row.score, percentile: row.percentile } : undefined);
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
