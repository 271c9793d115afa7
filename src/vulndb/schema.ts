/**
 * The advisory DB schema. Bump SCHEMA_VERSION on any change: readers refuse another version and
 * ask for `palisade db update` / `db import`, since the DB is always rebuilt from the feeds.
 *
 * - advisories: one row per (feed, id); `rid` links the other tables. cvss/refs/aliases are JSON.
 * - affected: appended in feed order during the build (sequential writes), indexed on
 *   (namespace, name) — the matcher's one lookup — after the load. ranges are compact JSON (codec.ts).
 * - aliases: alias → rid; at the end of a build every advisory's `aliases` column gets the ids of
 *   the advisories that name it (aliases both ways), so a reader needs one row per advisory.
 * - sources: per advisory source (and kev, epss): snapshot = newest record, record count.
 * - skips: per feed format, why records were skipped.
 * - downloads: ETag / Last-Modified of each fetched URL, for conditional requests.
 */
export const SCHEMA_VERSION = 2;

export const SCHEMA_SQL = `
CREATE TABLE schema_version (version INTEGER NOT NULL, built_at TEXT NOT NULL);
CREATE TABLE advisories (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  feed TEXT NOT NULL,
  source TEXT NOT NULL,
  summary TEXT,
  published TEXT,
  modified TEXT,
  severity TEXT,
  cvss TEXT,
  refs TEXT,
  aliases TEXT
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
