import type { VersionScheme } from '../versioning/types.js';
import type { Advisory, AdvisoryHeader, AffectedPackage, AffectedRange, EpssScore, FixState, KevEntry, Severity } from '../core/index.js';

/**
 * What matching needs of an advisory: its header without the dates and the (long) reference list,
 * and the EPSS scores of the CVE ids it names (its id and aliases) where the index has one, so that a
 * finding's score comes with the summary (epssOf in memory.ts).
 */
export interface AdvisorySummary extends Pick<AdvisoryHeader, 'id' | 'aliases' | 'source' | 'summary' | 'severity' | 'cvss' | 'withdrawn'> {
  epss?: EpssScore[];
}

/**
 * One affected-package record as an index files it under its (namespace, name): what range
 * evaluation needs, and the key of its advisory, whose summary `AdvisoryIndex.summaries` gives.
 * Separate from the summary so that a lookup reads no advisory text: the matcher asks for the
 * summaries of the records that matched only, in one batch.
 */
export interface AffectedRecord {
  /** The advisory's key in its index (the DB's row id). */
  advisory: number;
  fixState: FixState;
  /** Per-package rating by the distro, if any. */
  severity: Severity | undefined;
  ranges: AffectedRange[];
  versions: string[];
}

/** The version a lookup is for, with the scheme of its namespace (AdvisoryIndex.records). */
export interface InstalledVersion {
  scheme: VersionScheme;
  version: string;
}

/** One affected-package record together with the advisory it belongs to. */
export interface AdvisoryCandidate {
  advisory: AdvisorySummary;
  affected: AffectedPackage;
}

/**
 * The read side of the advisory DB, which the matcher uses. Implemented by the SQLite DB
 * (src/vulndb/db.ts) and by an in-memory index for small fixture sets (src/vulndb/memory.ts).
 * `candidates()` (candidates.ts) joins records and summaries for callers that want both.
 */
export interface AdvisoryIndex {
  /**
   * Every affected-package record filed under this namespace and package name (exact name match;
   * names are stored as the ecosystem normalises them), in build order. Read-only: answers may be cached.
   * With `installed`, the index may answer [] when it knows that no record can apply to that version
   * (the SQLite DB: the version is beyond the row's bound, see bound.ts): an answer for that version
   * only, which the caller must not keep for another.
   */
  records(namespace: string, name: string, installed?: InstalledVersion): readonly AffectedRecord[];
  /** The summaries of the advisories these keys (`AffectedRecord.advisory`) name, in the same order. */
  summaries(keys: readonly number[]): AdvisorySummary[];
  kev(cveId: string): KevEntry | undefined;
  epss(cveId: string): EpssScore | undefined;
}

/** Where a feed parser sends what it read. Bad records are skipped and counted, never fatal. */
export interface FeedSink {
  advisory(advisory: Advisory): void;
  kev(entry: KevEntry): void;
  epss(entry: EpssScore): void;
  /**
   * The date the file's data is as of, when the file itself says so and its records do not (EPSS's
   * `score_date`); `db status` shows the latest one as the source's snapshot.
   */
  snapshot?(date: string): void;
  /** A record that could not be used: `ref` names it (file path inside the feed, record id). */
  skip(reason: string, ref: string): void;
}

/**
 * One native feed format (OSV, Alpine secdb, Ubuntu tracker, Red Hat API, ALAS, KEV, EPSS …), one
 * folder each under src/vulndb/sources/, listed in src/vulndb/sources/registry.ts. The importer walks
 * an input (directory, .zip, .tar.gz), offers every file to `detect`, and hands each file of the
 * detected format to `parseFile`.
 */
export interface FeedFormat {
  /** Stable id, also the `source` recorded for the snapshot: 'osv', 'alpine-secdb', 'kev' … */
  readonly id: string;
  /** True when this file belongs to this format; `head` is the first bytes (up to 4 KiB). */
  detect(path: string, head: Buffer): boolean;
  /** Parse one whole file. Throw only for a file that is unusable as a whole; skip bad records via sink. */
  parseFile(path: string, data: Buffer, sink: FeedSink): void;
}
