import type { Clock } from '../core/index.js';
import type { SqlDriver } from './driver.js';

/**
 * The store's schema, one migration per entry, applied in order at start-up inside a transaction.
 * The same SQL runs on SQLite and PostgreSQL: TEXT ids (UUIDs), ISO-8601 timestamps as TEXT (they
 * sort as time), INTEGER flags and counts. Never edit a released migration; append a new one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'images, findings, scans, jobs, running images, disable rules, usage, meta',
    sql: `
CREATE TABLE images (
  digest TEXT PRIMARY KEY,
  registry TEXT NOT NULL,
  repository TEXT NOT NULL,
  first_seen_at TEXT NOT NULL,
  pushed_at TEXT,
  pulled_at TEXT,
  status TEXT NOT NULL,
  error TEXT,
  distro TEXT,
  platform TEXT,
  package_count INTEGER NOT NULL DEFAULT 0,
  scanned_at TEXT,
  evaluated_at TEXT,
  critical INTEGER NOT NULL DEFAULT 0,
  high INTEGER NOT NULL DEFAULT 0,
  medium INTEGER NOT NULL DEFAULT 0,
  low INTEGER NOT NULL DEFAULT 0,
  other INTEGER NOT NULL DEFAULT 0,
  fixable INTEGER NOT NULL DEFAULT 0,
  max_rank INTEGER NOT NULL DEFAULT -1
);
CREATE INDEX images_pushed ON images (pushed_at, digest);
CREATE INDEX images_repo ON images (registry, repository);
CREATE INDEX images_rank ON images (max_rank, fixable);

-- Package lists live apart from images: a re-match updates an image row without rewriting its SBOM.
CREATE TABLE sboms (
  digest TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  body TEXT NOT NULL
);

CREATE TABLE image_refs (
  registry TEXT NOT NULL,
  repository TEXT NOT NULL,
  tag TEXT NOT NULL,
  digest TEXT NOT NULL,
  pushed_at TEXT NOT NULL,
  PRIMARY KEY (registry, repository, tag, digest)
);
CREATE INDEX image_refs_digest ON image_refs (digest);
CREATE INDEX image_refs_tag ON image_refs (tag, digest);

CREATE TABLE findings (
  digest TEXT NOT NULL,
  advisory_id TEXT NOT NULL,
  purl TEXT NOT NULL,
  package_name TEXT NOT NULL,
  severity TEXT NOT NULL,
  severity_rank INTEGER NOT NULL,
  fix_state TEXT NOT NULL,
  fixable INTEGER NOT NULL,
  kev INTEGER NOT NULL,
  epss DOUBLE PRECISION,
  namespace TEXT NOT NULL,
  first_seen_at TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (digest, advisory_id, purl)
);
CREATE INDEX findings_advisory ON findings (advisory_id);

CREATE TABLE scans (
  id TEXT PRIMARY KEY,
  digest TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  worker TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  duration_ms INTEGER NOT NULL,
  findings INTEGER NOT NULL,
  db_built_at TEXT,
  error TEXT
);
CREATE INDEX scans_digest ON scans (digest, finished_at);
CREATE INDEX scans_finished ON scans (finished_at);

CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  digest TEXT NOT NULL,
  registry TEXT NOT NULL,
  repository TEXT NOT NULL,
  force_pull INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until TEXT,
  run_after TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  last_error TEXT
);
CREATE UNIQUE INDEX jobs_active ON jobs (kind, digest) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_claim ON jobs (state, run_after);

CREATE TABLE running_images (
  cluster TEXT NOT NULL,
  namespace TEXT NOT NULL,
  pod TEXT NOT NULL,
  container TEXT NOT NULL,
  image TEXT NOT NULL,
  digest TEXT NOT NULL,
  seen_at TEXT NOT NULL,
  PRIMARY KEY (cluster, namespace, pod, container)
);
CREATE INDEX running_digest ON running_images (digest);

CREATE TABLE nodes (
  cluster TEXT NOT NULL,
  name TEXT NOT NULL,
  cores INTEGER NOT NULL,
  seen_at TEXT NOT NULL,
  PRIMARY KEY (cluster, name)
);

CREATE TABLE core_usage (
  month TEXT PRIMARY KEY,
  cores INTEGER NOT NULL
);

CREATE TABLE disable_rules (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  criteria TEXT NOT NULL,
  justification TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT,
  revoked_by TEXT
);

CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'threat alerts (audit webhook, node sensors), their occurrences and sender batches',
    sql: `
-- One row per alert group; body is the alert (src/threat/alert.ts) as JSON, the columns are what filters read.
CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  group_key TEXT NOT NULL,
  rule TEXT NOT NULL,
  severity TEXT NOT NULL,
  source TEXT NOT NULL,
  cluster TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  count INTEGER NOT NULL,
  status TEXT NOT NULL,
  status_changed_at TEXT,
  status_changed_by TEXT,
  received_at TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX alerts_first_seen ON alerts (first_seen, id);
CREATE INDEX alerts_group ON alerts (group_key, first_seen);
CREATE INDEX alerts_rule ON alerts (rule, first_seen);
CREATE INDEX alerts_status ON alerts (status, first_seen);

-- Every alert id ever received and the stored alert it went into: a resent alert is stored once.
CREATE TABLE alert_occurrences (
  id TEXT PRIMARY KEY,
  alert_id TEXT NOT NULL
);

-- Idempotency keys of sender batches (sensor Idempotency-Key), per sender token.
CREATE TABLE alert_batches (
  sender TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  node TEXT NOT NULL,
  alerts INTEGER NOT NULL,
  received_at TEXT NOT NULL,
  PRIMARY KEY (sender, idempotency_key)
);
`,
  },
];

/** Applies the migrations not yet recorded. Two processes starting together: the loser waits on the lock and finds them applied. */
export async function migrate(driver: SqlDriver, clock: Clock): Promise<number[]> {
  const ddl = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)';
  try {
    await driver.exec(ddl);
  } catch {
    // Two PostgreSQL replicas creating the table at once: one loses on the catalog's unique index; the table exists now.
    await driver.exec(ddl);
  }
  return driver.transaction(async (tx) => {
    if (tx.dialect === 'postgres') await tx.exec('LOCK TABLE schema_migrations IN EXCLUSIVE MODE');
    const rows = await tx.all('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((row) => (typeof row === 'object' && row !== null && 'version' in row ? Number(row.version) : -1)));
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [migration.version, migration.name, clock.now().toISOString()]);
      applied.push(migration.version);
    }
    return applied;
  });
}
