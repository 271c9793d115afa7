import type { Clock } from '../core/index.js';
import { z } from 'zod';
import type { SqlDriver, SqlExecutor } from './driver.js';

/**
 * The store's schema, one migration per entry, applied in order at start-up inside a transaction.
 * The same SQL runs on SQLite and PostgreSQL: TEXT ids (UUIDs), ISO-8601 timestamps as TEXT (they
 * sort as time), INTEGER flags and counts. Never edit a released migration; append a new one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** A data step after the SQL, in the same transaction, for what one SQL text cannot say on both dialects (reading JSON bodies). */
  fill?: (tx: SqlExecutor) => Promise<void>;
}

const runtimeAlertBody = z.object({ target: z.object({ node: z.string().optional() }).loose() }).loose();

/** Migration 5's data step: copies `target.node` of the stored runtime alerts into their new node column, 500 rows at a time. */
async function fillAlertNodes(tx: SqlExecutor): Promise<void> {
  let after = '';
  for (;;) {
    const rows = z.array(z.object({ id: z.string(), body: z.string() })).parse(await tx.all("SELECT id, body FROM alerts WHERE source = 'runtime' AND id > ? ORDER BY id LIMIT 500", [after]));
    for (const row of rows) {
      const parsed = runtimeAlertBody.safeParse(JSON.parse(row.body));
      const node = parsed.success ? parsed.data.target.node : undefined;
      if (node !== undefined) await tx.run('UPDATE alerts SET node = ? WHERE id = ?', [node, row.id]);
    }
    const last = rows.at(-1);
    if (rows.length < 500 || last === undefined) return;
    after = last.id;
  }
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
  {
    version: 3,
    name: 'disable rules mark stored findings; per-image counts of the findings they leave shown',
    sql: `
-- The rule that hides a finding (NULL: shown). Findings are never deleted for a rule, only marked.
ALTER TABLE findings ADD COLUMN disabled_by TEXT;
-- The finding's aliases as |A|B| ('' for none), so that a rule naming an alias finds it in SQL; NULL
-- until the store fills it from the body (rows written before this version; see applyDisableRules).
ALTER TABLE findings ADD COLUMN aliases TEXT;
CREATE INDEX findings_disabled ON findings (disabled_by);

-- Counts of the findings no rule hides, beside the raw counts (critical … max_rank): what lists and filters read.
ALTER TABLE images ADD COLUMN visible_critical INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN visible_high INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN visible_medium INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN visible_low INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN visible_other INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN visible_fixable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN visible_max_rank INTEGER NOT NULL DEFAULT -1;
ALTER TABLE images ADD COLUMN disabled_findings INTEGER NOT NULL DEFAULT 0;
UPDATE images SET visible_critical = critical, visible_high = high, visible_medium = medium, visible_low = low, visible_other = other,
  visible_fixable = fixable, visible_max_rank = max_rank;
CREATE INDEX images_visible_rank ON images (visible_max_rank, visible_fixable);

-- When the marks of a revoked or expired rule were lifted (NULL while it may still mark findings).
ALTER TABLE disable_rules ADD COLUMN released_at TEXT;

-- A store without findings has nothing to mark; one with findings is marked by the server at its next
-- start (applyDisableRules), which also fills the aliases.
INSERT INTO meta (key, value) SELECT 'disable-rules:marked', 'migration 3' WHERE NOT EXISTS (SELECT 1 FROM findings);
`,
  },
  {
    version: 4,
    name: 'cluster syncs, posture recommendations per cluster, attack paths, saved explorer queries',
    sql: `
-- One row per configured cluster: the sync lease (one replica per interval) and the last sync's outcome.
CREATE TABLE cluster_syncs (
  cluster TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  lease_owner TEXT,
  lease_until TEXT,
  started_at TEXT,
  finished_at TEXT,
  succeeded_at TEXT,
  status TEXT NOT NULL,
  error TEXT,
  problems TEXT NOT NULL,
  counts TEXT NOT NULL,
  duration_ms INTEGER NOT NULL DEFAULT 0
);

-- One row per (cluster, recommendation, affected resource); resolved_at is set by the first sync that no longer finds it.
CREATE TABLE cluster_recommendations (
  cluster TEXT NOT NULL,
  recommendation_id TEXT NOT NULL,
  resource_key TEXT NOT NULL,
  kind TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  container TEXT NOT NULL,
  title TEXT NOT NULL,
  severity TEXT NOT NULL,
  severity_rank INTEGER NOT NULL,
  category TEXT NOT NULL,
  detail TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  last_sync TEXT NOT NULL,
  resolved_at TEXT,
  PRIMARY KEY (cluster, recommendation_id, resource_key)
);
CREATE INDEX cluster_recommendations_list ON cluster_recommendations (cluster, severity_rank, recommendation_id);

-- The latest attack paths per cluster (body: the path as JSON; position: its place in the sync's ordered list), with when each was first found.
CREATE TABLE cluster_attack_paths (
  cluster TEXT NOT NULL,
  path_type TEXT NOT NULL,
  resource TEXT NOT NULL,
  severity_rank INTEGER NOT NULL,
  position INTEGER NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  last_sync TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (cluster, path_type, resource)
);

CREATE TABLE explorer_queries (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  query TEXT NOT NULL,
  description TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
);
`,
  },
  {
    version: 5,
    name: 'policy compliance per cluster, admission webhook violations, the node of runtime alerts',
    sql: `
-- The latest policy compliance of each configured cluster (the sync's audit of the inventory it built), one row
-- per assignment; every audit that ran replaces the cluster's rows. unlisted_objects: non-compliant objects
-- none of whose violations is kept (over clusters[].policy.maxViolationsPerPolicy).
CREATE TABLE cluster_compliance (
  cluster TEXT NOT NULL,
  assignment TEXT NOT NULL,
  policy_id TEXT NOT NULL,
  title TEXT NOT NULL,
  severity TEXT NOT NULL,
  effect TEXT NOT NULL,
  compliant INTEGER NOT NULL,
  non_compliant INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  unlisted_objects INTEGER NOT NULL,
  position INTEGER NOT NULL,
  PRIMARY KEY (cluster, assignment)
);
-- Per namespace of an assignment ('(cluster)' for cluster-scoped objects).
CREATE TABLE cluster_compliance_namespaces (
  cluster TEXT NOT NULL,
  assignment TEXT NOT NULL,
  namespace TEXT NOT NULL,
  compliant INTEGER NOT NULL,
  non_compliant INTEGER NOT NULL,
  PRIMARY KEY (cluster, assignment, namespace)
);
-- The violating objects of an assignment, in the audit's order (namespace '' for cluster-scoped objects).
CREATE TABLE cluster_compliance_violations (
  cluster TEXT NOT NULL,
  assignment TEXT NOT NULL,
  position INTEGER NOT NULL,
  kind TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  message TEXT NOT NULL,
  field TEXT,
  PRIMARY KEY (cluster, assignment, position)
);
CREATE INDEX cluster_compliance_violations_namespace ON cluster_compliance_violations (cluster, namespace);
-- The last audit of the cluster as JSON {auditedAt, objects, skipped}; NULL: never audited.
ALTER TABLE cluster_syncs ADD COLUMN compliance TEXT;

-- One row per violation in an admission webhook's record (Audit, Warn, Deny), with the request it was found in.
-- (cluster, uid, position) is the violation's identity: a record resent in another batch is stored once.
CREATE TABLE admission_violations (
  cluster TEXT NOT NULL,
  uid TEXT NOT NULL,
  position INTEGER NOT NULL,
  time TEXT NOT NULL,
  operation TEXT NOT NULL,
  kind TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  username TEXT NOT NULL,
  allowed INTEGER NOT NULL,
  policy_id TEXT NOT NULL,
  assignment TEXT NOT NULL,
  effect TEXT NOT NULL,
  severity TEXT NOT NULL,
  title TEXT NOT NULL,
  message TEXT NOT NULL,
  field TEXT,
  sender TEXT NOT NULL,
  webhook TEXT NOT NULL,
  received_at TEXT NOT NULL,
  PRIMARY KEY (cluster, uid, position)
);
CREATE INDEX admission_violations_time ON admission_violations (time);
CREATE INDEX admission_violations_policy ON admission_violations (policy_id, time);
CREATE INDEX admission_violations_namespace ON admission_violations (cluster, namespace, time);

-- Idempotency keys of webhook record batches, per sender token.
CREATE TABLE admission_batches (
  sender TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  webhook TEXT NOT NULL,
  records INTEGER NOT NULL,
  received_at TEXT NOT NULL,
  PRIMARY KEY (sender, idempotency_key)
);

-- The node of a runtime alert (target.node), for the alerts list's node filter; the data step fills stored alerts.
ALTER TABLE alerts ADD COLUMN node TEXT;
CREATE INDEX alerts_node ON alerts (node, first_seen);
`,
    fill: fillAlertNodes,
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
      if (migration.fill) await migration.fill(tx);
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [migration.version, migration.name, clock.now().toISOString()]);
      applied.push(migration.version);
    }
    return applied;
  });
}
