import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError, SEVERITIES, severityRank, type Clock, type Severity } from '../core/index.js';
import type { AuditedAssignment } from '../policy/compliance.js';
import { openPostgresDriver, openSqliteDriver, whereEqual, type SqlDriver, type SqlExecutor, type SqlValue } from './driver.js';
import { migrate } from './migrations.js';

/**
 * What the server keeps of the clusters it reads (migration 4): each cluster's sync lease and last
 * outcome, its posture recommendations one row per (recommendation, affected resource) with first
 * seen / last seen / resolved, its latest attack paths, its latest policy compliance per assignment
 * and namespace with the violating objects (migration 5), and the saved explorer queries. Written
 * over the same SqlDriver as the main store, SQLite or PostgreSQL, with the same portable SQL.
 *
 * A sync claims its cluster with one conditional UPDATE (no live lease, and the last start is an
 * interval old), so among replicas sharing a PostgreSQL database exactly one runs a cluster's sync
 * per interval; a replica that dies stops renewing and the lease runs out. Results are committed
 * only while the lease is still the caller's.
 */

export type ClusterSyncStatus = 'never' | 'ok' | 'partial' | 'failed';
export type RecommendationState = 'open' | 'resolved';

export interface ClusterCounts {
  /** Typed objects in the inventory, and objects kept as unknown (CRDs, objects that do not fit their kind). */
  objects: number;
  unknownObjects: number;
  runningImages: number;
  nodes: number;
  cores: number;
  /** Open recommendation rows (one per recommendation and affected resource). */
  openRecommendations: number;
  attackPaths: number;
}

export interface ClusterSyncState {
  cluster: string;
  source: string;
  status: ClusterSyncStatus;
  /** A replica holds the lease right now (a sync is running). */
  running: boolean;
  startedAt?: string;
  finishedAt?: string;
  /** The last sync that stored results (ok or partial). */
  succeededAt?: string;
  error?: string;
  /** What the last sync could not read, one sentence each. */
  problems: string[];
  counts: ClusterCounts;
  durationMs: number;
}

/** One affected resource of a recommendation, as a sync found it. */
export interface RecommendationInput {
  id: string;
  title: string;
  severity: Severity;
  category: string;
  kind: string;
  namespace: string;
  name: string;
  container: string;
  detail: string;
}

export interface StoredRecommendation extends RecommendationInput {
  cluster: string;
  state: RecommendationState;
  firstSeen: string;
  lastSeen: string;
  resolvedAt?: string;
}

export interface RecommendationFilter {
  cluster: string;
  severity?: Severity;
  id?: string;
  namespace?: string;
  /** Default: both. */
  state?: RecommendationState;
  limit: number;
  offset: number;
}

export const attackPathSchema = z.object({
  type: z.string(),
  title: z.string(),
  severity: z.enum(SEVERITIES),
  cluster: z.string(),
  resource: z.string(),
  nodes: z.array(z.object({ id: z.string(), kind: z.string(), label: z.string() })),
  edges: z.array(z.object({ from: z.string(), to: z.string(), type: z.string() })),
  evidence: z.string(),
  remediation: z.string(),
});
export type AttackPathInput = z.infer<typeof attackPathSchema>;
export type StoredAttackPath = AttackPathInput & { firstSeen: string; lastSeen: string };

export interface SyncResults {
  recommendations: readonly RecommendationInput[];
  attackPaths: readonly AttackPathInput[];
  /**
   * Kinds the sync could not read (403, timeout): rows whose resource is of such a kind are neither
   * resolved nor dropped, since their absence says nothing.
   */
  unreadableKinds: readonly string[];
  /** The policy compliance audit; absent when it is off or failed (the stored compliance stays as it was). */
  compliance?: ComplianceInput;
}

/** One assignment's compliance in a cluster: what the policy audit of the sync found (src/policy/compliance.ts). */
export type AssignmentCompliance = AuditedAssignment;
/** A violating object of an assignment (namespace '' for cluster-scoped objects). */
export type ComplianceViolation = AuditedAssignment['violations'][number];

export interface ComplianceInput {
  objects: number;
  /** Objects not judged, by kind (kinds Palisade does not model). */
  skipped: Record<string, number>;
  assignments: readonly AssignmentCompliance[];
}

export interface StoredCompliance {
  cluster: string;
  /** The start of the sync whose audit this is; absent when the cluster was never audited. */
  auditedAt?: string;
  objects: number;
  skipped: Record<string, number>;
  assignments: AssignmentCompliance[];
}

export interface ComplianceFilter {
  cluster: string;
  assignment?: string;
  policy?: string;
  effect?: string;
  /** Only this namespace's counts and violations, and only assignments that apply in it ('(cluster)' for cluster-scoped objects). */
  namespace?: string;
  /** Only assignments with non-compliant objects (in the namespace, when one is given). */
  nonCompliantOnly?: boolean;
  /** Leave the violating objects out (counts only). */
  withoutViolations?: boolean;
}

export interface SyncOutcome {
  status: Exclude<ClusterSyncStatus, 'never'>;
  error?: string;
  problems: readonly string[];
  counts: Omit<ClusterCounts, 'openRecommendations' | 'attackPaths'>;
  durationMs: number;
  /** Absent when the sync failed: the stored recommendations and paths stay as they were. */
  results?: SyncResults;
}

export interface SyncCommit {
  /** False when the lease was no longer the caller's: nothing was written. */
  committed: boolean;
  /** Rows that appeared (new, or back after being resolved). */
  opened: number;
  resolved: number;
  /** The counts stored with the outcome (a failed sync keeps the last inventory's). */
  counts: ClusterCounts;
}

export interface SavedQuery {
  id: string;
  name: string;
  query: string;
  description: string;
  author: string;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
}

export interface ClusterStore {
  /**
   * Takes the cluster's sync lease when nobody holds a live one and (unless `force`) the last sync
   * started at least `intervalMs` ago. True for the one caller that got it.
   */
  claimSync(cluster: string, source: string, owner: string, now: Date, options: { intervalMs: number; leaseMs: number; force?: boolean }): Promise<boolean>;
  extendSync(cluster: string, owner: string, until: Date): Promise<boolean>;
  /**
   * Records the outcome and (when present) the results in one transaction, only while `owner` holds
   * the lease, and releases it. `seenAt` stamps first seen / last seen / resolved (the sync's start).
   */
  finishSync(cluster: string, owner: string, syncId: string, outcome: SyncOutcome, times: { seenAt: Date; finishedAt: Date }): Promise<SyncCommit>;
  syncStates(now: Date): Promise<ClusterSyncState[]>;
  listRecommendations(filter: RecommendationFilter): Promise<{ total: number; items: StoredRecommendation[] }>;
  listAttackPaths(cluster: string): Promise<StoredAttackPath[]>;
  /** The cluster's latest policy compliance, filtered. */
  getCompliance(filter: ComplianceFilter): Promise<StoredCompliance>;
  /** Undefined when the name is taken. */
  createQuery(input: { name: string; query: string; description: string; author: string }, now: Date): Promise<SavedQuery | undefined>;
  listQueries(): Promise<SavedQuery[]>;
  getQuery(id: string): Promise<SavedQuery | undefined>;
  /** Undefined when there is no such query; throws CONFLICT when the new name is another query's. */
  updateQuery(id: string, change: { name?: string; query?: string; description?: string }, by: string, now: Date): Promise<SavedQuery | undefined>;
  deleteQuery(id: string): Promise<boolean>;
  close(): Promise<void>;
}

const text = z.string();
const optText = z.string().nullable();
const int = z.coerce.number();

const syncRow = z.object({
  cluster: text,
  source: text,
  lease_until: optText,
  started_at: optText,
  finished_at: optText,
  succeeded_at: optText,
  status: z.enum(['never', 'ok', 'partial', 'failed']),
  error: optText,
  problems: text,
  counts: text,
  duration_ms: int,
});
const countsSchema = z.object({
  objects: z.number().default(0),
  unknownObjects: z.number().default(0),
  runningImages: z.number().default(0),
  nodes: z.number().default(0),
  cores: z.number().default(0),
  openRecommendations: z.number().default(0),
  attackPaths: z.number().default(0),
});
const recommendationRow = z.object({
  cluster: text,
  recommendation_id: text,
  kind: text,
  namespace: text,
  name: text,
  container: text,
  title: text,
  severity: z.enum(SEVERITIES),
  category: text,
  detail: text,
  first_seen: text,
  last_seen: text,
  resolved_at: optText,
});
const pathRow = z.object({ first_seen: text, last_seen: text, body: text });
const complianceRow = z.object({
  assignment: text,
  policy_id: text,
  title: text,
  severity: text,
  effect: text,
  compliant: int,
  non_compliant: int,
  errors: int,
  unlisted_objects: int,
});
const complianceNamespaceRow = z.object({ assignment: text, namespace: text, compliant: int, non_compliant: int });
const complianceViolationRow = z.object({ assignment: text, kind: text, namespace: text, name: text, message: text, field: optText });
const complianceSummary = z.object({ auditedAt: z.string(), objects: z.number(), skipped: z.record(z.string(), z.number()) });
const queryRow = z.object({ id: text, name: text, query: text, description: text, author: text, created_at: text, updated_at: text, updated_by: text });
const countRow = z.object({ n: int });

function parseRows<T>(rows: unknown[], schema: z.ZodType<T>): T[] {
  return rows.map((row) => schema.parse(row));
}

async function count(db: SqlExecutor, sql: string, params: readonly SqlValue[]): Promise<number> {
  return parseRows(await db.all(sql, params), countRow)[0]?.n ?? 0;
}

function toQuery(row: z.infer<typeof queryRow>): SavedQuery {
  return { id: row.id, name: row.name, query: row.query, description: row.description, author: row.author, createdAt: row.created_at, updatedAt: row.updated_at, updatedBy: row.updated_by };
}

/** The affected resource's identity inside its cluster: kind/namespace/name/container. */
export function recommendationResourceKey(r: Pick<RecommendationInput, 'kind' | 'namespace' | 'name' | 'container'>): string {
  return [r.kind, r.namespace, r.name, r.container].join('/');
}

/** The kind of an attack path's resource ("Deployment/shop/web" → "Deployment"). */
function pathKind(resource: string): string {
  return resource.split('/')[0] ?? '';
}

/** `AND column NOT IN (?, …)`, or nothing for an empty list. */
function notIn(column: string, values: readonly string[]): { sql: string; params: string[] } {
  return values.length === 0 ? { sql: '', params: [] } : { sql: ` AND ${column} NOT IN (${values.map(() => '?').join(', ')})`, params: [...values] };
}

const CHUNK = 100;

export function createClusterStore(db: SqlDriver): ClusterStore {
  const writeRecommendations = async (tx: SqlExecutor, cluster: string, syncId: string, results: SyncResults, now: string): Promise<{ opened: number; resolved: number }> => {
    const before = new Map(
      parseRows(await tx.all('SELECT recommendation_id, resource_key, resolved_at FROM cluster_recommendations WHERE cluster = ?', [cluster]), z.object({ recommendation_id: text, resource_key: text, resolved_at: optText })).map((r) => [
        `${r.recommendation_id}\u0000${r.resource_key}`,
        r.resolved_at === null,
      ]),
    );
    let opened = 0;
    const unique = new Map<string, RecommendationInput>();
    for (const rec of results.recommendations) unique.set(`${rec.id}\u0000${recommendationResourceKey(rec)}`, rec);
    for (const key of unique.keys()) if (before.get(key) !== true) opened++;
    const rows = [...unique.values()];
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      const params: SqlValue[] = [];
      for (const r of chunk) {
        params.push(cluster, r.id, recommendationResourceKey(r), r.kind, r.namespace, r.name, r.container, r.title, r.severity, severityRank(r.severity), r.category, r.detail, now, now, syncId);
      }
      await tx.run(
        `INSERT INTO cluster_recommendations (cluster, recommendation_id, resource_key, kind, namespace, name, container, title, severity, severity_rank, category, detail, first_seen, last_seen, last_sync)
         VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
         ON CONFLICT (cluster, recommendation_id, resource_key) DO UPDATE SET title = excluded.title, severity = excluded.severity, severity_rank = excluded.severity_rank,
           category = excluded.category, detail = excluded.detail, last_seen = excluded.last_seen, last_sync = excluded.last_sync, resolved_at = NULL`,
        params,
      );
    }
    const keep = notIn('kind', results.unreadableKinds);
    const resolved = await tx.run(
      `UPDATE cluster_recommendations SET resolved_at = ? WHERE cluster = ? AND resolved_at IS NULL AND last_sync <> ?${keep.sql}`,
      [now, cluster, syncId, ...keep.params],
    );
    return { opened, resolved };
  };

  const writePaths = async (tx: SqlExecutor, cluster: string, syncId: string, results: SyncResults, now: string): Promise<void> => {
    const unique = new Map<string, AttackPathInput>();
    for (const p of results.attackPaths) unique.set(`${p.type}\u0000${p.resource}`, p);
    const rows = [...unique.values()];
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      const params: SqlValue[] = [];
      chunk.forEach((p, j) => params.push(cluster, p.type, p.resource, severityRank(p.severity), i + j, now, now, syncId, JSON.stringify(p)));
      await tx.run(
        `INSERT INTO cluster_attack_paths (cluster, path_type, resource, severity_rank, position, first_seen, last_seen, last_sync, body)
         VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
         ON CONFLICT (cluster, path_type, resource) DO UPDATE SET severity_rank = excluded.severity_rank, position = excluded.position, last_seen = excluded.last_seen,
           last_sync = excluded.last_sync, body = excluded.body`,
        params,
      );
    }
    const stale = parseRows(await tx.all('SELECT path_type, resource FROM cluster_attack_paths WHERE cluster = ? AND last_sync <> ?', [cluster, syncId]), z.object({ path_type: text, resource: text }));
    const unreadable = new Set(results.unreadableKinds);
    for (const row of stale) {
      if (unreadable.has(pathKind(row.resource))) continue;
      await tx.run('DELETE FROM cluster_attack_paths WHERE cluster = ? AND path_type = ? AND resource = ?', [cluster, row.path_type, row.resource]);
    }
  };

  /** Replaces the cluster's stored compliance with this audit's. */
  const writeCompliance = async (tx: SqlExecutor, cluster: string, compliance: ComplianceInput, auditedAt: string): Promise<void> => {
    for (const table of ['cluster_compliance', 'cluster_compliance_namespaces', 'cluster_compliance_violations']) await tx.run(`DELETE FROM ${table} WHERE cluster = ?`, [cluster]);
    const insert = async (table: string, columns: string[], rows: SqlValue[][]): Promise<void> => {
      const marks = `(${columns.map(() => '?').join(', ')})`;
      for (let i = 0; i < rows.length; i += CHUNK) {
        const chunk = rows.slice(i, i + CHUNK);
        await tx.run(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${chunk.map(() => marks).join(', ')}`, chunk.flat());
      }
    };
    const unique = [...new Map(compliance.assignments.map((a) => [a.assignment, a])).values()];
    await insert(
      'cluster_compliance',
      ['cluster', 'assignment', 'policy_id', 'title', 'severity', 'effect', 'compliant', 'non_compliant', 'errors', 'unlisted_objects', 'position'],
      unique.map((a, i) => [cluster, a.assignment, a.policyId, a.title, a.severity, a.effect, a.compliant, a.nonCompliant, a.errors, a.unlistedObjects, i]),
    );
    await insert(
      'cluster_compliance_namespaces',
      ['cluster', 'assignment', 'namespace', 'compliant', 'non_compliant'],
      unique.flatMap((a) => [...new Map(a.namespaces.map((n) => [n.namespace, n])).values()].map((n) => [cluster, a.assignment, n.namespace, n.compliant, n.nonCompliant])),
    );
    await insert(
      'cluster_compliance_violations',
      ['cluster', 'assignment', 'position', 'kind', 'namespace', 'name', 'message', 'field'],
      unique.flatMap((a) => a.violations.map((v, i) => [cluster, a.assignment, i, v.kind, v.namespace, v.name, v.message, v.field ?? null])),
    );
    await tx.run('UPDATE cluster_syncs SET compliance = ? WHERE cluster = ?', [JSON.stringify({ auditedAt, objects: compliance.objects, skipped: compliance.skipped }), cluster]);
  };

  return {
    async claimSync(cluster, source, owner, now, options) {
      await db.run(
        `INSERT INTO cluster_syncs (cluster, source, status, problems, counts, duration_ms) VALUES (?, ?, 'never', '[]', '{}', 0)
         ON CONFLICT (cluster) DO UPDATE SET source = excluded.source`,
        [cluster, source],
      );
      const at = now.toISOString();
      const changed = await db.run(
        `UPDATE cluster_syncs SET lease_owner = ?, lease_until = ?, started_at = ?
         WHERE cluster = ? AND (lease_until IS NULL OR lease_until < ?) AND (? = 1 OR started_at IS NULL OR started_at <= ?)`,
        [owner, new Date(now.getTime() + options.leaseMs).toISOString(), at, cluster, at, options.force ? 1 : 0, new Date(now.getTime() - options.intervalMs).toISOString()],
      );
      return changed > 0;
    },

    async extendSync(cluster, owner, until) {
      return (await db.run('UPDATE cluster_syncs SET lease_until = ? WHERE cluster = ? AND lease_owner = ?', [until.toISOString(), cluster, owner])) > 0;
    },

    async finishSync(cluster, owner, syncId, outcome, times) {
      const at = times.finishedAt.toISOString();
      const seenAt = times.seenAt.toISOString();
      return db.transaction(async (tx) => {
        const held = await tx.run(
          `UPDATE cluster_syncs SET lease_owner = NULL, lease_until = NULL, finished_at = ?, status = ?, error = ?, problems = ?, duration_ms = ?,
             succeeded_at = CASE WHEN ? = 1 THEN ? ELSE succeeded_at END
           WHERE cluster = ? AND lease_owner = ?`,
          [at, outcome.status, outcome.error ?? null, JSON.stringify(outcome.problems), Math.round(outcome.durationMs), outcome.results ? 1 : 0, at, cluster, owner],
        );
        if (held === 0) return { committed: false, opened: 0, resolved: 0, counts: countsSchema.parse({}) };
        let opened = 0;
        let resolved = 0;
        if (outcome.results) {
          ({ opened, resolved } = await writeRecommendations(tx, cluster, syncId, outcome.results, seenAt));
          await writePaths(tx, cluster, syncId, outcome.results, seenAt);
          if (outcome.results.compliance) await writeCompliance(tx, cluster, outcome.results.compliance, seenAt);
        }
        const openRecommendations = await count(tx, 'SELECT CAST(COUNT(*) AS INTEGER) AS n FROM cluster_recommendations WHERE cluster = ? AND resolved_at IS NULL', [cluster]);
        const attackPaths = await count(tx, 'SELECT CAST(COUNT(*) AS INTEGER) AS n FROM cluster_attack_paths WHERE cluster = ?', [cluster]);
        // A failed sync keeps the previous inventory counts: they describe the stored results.
        const previous = parseRows(await tx.all('SELECT counts FROM cluster_syncs WHERE cluster = ?', [cluster]), z.object({ counts: text }))[0];
        const base = outcome.results ? outcome.counts : countsSchema.parse(JSON.parse(previous?.counts ?? '{}'));
        const counts: ClusterCounts = { ...countsSchema.parse(base), openRecommendations, attackPaths };
        await tx.run('UPDATE cluster_syncs SET counts = ? WHERE cluster = ?', [JSON.stringify(counts), cluster]);
        return { committed: true, opened, resolved, counts };
      });
    },

    async syncStates(now) {
      const rows = parseRows(
        await db.all('SELECT cluster, source, lease_until, started_at, finished_at, succeeded_at, status, error, problems, counts, duration_ms FROM cluster_syncs ORDER BY cluster'),
        syncRow,
      );
      const at = now.toISOString();
      return rows.map((row) => {
        const state: ClusterSyncState = {
          cluster: row.cluster,
          source: row.source,
          status: row.status,
          running: row.lease_until !== null && row.lease_until >= at,
          problems: z.array(z.string()).parse(JSON.parse(row.problems)),
          counts: countsSchema.parse(JSON.parse(row.counts)),
          durationMs: row.duration_ms,
        };
        if (row.started_at !== null) state.startedAt = row.started_at;
        if (row.finished_at !== null) state.finishedAt = row.finished_at;
        if (row.succeeded_at !== null) state.succeededAt = row.succeeded_at;
        if (row.error !== null) state.error = row.error;
        return state;
      });
    },

    async listRecommendations(filter) {
      const where: string[] = ['cluster = ?'];
      const params: SqlValue[] = [filter.cluster];
      if (filter.severity) {
        where.push('severity = ?');
        params.push(filter.severity);
      }
      if (filter.id) {
        where.push('recommendation_id = ?');
        params.push(filter.id);
      }
      if (filter.namespace !== undefined) {
        where.push('namespace = ?');
        params.push(filter.namespace);
      }
      if (filter.state === 'open') where.push('resolved_at IS NULL');
      if (filter.state === 'resolved') where.push('resolved_at IS NOT NULL');
      const clause = where.join(' AND ');
      const total = await count(db, `SELECT CAST(COUNT(*) AS INTEGER) AS n FROM cluster_recommendations WHERE ${clause}`, params);
      const rows = parseRows(
        await db.all(
          `SELECT cluster, recommendation_id, kind, namespace, name, container, title, severity, category, detail, first_seen, last_seen, resolved_at
           FROM cluster_recommendations WHERE ${clause}
           ORDER BY CASE WHEN resolved_at IS NULL THEN 0 ELSE 1 END, severity_rank DESC, recommendation_id, resource_key LIMIT ? OFFSET ?`,
          [...params, filter.limit, filter.offset],
        ),
        recommendationRow,
      );
      const items = rows.map((row): StoredRecommendation => {
        const item: StoredRecommendation = {
          cluster: row.cluster,
          id: row.recommendation_id,
          title: row.title,
          severity: row.severity,
          category: row.category,
          kind: row.kind,
          namespace: row.namespace,
          name: row.name,
          container: row.container,
          detail: row.detail,
          state: row.resolved_at === null ? 'open' : 'resolved',
          firstSeen: row.first_seen,
          lastSeen: row.last_seen,
        };
        if (row.resolved_at !== null) item.resolvedAt = row.resolved_at;
        return item;
      });
      return { total, items };
    },

    async listAttackPaths(cluster) {
      const rows = parseRows(await db.all('SELECT first_seen, last_seen, body FROM cluster_attack_paths WHERE cluster = ? ORDER BY position, path_type, resource', [cluster]), pathRow);
      return rows.map((row) => ({ ...attackPathSchema.parse(JSON.parse(row.body)), firstSeen: row.first_seen, lastSeen: row.last_seen }));
    },

    async getCompliance(filter) {
      const summaryText = parseRows(await db.all('SELECT compliance FROM cluster_syncs WHERE cluster = ?', [filter.cluster]), z.object({ compliance: optText }))[0]?.compliance ?? null;
      if (summaryText === null) return { cluster: filter.cluster, objects: 0, skipped: {}, assignments: [] };
      const summary = complianceSummary.parse(JSON.parse(summaryText));
      const where = ['cluster = ?'];
      const params: SqlValue[] = [filter.cluster];
      whereEqual(where, params, [
        ['assignment', filter.assignment],
        ['policy_id', filter.policy],
        ['effect', filter.effect],
      ]);
      const rows = parseRows(
        await db.all(`SELECT assignment, policy_id, title, severity, effect, compliant, non_compliant, errors, unlisted_objects FROM cluster_compliance WHERE ${where.join(' AND ')} ORDER BY position`, params),
        complianceRow,
      );
      const ns = filter.namespace !== undefined ? { sql: ' AND namespace = ?', params: [filter.namespace] } : { sql: '', params: [] };
      const namespaces = parseRows(
        await db.all(`SELECT assignment, namespace, compliant, non_compliant FROM cluster_compliance_namespaces WHERE cluster = ?${ns.sql} ORDER BY assignment, namespace`, [filter.cluster, ...ns.params]),
        complianceNamespaceRow,
      );
      // Violations name '' for cluster-scoped objects where the counts say '(cluster)'.
      const violationNs = filter.namespace === '(cluster)' ? { sql: ' AND namespace = ?', params: [''] } : ns;
      const violations = filter.withoutViolations
        ? []
        : parseRows(
            await db.all(`SELECT assignment, kind, namespace, name, message, field FROM cluster_compliance_violations WHERE cluster = ?${violationNs.sql} ORDER BY assignment, position`, [filter.cluster, ...violationNs.params]),
            complianceViolationRow,
          );
      const byAssignment = <T extends { assignment: string }>(list: T[]): Map<string, T[]> => {
        const out = new Map<string, T[]>();
        for (const item of list) out.set(item.assignment, [...(out.get(item.assignment) ?? []), item]);
        return out;
      };
      const nsOf = byAssignment(namespaces);
      const violationsOf = byAssignment(violations);
      const assignments: AssignmentCompliance[] = [];
      for (const row of rows) {
        const rowNamespaces = (nsOf.get(row.assignment) ?? []).map((n) => ({ namespace: n.namespace, compliant: n.compliant, nonCompliant: n.non_compliant }));
        if (filter.namespace !== undefined && rowNamespaces.length === 0) continue;
        const failing = filter.namespace !== undefined ? rowNamespaces.reduce((sum, n) => sum + n.nonCompliant, 0) : row.non_compliant;
        if (filter.nonCompliantOnly && failing === 0) continue;
        assignments.push({
          assignment: row.assignment,
          policyId: row.policy_id,
          title: row.title,
          severity: row.severity,
          effect: row.effect,
          compliant: row.compliant,
          nonCompliant: row.non_compliant,
          errors: row.errors,
          unlistedObjects: row.unlisted_objects,
          namespaces: rowNamespaces,
          violations: (violationsOf.get(row.assignment) ?? []).map((v) => ({ kind: v.kind, namespace: v.namespace, name: v.name, message: v.message, ...(v.field !== null ? { field: v.field } : {}) })),
        });
      }
      return { cluster: filter.cluster, auditedAt: summary.auditedAt, objects: summary.objects, skipped: summary.skipped, assignments };
    },

    async createQuery(input, now) {
      const at = now.toISOString();
      const query: SavedQuery = { id: randomUUID(), ...input, createdAt: at, updatedAt: at, updatedBy: input.author };
      const inserted = await db.run(
        'INSERT INTO explorer_queries (id, name, query, description, author, created_at, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING',
        [query.id, query.name, query.query, query.description, query.author, at, at, query.updatedBy],
      );
      return inserted > 0 ? query : undefined;
    },

    async listQueries() {
      return parseRows(await db.all('SELECT id, name, query, description, author, created_at, updated_at, updated_by FROM explorer_queries ORDER BY name'), queryRow).map(toQuery);
    },

    async getQuery(id) {
      const row = parseRows(await db.all('SELECT id, name, query, description, author, created_at, updated_at, updated_by FROM explorer_queries WHERE id = ?', [id]), queryRow)[0];
      return row ? toQuery(row) : undefined;
    },

    async updateQuery(id, change, by, now) {
      return db.transaction(async (tx) => {
        const row = parseRows(await tx.all('SELECT id, name, query, description, author, created_at, updated_at, updated_by FROM explorer_queries WHERE id = ?', [id]), queryRow)[0];
        if (!row) return undefined;
        const next: SavedQuery = { ...toQuery(row), ...change, updatedAt: now.toISOString(), updatedBy: by };
        if (change.name !== undefined && change.name !== row.name) {
          const taken = await count(tx, 'SELECT CAST(COUNT(*) AS INTEGER) AS n FROM explorer_queries WHERE name = ? AND id <> ?', [change.name, id]);
          if (taken > 0) throw new AppError('CONFLICT', `a saved query named "${change.name}" exists already; choose another name`);
        }
        await tx.run('UPDATE explorer_queries SET name = ?, query = ?, description = ?, updated_at = ?, updated_by = ? WHERE id = ?', [next.name, next.query, next.description, next.updatedAt, by, id]);
        return next;
      });
    },

    async deleteQuery(id) {
      return (await db.run('DELETE FROM explorer_queries WHERE id = ?', [id])) > 0;
    },

    close: () => db.close(),
  };
}

/**
 * Opens the cluster store on `database` (the server's store: a postgres:// URL or a SQLite file) with
 * its own small connection pool, migrating first (a no-op when the main store already did).
 */
export async function openClusterStore(database: string, clock: Clock): Promise<ClusterStore> {
  const driver = /^postgres(ql)?:\/\//.test(database) ? await openPostgresDriver(database, 3) : openSqliteDriver(database);
  try {
    await migrate(driver, clock);
  } catch (error) {
    await driver.close();
    throw error;
  }
  return createClusterStore(driver);
}
