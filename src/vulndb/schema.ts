/**
 * The advisory DB schema. Bump SCHEMA_VERSION on any change: readers refuse another version and
 * ask for `palisade db update` / `db import`, since the DB is always rebuilt from the feeds.
 *
 * - advisories: one row per (feed, id); `rid` links the other tables. cvss/refs/aliases are JSON;
 *   aliases are stored sorted. The columns a lookup reads come first and the long `refs` last, so
 *   reading a summary never walks a long reference list's overflow pages.
 * - affected: appended in feed order during the build (sequential writes), indexed on
 *   (namespace, name) after the load. ranges are compact JSON (codec.ts).
 * - packages: the matcher's one lookup. One row per (namespace, name), clustered on that key,
 *   holding all its affected records as one JSON array (codec.ts, decodePackageRecords): one B-tree
 *   seek and one JSON.parse per lookup instead of a join over scattered rows. Filled from
 *   `affected` at the end of the build (PACKAGES_SQL).
 * - aliases: alias → rid; at the end of a build every advisory's `aliases` column gets the ids of
 *   the advisories that name it (aliases both ways), so a reader needs one row per advisory.
 * - sources: per advisory source (and kev, epss): snapshot = newest record, record count.
 * - skips: per feed format, why records were skipped.
 * - downloads: ETag / Last-Modified of each fetched URL, for conditional requests.
 */
export const SCHEMA_VERSION = 3;

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
CREATE TABLE affected (
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  rid INTEGER NOT NULL,
  ranges TEXT,
  versions TEXT,
  fix_state TEXT NOT NULL,
  severity TEXT
);
CREATE TABLE packages (
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  records TEXT NOT NULL,
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
CREATE INDEX affected_package ON affected (namespace, name);
CREATE INDEX aliases_alias ON aliases (alias);
`;

/**
 * Fills `packages` from `affected` (after POST_LOAD_SQL, whose index yields the groups in key
 * order, so the clustered table is written sequentially). Each record is `rid,"fixState",
 * "severity"|0,ranges|0,versions|0` built from the stored JSON text; records keep their build
 * (rowid) order, which is the order candidates() returns them in.
 */
export const PACKAGES_SQL = `
INSERT INTO packages (namespace, name, records)
SELECT namespace, name,
       '[' || group_concat(
                rid || ',' || json_quote(fix_state) || ',' || iif(severity IS NULL, '0', json_quote(severity)) || ',' ||
                coalesce(ranges, '0') || ',' || coalesce(versions, '0'),
                ',' ORDER BY rowid) || ']'
  FROM affected
 GROUP BY namespace, name;
`;
