import { z } from 'zod';
import type { AuditRecord } from '../policy/admission.js';
import type { Violation } from '../policy/engine.js';
import { whereEqual, type SqlExecutor, type SqlValue } from './driver.js';
import { parseRows } from './rows.js';

/**
 * The violations the admission webhooks ship (`palisade admission --server`, src/policy/ship.ts):
 * one row per violation of a record (Audit, Warn or Deny) with the request it was found in
 * (migration 5). A violation's identity is (cluster, request uid, its place in the record), so a
 * record resent in a later batch is stored once; a batch's Idempotency-Key is stored once per token.
 */

export const ADMISSION_EFFECTS = ['Audit', 'Warn', 'Deny'] as const;
export type AdmissionEffect = (typeof ADMISSION_EFFECTS)[number];

/** One record of the webhook as it travels (src/policy/admission.ts AuditRecord). */
export const admissionRecordSchema = z.object({
  time: z.iso.datetime({ offset: true }),
  uid: z.string().min(1).max(200),
  operation: z.string().min(1).max(20),
  kind: z.string().min(1).max(200),
  namespace: z.string().max(253),
  name: z.string().max(253),
  user: z.string().max(1000),
  allowed: z.boolean(),
  violations: z
    .array(
      z.object({
        policyId: z.string().min(1).max(200),
        title: z.string().max(1000),
        severity: z.string().min(1).max(20),
        assignment: z.string().min(1).max(200),
        effect: z.enum(ADMISSION_EFFECTS),
        message: z.string().max(65_536),
        field: z.string().max(4096).optional(),
      }),
    )
    .max(500),
  errors: z.array(z.string().max(65_536)).max(500).default([]),
});
export type AdmissionRecordInput = z.infer<typeof admissionRecordSchema>;

export interface AdmissionBatch {
  /** The token's name (admission.tokens). */
  sender: string;
  key: string;
  /** The webhook replica that sent it (the batch's `webhook`). */
  webhook: string;
  cluster: string;
  records: readonly AdmissionRecordInput[];
}

export interface AdmissionBatchResult {
  /** The Idempotency-Key was stored before: nothing was written. */
  duplicate: boolean;
  /** Violation rows written, and rows already stored (a record resent in another batch). */
  stored: number;
  duplicates: number;
}

/** One stored violation: the record's request fields, the violation's, and where it came from. */
export interface StoredAdmissionViolation
  extends Omit<AuditRecord, 'violations' | 'errors'>,
    Pick<Violation, 'policyId' | 'assignment' | 'title' | 'message' | 'field'> {
  cluster: string;
  effect: AdmissionEffect;
  severity: string;
  webhook: string;
  receivedAt: string;
}

export interface AdmissionViolationFilter {
  cluster?: string;
  namespace?: string;
  policy?: string;
  effect?: AdmissionEffect;
  /** Violations whose request was reviewed at or after this time. */
  since?: Date;
  limit: number;
  offset: number;
}

const violationRow = z.object({
  cluster: z.string(),
  uid: z.string(),
  time: z.string(),
  operation: z.string(),
  kind: z.string(),
  namespace: z.string(),
  name: z.string(),
  username: z.string(),
  allowed: z.coerce.number(),
  policy_id: z.string(),
  assignment: z.string(),
  effect: z.enum(ADMISSION_EFFECTS),
  severity: z.string(),
  title: z.string(),
  message: z.string(),
  field: z.string().nullable(),
  webhook: z.string(),
  received_at: z.string(),
});
const countRow = z.object({ n: z.coerce.number() });
const COLUMNS = 'cluster, uid, time, operation, kind, namespace, name, username, allowed, policy_id, assignment, effect, severity, title, message, field, webhook, received_at';
const CHUNK = 100;

/** Stores a batch inside `tx`: its key once per sender, then every violation of its records once. */
export async function insertAdmissionBatchTx(tx: SqlExecutor, batch: AdmissionBatch, receivedAt: Date): Promise<AdmissionBatchResult> {
  const at = receivedAt.toISOString();
  const fresh = await tx.run('INSERT INTO admission_batches (sender, idempotency_key, webhook, records, received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', [
    batch.sender,
    batch.key,
    batch.webhook,
    batch.records.length,
    at,
  ]);
  const total = batch.records.reduce((n, r) => n + r.violations.length, 0);
  if (fresh === 0) return { duplicate: true, stored: 0, duplicates: total };
  const rows: SqlValue[][] = [];
  for (const r of batch.records) {
    r.violations.forEach((v, position) => {
      rows.push([batch.cluster, r.uid, position, new Date(r.time).toISOString(), r.operation, r.kind, r.namespace, r.name, r.user, r.allowed ? 1 : 0, v.policyId, v.assignment, v.effect, v.severity, v.title, v.message, v.field ?? null, batch.sender, batch.webhook, at]);
    });
  }
  let stored = 0;
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    stored += await tx.run(
      `INSERT INTO admission_violations (cluster, uid, position, time, operation, kind, namespace, name, username, allowed, policy_id, assignment, effect, severity, title, message, field, sender, webhook, received_at)
       VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} ON CONFLICT DO NOTHING`,
      chunk.flat(),
    );
  }
  return { duplicate: false, stored, duplicates: total - stored };
}

/** Newest first (review time, then cluster, uid and place in the record). */
export async function listAdmissionViolations(db: SqlExecutor, filter: AdmissionViolationFilter): Promise<{ total: number; items: StoredAdmissionViolation[] }> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  whereEqual(where, params, [
    ['cluster', filter.cluster],
    ['namespace', filter.namespace],
    ['policy_id', filter.policy],
    ['effect', filter.effect],
  ]);
  if (filter.since) {
    where.push('time >= ?');
    params.push(filter.since.toISOString());
  }
  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const total = parseRows(await db.all(`SELECT CAST(COUNT(*) AS INTEGER) AS n FROM admission_violations ${clause}`, params), countRow)[0]?.n ?? 0;
  const rows = parseRows(
    await db.all(`SELECT ${COLUMNS} FROM admission_violations ${clause} ORDER BY time DESC, cluster, uid, position LIMIT ? OFFSET ?`, [...params, filter.limit, filter.offset]),
    violationRow,
  );
  return {
    total,
    items: rows.map((row) => {
      const item: StoredAdmissionViolation = {
        cluster: row.cluster,
        uid: row.uid,
        time: row.time,
        operation: row.operation,
        kind: row.kind,
        namespace: row.namespace,
        name: row.name,
        user: row.username,
        allowed: row.allowed === 1,
        policyId: row.policy_id,
        assignment: row.assignment,
        effect: row.effect,
        severity: row.severity,
        title: row.title,
        message: row.message,
        webhook: row.webhook,
        receivedAt: row.received_at,
      };
      if (row.field !== null) item.field = row.field;
      return item;
    }),
  };
}

/** Deletes violations reviewed before `before` and batch keys received before it; returns the violations deleted. */
export async function pruneAdmissionViolations(db: SqlExecutor, before: Date): Promise<number> {
  const at = before.toISOString();
  await db.run('DELETE FROM admission_batches WHERE received_at < ?', [at]);
  return db.run('DELETE FROM admission_violations WHERE time < ?', [at]);
}
