import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Advisory, Clock, CvssScore, EpssScore, KevEntry } from '../core/index.js';
import { schemeForNamespace } from '../versioning/registry.js';
import { packageBound } from './bound.js';
import { asciiJson, decodeStrings, encodeCvss, encodePackageRow, encodeRanges, encodeStrings, type StoredRecord } from './codec.js';
import { cvssScore } from './cvss.js';
import { AFFECTED_BY_PACKAGE_SQL, ASCII_JSON_FUNCTION, BUILD_SCHEMA, BUILD_SQL, POST_LOAD_SQL, SCHEMA_SQL, SCHEMA_VERSION, SUMMARIES_SQL } from './schema.js';
import type { FeedSink } from './types.js';

/** How many advisories go into one transaction. */
const BATCH = 4000;

export interface SkipReason {
  reason: string;
  count: number;
  example: string;
}

export interface FeedStats {
  feed: string;
  files: number;
  advisories: number;
  kev: number;
  epss: number;
  /** Older copies of a record seen twice (the same id in two exports): the newest `modified` wins. */
  duplicates: number;
  /** Further parts of a record (same id and modified, other packages) added to its first part. */
  merged: number;
  withdrawn: number;
  skipped: number;
  reasons: SkipReason[];
}

export interface SourceRow {
  source: string;
  feed: string;
  snapshot: string | null;
  records: number;
  importedAt: string;
}

export interface BuildSummary {
  feeds: FeedStats[];
  sources: SourceRow[];
}

export interface DownloadRecord {
  url: string;
  etag?: string;
  lastModified?: string;
  fetchedAt: string;
}

interface Seen {
  rid: number;
  time: number;
  /** Digest of the affected list, to tell a repeated copy from another part of the same record. */
  digest: string;
}

function digestOf(a: Advisory): string {
  return createHash('sha1').update(JSON.stringify(a.affected)).digest('base64');
}

function timeOf(iso: string | undefined): number {
  if (!iso) return 0;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : 0;
}

/**
 * Writes a fresh advisory DB file in one pass: journal off, prepared statements, one transaction
 * per batch. The same (feed, id) seen twice keeps the copy with the newest `modified`; a withdrawn
 * record removes it. Two parts of one record with the same `modified` (a feed that emits a CVE once
 * per release file, like Alpine's secdb) are merged: affected packages, aliases and references are
 * added to the first part. An exact repeat is dropped. Call finish() to index and close.
 *
 * The affected records go to a scratch file beside the DB (`<path>-build`, attached as `build`),
 * from which finish() groups them into the `packages` table; the scratch file is deleted by finish()
 * and abort(), so the DB holds each record once.
 */
export class AdvisoryDbBuilder {
  private readonly db: Database.Database;
  private readonly scratchPath: string;
  private readonly clock: Clock;
  private readonly seen = new Map<string, Seen>();
  private readonly kevSeen = new Set<string>();
  private readonly dead: number[] = [];
  private readonly stats = new Map<string, FeedStats & { reasonMap: Map<string, SkipReason> }>();
  /** Per feed, the latest date its files said they are as of (FeedSink.snapshot). */
  private readonly snapshots = new Map<string, string>();
  private nextRid = 1;
  private inBatch = 0;
  private readonly insAdvisory: Database.Statement;
  private readonly insAffected: Database.Statement;
  private readonly insAlias: Database.Statement;
  private readonly insKev: Database.Statement;
  private readonly insEpss: Database.Statement;
  private readonly insDownload: Database.Statement;
  private readonly selMerged: Database.Statement<[number], { aliases: string | null; refs: string | null }>;
  private readonly updMerged: Database.Statement;

  constructor(path: string, clock: Clock) {
    this.clock = clock;
    this.db = new Database(path);
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.pragma('locking_mode = EXCLUSIVE');
    this.db.pragma('temp_store = MEMORY');
    this.db.pragma('cache_size = -131072');
    this.db.exec(SCHEMA_SQL);
    this.scratchPath = `${path}-build`;
    rmSync(this.scratchPath, { force: true });
    this.db.prepare(`ATTACH DATABASE ? AS ${BUILD_SCHEMA}`).run(this.scratchPath);
    this.db.pragma(`${BUILD_SCHEMA}.journal_mode = OFF`);
    this.db.pragma(`${BUILD_SCHEMA}.synchronous = OFF`);
    // Appended in feed order, then read once in key order: a smaller cache than the DB's does.
    this.db.pragma(`${BUILD_SCHEMA}.cache_size = -65536`);
    this.db.exec(BUILD_SQL);
    this.insAdvisory = this.db.prepare(
      'INSERT INTO advisories (rid, id, feed, source, summary, published, modified, severity, cvss, refs, aliases) VALUES (?,?,?,?,?,?,?,?,?,?,?)',
    );
    this.insAffected = this.db.prepare(
      `INSERT INTO ${BUILD_SCHEMA}.affected (namespace, name, rid, ranges, versions, fix_state, severity) VALUES (?,?,?,?,?,?,?)`,
    );
    this.insAlias = this.db.prepare('INSERT INTO aliases (alias, rid) VALUES (?, ?)');
    this.insKev = this.db.prepare('INSERT OR REPLACE INTO kev (cve, date_added, due_date, ransomware) VALUES (?,?,?,?)');
    this.insEpss = this.db.prepare('INSERT OR REPLACE INTO epss (cve, score, percentile) VALUES (?,?,?)');
    this.insDownload = this.db.prepare('INSERT OR REPLACE INTO downloads (url, etag, last_modified, fetched_at) VALUES (?,?,?,?)');
    this.selMerged = this.db.prepare('SELECT aliases, refs FROM advisories WHERE rid = ?');
    this.updMerged = this.db.prepare('UPDATE advisories SET aliases = ?, refs = ? WHERE rid = ?');
    this.db.exec('BEGIN');
  }

  private feedStats(feed: string): FeedStats & { reasonMap: Map<string, SkipReason> } {
    let s = this.stats.get(feed);
    if (!s) {
      s = { feed, files: 0, advisories: 0, kev: 0, epss: 0, duplicates: 0, merged: 0, withdrawn: 0, skipped: 0, reasons: [], reasonMap: new Map() };
      this.stats.set(feed, s);
    }
    return s;
  }

  /** Count one file handed to a feed format. */
  fileSeen(feed: string): void {
    this.feedStats(feed).files++;
  }

  /** Record a skip outside any feed format (unreadable or oversized entry). */
  skip(feed: string, reason: string, ref: string): void {
    const s = this.feedStats(feed);
    s.skipped++;
    const r = s.reasonMap.get(reason);
    if (r) r.count++;
    else s.reasonMap.set(reason, { reason, count: 1, example: ref });
  }

  private tick(): void {
    if (++this.inBatch >= BATCH) {
      this.db.exec('COMMIT');
      this.db.exec('BEGIN');
      this.inBatch = 0;
    }
  }

  sinkFor(feed: string): FeedSink {
    const stats = this.feedStats(feed);
    return {
      advisory: (a) => this.addAdvisory(feed, stats, a),
      kev: (e) => this.addKev(stats, e),
      epss: (e) => this.addEpss(stats, e),
      snapshot: (date) => {
        const known = this.snapshots.get(feed);
        if (known === undefined || date > known) this.snapshots.set(feed, date);
      },
      skip: (reason, ref) => this.skip(feed, reason, ref),
    };
  }

  private addAdvisory(feed: string, stats: FeedStats, a: Advisory): void {
    const key = `${feed}\u0000${a.id}`;
    const time = timeOf(a.modified);
    const prev = this.seen.get(key);
    if (prev && prev.time === time && prev.rid > 0 && !a.withdrawn) {
      const digest = digestOf(a);
      if (digest === prev.digest) stats.duplicates++;
      else {
        stats.merged++;
        this.merge(prev.rid, a);
      }
      return;
    }
    if (prev && prev.time >= time) {
      stats.duplicates++;
      return;
    }
    if (prev) {
      stats.duplicates++;
      if (prev.rid > 0) this.dead.push(prev.rid);
    }
    if (a.withdrawn) {
      stats.withdrawn++;
      this.seen.set(key, { rid: 0, time, digest: '' });
      return;
    }
    // Every stored score is computed from its vector; a vector that does not score is dropped.
    const cvss: CvssScore[] = [];
    for (const s of a.cvss) {
      const scored = cvssScore(s.vector, s.source);
      if (scored) cvss.push(scored);
    }
    const rid = this.nextRid++;
    this.seen.set(key, { rid, time, digest: digestOf(a) });
    const aliases = [...new Set(a.aliases)].filter((x) => x !== a.id).sort();
    this.insAdvisory.run(
      rid,
      a.id,
      feed,
      a.source,
      a.summary ?? null,
      a.published ?? null,
      a.modified ?? null,
      a.severity ?? null,
      encodeCvss(cvss),
      encodeStrings(a.references),
      encodeStrings(aliases),
    );
    this.insertAffected(rid, a);
    for (const alias of aliases) this.insAlias.run(alias, rid);
    stats.advisories++;
    this.tick();
  }

  private insertAffected(rid: number, a: Advisory): void {
    for (const p of a.affected) {
      this.insAffected.run(
        p.namespace,
        p.name,
        rid,
        p.ranges.length > 0 ? encodeRanges(p.ranges) : null,
        encodeStrings(p.versions),
        p.fixState,
        p.severity ?? null,
      );
    }
  }

  /** Add another part of an already stored record (same feed, id and modified). */
  private merge(rid: number, a: Advisory): void {
    this.insertAffected(rid, a);
    const row = this.selMerged.get(rid);
    if (row) {
      const aliases = new Set(decodeStrings(row.aliases));
      const added = a.aliases.filter((x) => x !== a.id && !aliases.has(x));
      for (const x of added) {
        aliases.add(x);
        this.insAlias.run(x, rid);
      }
      const refs = new Set(decodeStrings(row.refs));
      const newRefs = a.references.filter((r) => !refs.has(r));
      for (const r of newRefs) refs.add(r);
      if (added.length > 0 || newRefs.length > 0) this.updMerged.run(encodeStrings([...aliases].sort()), encodeStrings([...refs]), rid);
    }
    this.tick();
  }

  private addKev(stats: FeedStats, e: KevEntry): void {
    this.insKev.run(e.cveId, e.dateAdded, e.dueDate ?? null, e.knownRansomwareUse ? 1 : 0);
    // The catalog ships as JSON and CSV side by side: count each CVE once.
    if (this.kevSeen.has(e.cveId)) {
      stats.duplicates++;
      return;
    }
    this.kevSeen.add(e.cveId);
    stats.kev++;
    this.tick();
  }

  private addEpss(stats: FeedStats, e: EpssScore): void {
    this.insEpss.run(e.cveId, e.score, e.percentile);
    stats.epss++;
    if (++this.inBatch >= BATCH * 25) this.tick();
  }

  recordDownloads(rows: readonly DownloadRecord[]): void {
    for (const r of rows) this.insDownload.run(r.url, r.etag ?? null, r.lastModified ?? null, r.fetchedAt);
  }

  /** Remove superseded copies, build the indexes and the `packages` lookup table, write the sources table, drop the scratch file and close the DB. */
  finish(): BuildSummary {
    const db = this.db;
    const importedAt = this.clock.now().toISOString();
    if (this.dead.length > 0) {
      db.exec('CREATE TEMP TABLE dead (rid INTEGER PRIMARY KEY)');
      const ins = db.prepare('INSERT OR IGNORE INTO dead (rid) VALUES (?)');
      for (const rid of this.dead) ins.run(rid);
      db.exec(`
        DELETE FROM ${BUILD_SCHEMA}.affected WHERE rid IN (SELECT rid FROM dead);
        DELETE FROM aliases WHERE rid IN (SELECT rid FROM dead);
        DELETE FROM advisories WHERE rid IN (SELECT rid FROM dead);
        DROP TABLE dead;`);
    }
    db.exec(POST_LOAD_SQL);
    this.mergeReverseAliases();
    db.function(ASCII_JSON_FUNCTION, { deterministic: true }, asciiJson);
    db.exec(SUMMARIES_SQL);
    this.writePackages();
    db.prepare(
      `INSERT INTO sources (source, feed, snapshot, records, imported_at)
       SELECT source, MIN(feed), MAX(modified), COUNT(*), ? FROM advisories GROUP BY source`,
    ).run(importedAt);
    const kev = db.prepare<[], { n: number; snap: string | null }>('SELECT COUNT(*) AS n, MAX(date_added) AS snap FROM kev').get();
    if (kev && kev.n > 0) db.prepare("INSERT INTO sources VALUES ('kev', 'kev', ?, ?, ?)").run(kev.snap, kev.n, importedAt);
    const epss = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM epss').get();
    if (epss && epss.n > 0) db.prepare("INSERT INTO sources VALUES ('epss', 'epss', ?, ?, ?)").run(this.snapshots.get('epss') ?? null, epss.n, importedAt);
    const insSkip = db.prepare('INSERT INTO skips (feed, reason, count, example) VALUES (?,?,?,?)');
    for (const s of this.stats.values()) {
      for (const r of s.reasonMap.values()) insSkip.run(s.feed, r.reason, r.count, r.example);
    }
    db.prepare('INSERT INTO schema_version (version, built_at) VALUES (?, ?)').run(SCHEMA_VERSION, importedAt);
    db.exec('COMMIT');
    db.exec(`DETACH DATABASE ${BUILD_SCHEMA}`);
    rmSync(this.scratchPath, { force: true });
    db.exec('ANALYZE');
    db.pragma('journal_mode = DELETE');
    const sources = db
      .prepare<[], { source: string; feed: string; snapshot: string | null; records: number; imported_at: string }>(
        'SELECT source, feed, snapshot, records, imported_at FROM sources ORDER BY source',
      )
      .all()
      .map((r) => ({ source: r.source, feed: r.feed, snapshot: r.snapshot, records: r.records, importedAt: r.imported_at }));
    db.close();
    const feeds = [...this.stats.values()]
      .map(({ reasonMap, ...rest }) => ({ ...rest, reasons: [...reasonMap.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)) }))
      .sort((a, b) => a.feed.localeCompare(b.feed));
    return { feeds, sources };
  }

  /** One `packages` row per (namespace, name) from the build's affected records (codec.ts, encodePackageRow). */
  private writePackages(): void {
    const insert = this.db.prepare('INSERT INTO packages (namespace, name, ranges, records, bound, bound_strict) VALUES (?, ?, ?, ?, ?, ?)');
    const rows = this.db
      .prepare<[], [string, string, number, string | null, string | null, string, string | null]>(AFFECTED_BY_PACKAGE_SQL)
      .raw();
    let namespace = '';
    let name = '';
    let records: StoredRecord[] = [];
    const flush = (): void => {
      if (records.length === 0) return;
      const row = encodePackageRow(records);
      const scheme = schemeForNamespace(namespace);
      const bound = scheme === undefined ? undefined : packageBound(scheme, records);
      insert.run(namespace, name, row.ranges, row.records, bound?.version ?? null, bound?.strict === true ? 1 : 0);
      records = [];
    };
    // Reading build.affected while writing main.packages: separate files, so SQLite allows it;
    // better-sqlite3 asks to be told (unsafe mode) before a statement runs during an iteration.
    this.db.unsafeMode(true);
    try {
      for (const [ns, n, rid, ranges, versions, fixState, severity] of rows.iterate()) {
        if (ns !== namespace || n !== name) {
          flush();
          namespace = ns;
          name = n;
        }
        records.push({ rid, fixState, severity, ranges, versions });
      }
      flush();
    } finally {
      this.db.unsafeMode(false);
    }
  }

  /**
   * Aliases both ways, once, at build time: an advisory also lists every advisory that names it as an
   * alias (CVE-2023-0286 lists DSA-5343-1 because the DSA names the CVE). Readers then need one row.
   */
  private mergeReverseAliases(): void {
    const reverse = new Map<string, Set<string>>();
    const rows = this.db.prepare<[], { alias: string; id: string }>('SELECT x.alias AS alias, a.id AS id FROM aliases x JOIN advisories a ON a.rid = x.rid');
    for (const { alias, id } of rows.iterate()) {
      if (alias === id) continue;
      let ids = reverse.get(alias);
      if (!ids) reverse.set(alias, (ids = new Set()));
      ids.add(id);
    }
    const byId = this.db.prepare<[string], { rid: number; aliases: string | null }>('SELECT rid, aliases FROM advisories WHERE id = ?');
    const update = this.db.prepare('UPDATE advisories SET aliases = ? WHERE rid = ?');
    for (const [id, others] of reverse) {
      for (const row of byId.all(id)) {
        const merged = new Set(decodeStrings(row.aliases));
        const before = merged.size;
        for (const other of others) merged.add(other);
        if (merged.size !== before) update.run(encodeStrings([...merged].sort()), row.rid);
      }
    }
  }

  abort(): void {
    if (this.db.open) this.db.close();
    rmSync(this.scratchPath, { force: true });
  }
}
