/**
 * The advisory DB schema. Bump SCHEMA_VERSION on any change: readers refuse another version and
 * ask for `palisade db update` / `db import`, since the DB is always rebuilt from the feeds.
 *
 * - advisories: one row per (feed, id); `rid` links the other tables. cvss/refs/aliases are JSON;
 *   aliases are stored sorted. The columns a lookup reads come first and the long `refs` last, so
 *   reading a summary never walks a long reference list's overflow pages.
 * - packages: the matcher's one lookup. One row per (namespace, name), clustered on that key,
 *   holding all its affected records (codec.ts, encodePackageRow): each distinct range list once,
 *   in its final object shape, and the records pointing at them. One B-tree seek and a JSON.parse
 *   per lookup, no decoding pass. Advisory summaries are read separately, for the records that
 *   matched only. `bound` (bound.ts, packageBound): the version from which on no record of the row
 *   applies (above it when `bound_strict`, else at or above), NULL when some record applies without
 *   end; a lookup for a version beyond it decodes nothing. Worked out with the namespace's version
 *   scheme: a change to a scheme's order changes bounds, so it bumps SCHEMA_VERSION.
 * - summaries: per advisory (rid), what the matcher reads of it as one JSON document in its final
 *   shape (codec.ts, decodeSummary), with the EPSS scores of the CVEs it names, derived from
 *   `advisories` and `epss` at the end of the build (SUMMARIES_SQL): one string and one JSON.parse
 *   per advisory, in a table of short rows.
 * - aliases: alias → rid; at the end of a build every advisory's `aliases` column gets the ids of
 *   the advisories that name it (aliases both ways), so a reader needs one row per advisory.
 * - sources: per advisory source (and kev, epss): snapshot = newest record, record count.
 * - skips: per feed format, why records were skipped.
 * - downloads: ETag / Last-Modified of each fetched URL, for conditional requests.
 *
 * The build's `affected` table (BUILD_SQL) lives in a scratch file attached as `build` beside the
 * new DB and deleted with it: rows appended in feed order (sequential writes), grouped into
 * `packages` at the end (AFFECTED_BY_PACKAGE_SQL, in key order, so the clustered table is written
 * sequentially). It is not part of the DB a reader opens, which would hold every record twice.
 *
 * Version 4: `affected` moved out of the DB; ranges and CVSS stored as objects instead of compact
 * arrays, each distinct range list once per package; `summaries` added.
 * Version 5: `summaries` documents ASCII only, every key present (null when absent); `packages.bound`.
 */
export const SCHEMA_VERSION = 5;

/** The attached scratch schema of a build. */
export const BUILD_SCHEMA = 'build';

export const SCHEMA_SQL = `
CREATE TABLE schema_version (version INTEGER NOT NULL, built_at TEXT NOT NULL);
CREATE TABLE advisories (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  feed TEXT NOT NULL,
  source TEXT NOT NULL,
  severity TEXT,
  published TEXT,
  modified TEXT,
  aliases TEXT,
  cvss TEXT,
  summary TEXT,
  refs TEXT
);
CREATE TABLE summaries (
  rid INTEGER PRIMARY KEY,
  doc TEXT NOT NULL
);
CREATE TABLE packages (
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  ranges TEXT,
  records TEXT NOT NULL,
  bound TEXT,
  bound_strict INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (namespace, name)
) WITHOUT ROWID;
CREATE TABLE aliases (
  alias TEXT NOT NULL,
  rid INTEGER NOT NULL
);
CREATE TABLE kev (
  cve TEXT PRIMARY KEY,
  date_added TEXT NOT NULL,
  due_date TEXT,
  ransomware INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE epss (
  cve TEXT PRIMARY KEY,
  score REAL NOT NULL,
  percentile REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE sources (
  source TEXT PRIMARY KEY,
  feed TEXT NOT NULL,
  snapshot TEXT,
  records INTEGER NOT NULL,
  imported_at TEXT NOT NULL
);
CREATE TABLE skips (
  feed TEXT NOT NULL,
  reason TEXT NOT NULL,
  count INTEGER NOT NULL,
  example TEXT,
  PRIMARY KEY (feed, reason)
);
CREATE TABLE downloads (
  url TEXT PRIMARY KEY,
  etag TEXT,
  last_modified TEXT,
  fetched_at TEXT NOT NULL
);
`;

/** Created after the bulk load: cheaper than maintaining it row by row. */
export const POST_LOAD_SQL = `
CREATE UNIQUE INDEX advisories_feed_id ON advisories (feed, id);
CREATE INDEX advisories_id ON advisories (id);
CREATE INDEX ${BUILD_SCHEMA}.affected_package ON affected (namespace, name);
CREATE INDEX aliases_alias ON aliases (alias);
`;

/** The build's scratch table, in the attached schema BUILD_SCHEMA. ranges and versions are JSON (codec.ts). */
export const BUILD_SQL = `
CREATE TABLE ${BUILD_SCHEMA}.affected (
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  rid INTEGER NOT NULL,
  ranges TEXT,
  versions TEXT,
  fix_state TEXT NOT NULL,
  severity TEXT
);
`;

/**
 * The build's affected records in `packages` key order (the index of POST_LOAD_SQL yields them so),
 * each package's records in build (rowid) order, which is the order lookups return them in.
 */
export const AFFECTED_BY_PACKAGE_SQL = `
SELECT namespace, name, rid, ranges, versions, fix_state, severity
  FROM ${BUILD_SCHEMA}.affected
 ORDER BY namespace, name, rowid
`;

/**
 * Fills `summaries` from `advisories` once aliases are final (after mergeReverseAliases) and the
 * EPSS scores are loaded: each advisory's summary carries the EPSS scores of the CVE ids it names
 * (its id and aliases), so a finding's score comes with the summary instead of from a lookup per
 * CVE. Every document has every key, in one order, an absent summary, severity or score list
 * written as null: a reader's JSON.parse then makes objects of one shape. ASCII_JSON_FUNCTION (a
 * function the builder registers, codec.ts asciiJson) writes characters beyond ASCII as `\uXXXX`
 * escapes, so that a document reaches JavaScript as a one-byte string, which is read and parsed
 * faster than the two-byte string a single `…` in a summary makes of it.
 */
export const ASCII_JSON_FUNCTION = 'ascii_json';

export const SUMMARIES_SQL = `
INSERT INTO summaries (rid, doc)
SELECT a.rid,
       ${ASCII_JSON_FUNCTION}(json_object(
         'id', a.id,
         'aliases', json(coalesce(a.aliases, '[]')),
         'source', a.source,
         'cvss', json(coalesce(a.cvss, '[]')),
         'summary', a.summary,
         'severity', a.severity,
         'epss', json((SELECT CASE WHEN count(*) > 0 THEN json_group_array(json_object('cveId', e.cve, 'score', e.score, 'percentile', e.percentile)) END
                         FROM json_each(json_insert(coalesce(a.aliases, '[]'), '$[#]', a.id)) j
                         JOIN epss e ON e.cve = j.value))))
  FROM advisories a
 ORDER BY a.rid;
`;
