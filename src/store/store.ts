import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { FIX_STATES, SEVERITIES, severityRank, type Finding, type Severity } from '../core/index.js';
import { insertAdmissionBatchTx, listAdmissionViolations, pruneAdmissionViolations } from './admission.js';
import { whereEqual, type SqlDriver, type SqlExecutor, type SqlValue } from './driver.js';
import type { Alert } from '../threat/alert.js';
import { alertRow, alertSchema, disableCriteriaSchema, disableRuleRow, findingSchema, imageRow, jobRow, parseRows, sbomBodySchema, scanRow } from './rows.js';
import type {
  AlertInsertOptions,
  AlertInsertResult,
  DisableApplication,
  DisableCriteria,
  DisableRule,
  ImageRecord,
  Job,
  JobState,
  RunningImage,
  ScanRecord,
  SeverityCounts,
  Store,
  StoredAlert,
  StoredFinding,
} from './types.js';

/**
 * The one Store implementation over a SqlDriver: SQLite (embedded, WAL) or PostgreSQL. Where the two
 * differ is the job claim: PostgreSQL locks the chosen row with FOR UPDATE SKIP LOCKED so replicas
 * never wait on each other; SQLite serialises writers with BEGIN IMMEDIATE, and the lease columns
 * (owner, until) make the same guarantees: one holder at a time, an expired lease is taken over.
 */

/** Count columns of images: `visible_*` leave out what disable rules hide; the unprefixed ones count every finding. */
function countPrefix(includeDisabled: boolean | undefined): string {
  return includeDisabled ? '' : 'visible_';
}

function imageColumns(includeDisabled: boolean | undefined): string {
  const p = countPrefix(includeDisabled);
  return `i.digest, i.registry, i.repository, i.first_seen_at, i.pushed_at, i.pulled_at, i.status, i.error, i.distro, i.platform,
  i.package_count, i.scanned_at, i.evaluated_at, i.${p}critical AS critical, i.${p}high AS high, i.${p}medium AS medium, i.${p}low AS low,
  i.${p}other AS other, i.${p}fixable AS fixable, i.disabled_findings,
  CASE WHEN EXISTS (SELECT 1 FROM running_images r WHERE r.digest = i.digest) THEN 1 ELSE 0 END AS running`;
}

function optional(value: string | null): string | undefined {
  return value === null ? undefined : value;
}

function toImage(row: z.infer<typeof imageRow>): ImageRecord {
  const record: ImageRecord = {
    digest: row.digest,
    registry: row.registry,
    repository: row.repository,
    tags: row.tags ? [...new Set(row.tags.split(','))].filter((t) => t.length > 0).sort() : [],
    firstSeenAt: row.first_seen_at,
    status: row.status,
    packageCount: row.package_count,
    counts: { critical: row.critical, high: row.high, medium: row.medium, low: row.low, other: row.other },
    fixable: row.fixable,
    disabled: row.disabled_findings,
    running: row.running === 1,
  };
  const opt = {
    pushedAt: optional(row.pushed_at),
    pulledAt: optional(row.pulled_at),
    error: optional(row.error),
    distro: optional(row.distro),
    platform: optional(row.platform),
    scannedAt: optional(row.scanned_at),
    evaluatedAt: optional(row.evaluated_at),
  };
  for (const [key, value] of Object.entries(opt)) if (value !== undefined) Object.assign(record, { [key]: value });
  return record;
}

function toJob(row: z.infer<typeof jobRow>): Job {
  const job: Job = {
    id: row.id,
    kind: row.kind,
    digest: row.digest,
    registry: row.registry,
    repository: row.repository,
    forcePull: row.force_pull === 1,
    state: row.state,
    attempts: row.attempts,
    createdAt: row.created_at,
  };
  if (row.lease_owner !== null) job.leaseOwner = row.lease_owner;
  if (row.lease_until !== null) job.leaseUntil = row.lease_until;
  if (row.last_error !== null) job.lastError = row.last_error;
  return job;
}

function toScan(row: z.infer<typeof scanRow>): ScanRecord {
  const scan: ScanRecord = {
    id: row.id,
    digest: row.digest,
    kind: row.kind,
    status: row.status,
    worker: row.worker,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: row.duration_ms,
    findings: row.findings,
  };
  if (row.db_built_at !== null) scan.dbBuiltAt = row.db_built_at;
  if (row.error !== null) scan.error = row.error;
  return scan;
}

function toRule(row: z.infer<typeof disableRuleRow>): DisableRule {
  const rule: DisableRule = {
    id: row.id,
    name: row.name,
    criteria: disableCriteriaSchema.parse(JSON.parse(row.criteria)),
    justification: row.justification,
    author: row.author,
    createdAt: row.created_at,
  };
  if (row.expires_at !== null) rule.expiresAt = row.expires_at;
  if (row.revoked_at !== null) rule.revokedAt = row.revoked_at;
  if (row.revoked_by !== null) rule.revokedBy = row.revoked_by;
  return rule;
}

function toStoredAlert(row: z.infer<typeof alertRow>): StoredAlert {
  const body = alertSchema.parse(JSON.parse(row.body));
  const alert: StoredAlert = { ...body, time: row.first_seen, lastSeen: row.last_seen, count: row.count, status: row.status, receivedAt: row.received_at };
  if (row.status_changed_at !== null) alert.statusChangedAt = row.status_changed_at;
  if (row.status_changed_by !== null) alert.statusChangedBy = row.status_changed_by;
  return alert;
}

/** The JSON kept in alerts.body: the alert without its mutable columns' authority (status, count, times are columns). */
function alertBody(alert: Alert): string {
  return JSON.stringify(alert);
}

const ALERT_COLUMNS = 'id, status, first_seen, last_seen, count, received_at, status_changed_at, status_changed_by, body';

/**
 * Stores alerts inside `tx`: an id seen before is a duplicate; a repeat of a stored `new` alert of
 * the same group first seen within the window joins it (count, last seen, evidence up to the cap);
 * anything else is a new row.
 */
async function insertAlertsTx(tx: SqlExecutor, alerts: readonly Alert[], options: AlertInsertOptions): Promise<AlertInsertResult> {
  const result: AlertInsertResult = { inserted: 0, merged: 0, duplicates: 0 };
  const receivedAt = options.receivedAt.toISOString();
  for (const alert of alerts) {
    const firstMs = Date.parse(alert.time);
    const group = Number.isNaN(firstMs)
      ? []
      : parseRows(
          await tx.all(
            `SELECT ${ALERT_COLUMNS} FROM alerts WHERE group_key = ? AND status = 'new' AND first_seen >= ? AND first_seen <= ? ORDER BY first_seen DESC, id LIMIT 1`,
            [alert.groupKey, new Date(firstMs - options.windowMs).toISOString(), new Date(firstMs + options.windowMs).toISOString()],
          ),
          alertRow,
        );
    const target = group[0];
    const claimed = await tx.run('INSERT INTO alert_occurrences (id, alert_id) VALUES (?, ?) ON CONFLICT DO NOTHING', [alert.id, target?.id ?? alert.id]);
    if (claimed === 0) {
      result.duplicates += 1;
      continue;
    }
    if (target !== undefined) {
      const stored = alertSchema.parse(JSON.parse(target.body));
      const evidence = [...stored.evidence, ...alert.evidence].slice(0, options.maxEvidence);
      const ips = [...stored.subject.sourceIPs];
      for (const ip of alert.subject.sourceIPs) if (!ips.includes(ip) && ips.length < 16) ips.push(ip);
      const first = alert.time < target.first_seen ? alert.time : target.first_seen;
      const last = alert.lastSeen > target.last_seen ? alert.lastSeen : target.last_seen;
      const body = alertBody({ ...stored, evidence, subject: { ...stored.subject, sourceIPs: ips } });
      await tx.run('UPDATE alerts SET count = count + ?, first_seen = ?, last_seen = ?, body = ? WHERE id = ?', [alert.count, first, last, body, target.id]);
      result.merged += 1;
      continue;
    }
    const body = alertBody({ ...alert, evidence: alert.evidence.slice(0, options.maxEvidence), status: 'new' });
    await tx.run(
      `INSERT INTO alerts (id, group_key, rule, severity, source, cluster, node, first_seen, last_seen, count, status, received_at, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?)`,
      [alert.id, alert.groupKey, alert.rule, alert.severity, alert.source, alert.cluster ?? '', alert.target.node ?? null, alert.time, alert.lastSeen, alert.count, receivedAt, body],
    );
    result.inserted += 1;
  }
  return result;
}

/** JSON with object keys sorted at every level (undefined members dropped, as JSON.stringify does). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = Reflect.get(v, k);
    return sorted;
  });
}

export function findingKey(finding: Finding): string {
  return `${finding.advisoryId}|${finding.package.purl}`;
}

export function countSeverities(findings: readonly Finding[]): SeverityCounts & { fixable: number; maxRank: number } {
  const counts = { critical: 0, high: 0, medium: 0, low: 0, other: 0, fixable: 0, maxRank: -1 };
  for (const f of findings) {
    if (f.severity === 'critical' || f.severity === 'high' || f.severity === 'medium' || f.severity === 'low') counts[f.severity]++;
    else counts.other++;
    if (f.fixedVersions.length > 0) counts.fixable++;
    counts.maxRank = Math.max(counts.maxRank, severityRank(f.severity));
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Disable rules: which findings they hide, and the marks kept on stored findings

/** What a disable rule looks at in a finding (a stored row has these columns). */
export type RuleSubject = Pick<Finding, 'advisoryId' | 'aliases' | 'namespace' | 'severity' | 'fixState'>;
export interface RuleImage {
  digest: string;
  repository: string;
  registry: string;
}

/** Revoked and expired rules hide nothing. */
export function ruleActive(rule: DisableRule, now: Date): boolean {
  if (rule.revokedAt) return false;
  return rule.expiresAt === undefined || Date.parse(rule.expiresAt) > now.getTime();
}

/** A rule matches when every criterion it sets matches. */
export function ruleMatches(rule: DisableRule, finding: RuleSubject, image: RuleImage): boolean {
  const c = rule.criteria;
  if (c.cves && !c.cves.some((id) => id === finding.advisoryId || finding.aliases.includes(id))) return false;
  if (c.digests && !c.digests.includes(image.digest)) return false;
  if (c.repositories && !c.repositories.some((r) => r === image.repository || r === `${image.registry}/${image.repository}`)) return false;
  if (c.osReleases && !c.osReleases.includes(finding.namespace)) return false;
  if (c.severityBelow && !(severityRank(finding.severity) < severityRank(c.severityBelow))) return false;
  if (c.fixStates && !c.fixStates.includes(finding.fixState)) return false;
  return true;
}

/** The rule that hides a finding: the first active one, oldest first (the order listDisableRules returns). */
export function hidingRule(active: readonly DisableRule[], finding: RuleSubject, image: RuleImage): DisableRule | undefined {
  return active.find((rule) => ruleMatches(rule, finding, image));
}

function aliasesColumn(aliases: readonly string[]): string {
  return aliases.length > 0 ? `|${aliases.join('|')}|` : '';
}

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

function likeContaining(value: string): string {
  return `%${value.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

/**
 * The findings a rule can hide, as SQL over `findings f JOIN images i`. The same criteria as
 * ruleMatches (which still decides): it only keeps the store from reading every finding.
 */
function criteriaSql(c: DisableCriteria): { sql: string; params: SqlValue[] } {
  const parts: string[] = [];
  const params: SqlValue[] = [];
  if (c.cves) {
    parts.push(`(f.advisory_id IN (${placeholders(c.cves.length)})${c.cves.map(() => " OR f.aliases LIKE ? ESCAPE '\\'").join('')})`);
    params.push(...c.cves, ...c.cves.map((id) => likeContaining(`|${id}|`)));
  }
  if (c.digests) {
    parts.push(`f.digest IN (${placeholders(c.digests.length)})`);
    params.push(...c.digests);
  }
  if (c.repositories) {
    parts.push(`(i.repository IN (${placeholders(c.repositories.length)}) OR (i.registry || '/' || i.repository) IN (${placeholders(c.repositories.length)}))`);
    params.push(...c.repositories, ...c.repositories);
  }
  if (c.osReleases) {
    parts.push(`f.namespace IN (${placeholders(c.osReleases.length)})`);
    params.push(...c.osReleases);
  }
  if (c.severityBelow) {
    parts.push('f.severity_rank < ?');
    params.push(severityRank(c.severityBelow));
  }
  if (c.fixStates) {
    parts.push(`f.fix_state IN (${placeholders(c.fixStates.length)})`);
    params.push(...c.fixStates);
  }
  return { sql: parts.length > 0 ? parts.join(' AND ') : '1 = 1', params };
}

/**
 * PostgreSQL: rule changes take this advisory lock exclusively, scans that store findings take it
 * shared, so a rule is never applied while a scan that read the rules before it is still storing.
 * SQLite needs none: BEGIN IMMEDIATE already runs one writer at a time.
 */
const RULES_LOCK = 7_310_422;

async function lockRules(tx: SqlExecutor, mode: 'shared' | 'exclusive'): Promise<void> {
  if (tx.dialect === 'postgres') await tx.all(`SELECT pg_advisory_xact_lock${mode === 'shared' ? '_shared' : ''}(${RULES_LOCK}) AS locked`);
}

/** Meta key set once every stored finding was marked (the first application after migration 3; the migration sets it for a store without findings). */
const MARKED_KEY = 'disable-rules:marked';
/** Images per page when marks are re-applied; rows per UPDATE … FROM (VALUES …) (4 parameters each). */
const REMARK_PAGE = 500;
const UPDATE_BATCH = 250;
const RECOUNT_BATCH = 200;

const candidateRow = z.object({
  digest: z.string(),
  advisory_id: z.string(),
  purl: z.string(),
  aliases: z.string().nullable(),
  namespace: z.string(),
  severity: z.enum(SEVERITIES),
  fix_state: z.enum(FIX_STATES),
  disabled_by: z.string().nullable(),
});
const imageKeyRow = z.object({ digest: z.string(), registry: z.string(), repository: z.string() });
const aliasesBody = z.object({ aliases: z.array(z.string()) });

async function loadRules(tx: SqlExecutor, where: string): Promise<DisableRule[]> {
  return parseRows(await tx.all(`SELECT * FROM disable_rules WHERE ${where} ORDER BY created_at, id`), disableRuleRow).map(toRule);
}

async function activeRules(tx: SqlExecutor, now: Date): Promise<DisableRule[]> {
  return (await loadRules(tx, 'revoked_at IS NULL')).filter((rule) => ruleActive(rule, now));
}

/** Rules that stopped hiding (revoked, expired) whose marks are not lifted yet. */
async function dueForRelease(tx: SqlExecutor, now: Date): Promise<DisableRule[]> {
  return (await loadRules(tx, 'released_at IS NULL')).filter((rule) => !ruleActive(rule, now));
}

/** Sets one column of findings by key, many rows per statement. */
async function updateFindings(tx: SqlExecutor, column: 'disabled_by' | 'aliases', rows: readonly (readonly [string, string, string, string | null])[]): Promise<number> {
  let changed = 0;
  for (let i = 0; i < rows.length; i += UPDATE_BATCH) {
    const chunk = rows.slice(i, i + UPDATE_BATCH);
    changed += await tx.run(
      `UPDATE findings SET ${column} = v.column4 FROM (VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')}) AS v
       WHERE findings.digest = v.column1 AND findings.advisory_id = v.column2 AND findings.purl = v.column3`,
      chunk.flat(),
    );
  }
  return changed;
}

/** Recounts the visible_* and disabled_findings columns of images from their stored findings. */
async function recountVisible(tx: SqlExecutor, digests: readonly string[]): Promise<void> {
  const shown = 'FROM findings f WHERE f.digest = images.digest AND f.disabled_by IS NULL';
  for (let i = 0; i < digests.length; i += RECOUNT_BATCH) {
    const chunk = digests.slice(i, i + RECOUNT_BATCH);
    await tx.run(
      `UPDATE images SET
         visible_critical = (SELECT COUNT(*) ${shown} AND f.severity = 'critical'),
         visible_high = (SELECT COUNT(*) ${shown} AND f.severity = 'high'),
         visible_medium = (SELECT COUNT(*) ${shown} AND f.severity = 'medium'),
         visible_low = (SELECT COUNT(*) ${shown} AND f.severity = 'low'),
         visible_other = (SELECT COUNT(*) ${shown} AND f.severity NOT IN ('critical', 'high', 'medium', 'low')),
         visible_fixable = (SELECT COUNT(*) ${shown} AND f.fixable = 1),
         visible_max_rank = (SELECT COALESCE(MAX(f.severity_rank), -1) ${shown}),
         disabled_findings = (SELECT COUNT(*) FROM findings f WHERE f.digest = images.digest AND f.disabled_by IS NOT NULL)
       WHERE digest IN (${placeholders(chunk.length)})`,
      chunk,
    );
  }
}

/**
 * Re-decides the mark of the stored findings in `scope` (all when undefined) under the rules active
 * at `now`, page by page of images, and recounts the images whose marks changed (every image when
 * `recountAll`). Returns the findings and images whose marks changed. Runs inside the caller's transaction.
 */
async function remark(tx: SqlExecutor, now: Date, scope: { sql: string; params: SqlValue[] } | undefined, recountAll = false): Promise<DisableApplication> {
  const active = await activeRules(tx, now);
  const touched = new Set<string>();
  const recount = new Set<string>();
  let findings = 0;
  let after = '';
  for (;;) {
    const page = parseRows(await tx.all('SELECT digest, registry, repository FROM images WHERE digest > ? ORDER BY digest LIMIT ?', [after, REMARK_PAGE]), imageKeyRow);
    const last = page[page.length - 1];
    if (!last) break;
    after = last.digest;
    const images = new Map(page.map((image) => [image.digest, image]));
    if (recountAll) for (const image of page) recount.add(image.digest);
    const rows = parseRows(
      await tx.all(
        `SELECT f.digest, f.advisory_id, f.purl, f.aliases, f.namespace, f.severity, f.fix_state, f.disabled_by FROM findings f JOIN images i ON i.digest = f.digest
         WHERE f.digest IN (${placeholders(page.length)})${scope ? ` AND (${scope.sql})` : ''}`,
        [...page.map((image) => image.digest), ...(scope?.params ?? [])],
      ),
      candidateRow,
    );
    const changes: (readonly [string, string, string, string | null])[] = [];
    for (const row of rows) {
      const image = images.get(row.digest);
      if (!image) continue;
      const subject: RuleSubject = {
        advisoryId: row.advisory_id,
        aliases: (row.aliases ?? '').split('|').filter((a) => a.length > 0),
        namespace: row.namespace,
        severity: row.severity,
        fixState: row.fix_state,
      };
      const mark = hidingRule(active, subject, image)?.id ?? null;
      if (mark === row.disabled_by) continue;
      changes.push([row.digest, row.advisory_id, row.purl, mark]);
      touched.add(row.digest);
      recount.add(row.digest);
    }
    findings += await updateFindings(tx, 'disabled_by', changes);
  }
  await recountVisible(tx, [...recount]);
  return { findings, images: touched.size };
}

async function release(tx: SqlExecutor, ids: readonly string[], now: Date): Promise<void> {
  if (ids.length > 0) await tx.run(`UPDATE disable_rules SET released_at = ? WHERE id IN (${placeholders(ids.length)})`, [now.toISOString(), ...ids]);
}

async function isMarked(db: SqlExecutor): Promise<boolean> {
  return parseRows(await db.all('SELECT value FROM meta WHERE key = ?', [MARKED_KEY]), z.object({ value: z.string() })).length > 0;
}

/** The first application after migration 3: fill the aliases of older rows, mark every finding, recount every image. */
async function markAll(tx: SqlExecutor, now: Date): Promise<DisableApplication & { released: string[] }> {
  for (;;) {
    const rows = parseRows(
      await tx.all('SELECT digest, advisory_id, purl, body FROM findings WHERE aliases IS NULL ORDER BY digest, advisory_id, purl LIMIT ?', [REMARK_PAGE]),
      z.object({ digest: z.string(), advisory_id: z.string(), purl: z.string(), body: z.string() }),
    );
    if (rows.length === 0) break;
    const filled = await updateFindings(
      tx,
      'aliases',
      rows.map((r) => [r.digest, r.advisory_id, r.purl, aliasesColumn(aliasesBody.parse(JSON.parse(r.body)).aliases)] as const),
    );
    if (filled === 0) break;
  }
  const result = await remark(tx, now, undefined, true);
  const released = (await dueForRelease(tx, now)).map((rule) => rule.id);
  await release(tx, released, now);
  await tx.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [MARKED_KEY, now.toISOString()]);
  return { ...result, released };
}

/** Rows per multi-row INSERT (15 parameters each, well under both databases' parameter limits). */
const INSERT_BATCH = 100;

/** Running-image rows per multi-row INSERT (7 parameters each). */
const RUNNING_BATCH = 500;

const countRow = z.object({ n: z.coerce.number() });
const valueRow = z.object({ value: z.string() });
const digestRow = z.object({ digest: z.string() });

async function count(db: SqlExecutor, sql: string, params: SqlValue[] = []): Promise<number> {
  const rows = parseRows(await db.all(sql, params), countRow);
  return rows[0]?.n ?? 0;
}

export function createSqlStore(db: SqlDriver): Store {
  const skipLocked = db.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';

  const claimOne = async (tx: SqlExecutor, owner: string, leaseMs: number, now: Date): Promise<Job | undefined> => {
    const at = now.toISOString();
    const candidates = parseRows(
      await tx.all(
        `SELECT id FROM jobs WHERE (state = 'queued' AND run_after <= ?) OR (state = 'running' AND lease_until < ?)
         ORDER BY run_after, created_at LIMIT 1${skipLocked}`,
        [at, at],
      ),
      z.object({ id: z.string() }),
    );
    const id = candidates[0]?.id;
    if (!id) return undefined;
    const rows = parseRows(
      await tx.all(
        `UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
         WHERE id = ? RETURNING id, kind, digest, registry, repository, force_pull, state, attempts, lease_owner, lease_until, created_at, last_error`,
        [owner, new Date(now.getTime() + leaseMs).toISOString(), at, id],
      ),
      jobRow,
    );
    return rows[0] ? toJob(rows[0]) : undefined;
  };

  const store: Store = {
    dialect: db.dialect,

    async recordPush(ref, at) {
      const when = at.toISOString();
      return db.transaction(async (tx) => {
        const inserted = await tx.run(
          `INSERT INTO images (digest, registry, repository, first_seen_at, pushed_at, status) VALUES (?, ?, ?, ?, ?, 'pending') ON CONFLICT DO NOTHING`,
          [ref.digest, ref.registry, ref.repository, when, when],
        );
        if (inserted === 0) {
          await tx.run('UPDATE images SET pushed_at = ? WHERE digest = ? AND (pushed_at IS NULL OR pushed_at < ?)', [when, ref.digest, when]);
        }
        await tx.run(
          `INSERT INTO image_refs (registry, repository, tag, digest, pushed_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (registry, repository, tag, digest) DO UPDATE SET pushed_at = excluded.pushed_at`,
          [ref.registry, ref.repository, ref.tag ?? '', ref.digest, when],
        );
        return inserted > 0;
      });
    },

    async recordPull(digest, at) {
      const when = at.toISOString();
      return (await db.run('UPDATE images SET pulled_at = ? WHERE digest = ? AND (pulled_at IS NULL OR pulled_at < ?)', [when, digest, when])) > 0;
    },

    async enqueue(job, now) {
      const id = randomUUID();
      const at = now.toISOString();
      const created = await db.run(
        `INSERT INTO jobs (id, kind, digest, registry, repository, force_pull, state, attempts, run_after, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?) ON CONFLICT DO NOTHING`,
        [id, job.kind, job.digest, job.registry, job.repository, job.forcePull ? 1 : 0, at, at, at],
      );
      if (created > 0) return { id, created: true };
      const active = await store.activeJob(job.digest);
      return { id: active?.id ?? id, created: false };
    },

    async claim(owner, leaseMs, now, maxAttempts) {
      for (;;) {
        const job = await db.transaction((tx) => claimOne(tx, owner, leaseMs, now));
        if (!job) return undefined;
        if (job.attempts <= maxAttempts) return job;
        // A job that kept losing its worker (crashes, kills) fails for good instead of looping.
        await store.failAttempt(job, owner, job.lastError ?? `gave up after ${maxAttempts} attempts (worker lost each time)`, now.toISOString(), now, undefined);
      }
    },

    async extendLease(jobId, owner, until) {
      return (await db.run(`UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = 'running'`, [until.toISOString(), jobId, owner])) > 0;
    },

    async finishScan(job, owner, result, now) {
      const at = now.toISOString();
      return db.transaction(async (tx) => {
        await lockRules(tx, 'shared');
        const mine = await tx.run(`UPDATE jobs SET state = 'done', updated_at = ?, last_error = NULL WHERE id = ? AND lease_owner = ? AND state = 'running'`, [
          at,
          job.id,
          owner,
        ]);
        if (mine === 0) return { committed: false, newFindings: [] };
        // Findings are marked with the rule that hides them as they are stored (the image as recorded at its first push).
        const rules = await activeRules(tx, now);
        const recorded = parseRows(await tx.all('SELECT digest, registry, repository FROM images WHERE digest = ?', [job.digest]), imageKeyRow)[0];
        const image: RuleImage = recorded ?? { digest: job.digest, registry: job.registry, repository: job.repository };
        // Write only what changed: a re-match after a DB update mostly confirms what is stored.
        const previous = new Map(
          parseRows(
            await tx.all('SELECT advisory_id, purl, first_seen_at, body, disabled_by FROM findings WHERE digest = ?', [job.digest]),
            z.object({ advisory_id: z.string(), purl: z.string(), first_seen_at: z.string(), body: z.string(), disabled_by: z.string().nullable() }),
          ).map((r) => [`${r.advisory_id}|${r.purl}`, r]),
        );
        const newFindings: Finding[] = [];
        const seen = new Set<string>();
        const stored: Finding[] = [];
        const shown: Finding[] = [];
        const inserts: SqlValue[][] = [];
        const remarks: (readonly [string, string, string, string | null])[] = [];
        for (const f of result.findings) {
          const key = findingKey(f);
          if (seen.has(key)) continue;
          seen.add(key);
          stored.push(f);
          const mark = hidingRule(rules, f, image)?.id ?? null;
          if (mark === null) shown.push(f);
          // Canonical form (sorted keys), so an unchanged finding compares equal to what was stored.
          const body = canonicalJson(f);
          const before = previous.get(key);
          if (before === undefined) newFindings.push(f);
          else if (before.body === body) {
            if (before.disabled_by !== mark) remarks.push([job.digest, f.advisoryId, f.package.purl, mark]);
            continue;
          } else await tx.run('DELETE FROM findings WHERE digest = ? AND advisory_id = ? AND purl = ?', [job.digest, f.advisoryId, f.package.purl]);
          inserts.push([
            job.digest,
            f.advisoryId,
            f.package.purl,
            f.package.name,
            f.severity,
            severityRank(f.severity),
            f.fixState,
            f.fixedVersions.length > 0 ? 1 : 0,
            f.kev ? 1 : 0,
            f.epss?.score ?? null,
            f.namespace,
            before?.first_seen_at ?? at,
            body,
            mark,
            aliasesColumn(f.aliases),
          ]);
        }
        await updateFindings(tx, 'disabled_by', remarks);
        for (const [key, row] of previous) {
          if (!seen.has(key)) await tx.run('DELETE FROM findings WHERE digest = ? AND advisory_id = ? AND purl = ?', [job.digest, row.advisory_id, row.purl]);
        }
        for (let i = 0; i < inserts.length; i += INSERT_BATCH) {
          const chunk = inserts.slice(i, i + INSERT_BATCH);
          await tx.run(
            `INSERT INTO findings (digest, advisory_id, purl, package_name, severity, severity_rank, fix_state, fixable, kev, epss, namespace, first_seen_at, body, disabled_by, aliases)
             VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
            chunk.flat(),
          );
        }
        const c = countSeverities(stored);
        const v = countSeverities(shown);
        const common: SqlValue[] = [at, c.critical, c.high, c.medium, c.low, c.other, c.fixable, c.maxRank, v.critical, v.high, v.medium, v.low, v.other, v.fixable, v.maxRank, stored.length - shown.length];
        const counted = `critical = ?, high = ?, medium = ?, low = ?, other = ?, fixable = ?, max_rank = ?, visible_critical = ?, visible_high = ?, visible_medium = ?,
             visible_low = ?, visible_other = ?, visible_fixable = ?, visible_max_rank = ?, disabled_findings = ?`;
        if (result.sbom) {
          const distro = result.sbom.distro ? `${result.sbom.distro.id}:${result.sbom.distro.versionId}` : null;
          await tx.run(
            `UPDATE images SET status = 'done', error = NULL, evaluated_at = ?, ${counted},
             scanned_at = ?, distro = ?, platform = ?, package_count = ? WHERE digest = ?`,
            [...common, at, distro, result.sbom.platform ?? null, result.sbom.packages.length, job.digest],
          );
          await tx.run('INSERT INTO sboms (digest, created_at, body) VALUES (?, ?, ?) ON CONFLICT (digest) DO UPDATE SET created_at = excluded.created_at, body = excluded.body', [
            job.digest,
            at,
            JSON.stringify({ distro: result.sbom.distro, packages: result.sbom.packages }),
          ]);
        } else {
          await tx.run(
            `UPDATE images SET status = 'done', error = NULL, evaluated_at = ?, ${counted} WHERE digest = ?`,
            [...common, job.digest],
          );
        }
        await tx.run(
          `INSERT INTO scans (id, digest, kind, status, worker, started_at, finished_at, duration_ms, findings, db_built_at, error) VALUES (?, ?, ?, 'done', ?, ?, ?, ?, ?, ?, NULL)`,
          [randomUUID(), job.digest, result.kind, result.worker, result.startedAt, at, Math.max(0, now.getTime() - Date.parse(result.startedAt)), seen.size, result.dbBuiltAt ?? null],
        );
        return { committed: true, newFindings };
      });
    },

    async failAttempt(job, owner, error, startedAt, now, retryAt) {
      const at = now.toISOString();
      await db.transaction(async (tx) => {
        if (retryAt) {
          await tx.run(`UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, run_after = ?, updated_at = ?, last_error = ? WHERE id = ? AND lease_owner = ?`, [
            retryAt.toISOString(),
            at,
            error,
            job.id,
            owner,
          ]);
          return;
        }
        const mine = await tx.run(`UPDATE jobs SET state = 'failed', updated_at = ?, last_error = ? WHERE id = ? AND lease_owner = ? AND state = 'running'`, [at, error, job.id, owner]);
        if (mine === 0) return;
        // A failed re-match keeps the image's last good result; a failed pull marks the image failed.
        if (job.kind === 'scan') await tx.run(`UPDATE images SET status = 'failed', error = ? WHERE digest = ? AND status <> 'done'`, [error, job.digest]);
        await tx.run(
          `INSERT INTO scans (id, digest, kind, status, worker, started_at, finished_at, duration_ms, findings, db_built_at, error) VALUES (?, ?, ?, 'failed', ?, ?, ?, ?, 0, NULL, ?)`,
          [randomUUID(), job.digest, job.kind === 'scan' ? 'pull' : 'rematch', owner, startedAt, at, Math.max(0, now.getTime() - Date.parse(startedAt)), error],
        );
      });
    },

    async queueDepth() {
      const rows = parseRows(await db.all('SELECT state, CAST(COUNT(*) AS INTEGER) AS n FROM jobs GROUP BY state'), z.object({ state: z.string(), n: z.coerce.number() }));
      const depth: Record<JobState, number> = { queued: 0, running: 0, done: 0, failed: 0 };
      for (const r of rows) if (r.state === 'queued' || r.state === 'running' || r.state === 'done' || r.state === 'failed') depth[r.state] = r.n;
      return depth;
    },

    async job(id) {
      const rows = parseRows(await db.all('SELECT * FROM jobs WHERE id = ?', [id]), jobRow);
      return rows[0] ? toJob(rows[0]) : undefined;
    },

    async activeJob(digest) {
      const rows = parseRows(await db.all(`SELECT * FROM jobs WHERE digest = ? AND state IN ('queued', 'running') ORDER BY created_at LIMIT 1`, [digest]), jobRow);
      return rows[0] ? toJob(rows[0]) : undefined;
    },

    async getImage(digest, options = {}) {
      const rows = parseRows(
        await db.all(
          `SELECT ${imageColumns(options.includeDisabled)}, (SELECT ${db.dialect === 'postgres' ? "string_agg(t.tag, ',')" : "group_concat(t.tag, ',')"} FROM image_refs t WHERE t.digest = i.digest) AS tags FROM images i WHERE i.digest = ?`,
          [digest],
        ),
        imageRow,
      );
      return rows[0] ? toImage(rows[0]) : undefined;
    },

    async getSbom(digest) {
      const rows = parseRows(await db.all('SELECT body FROM sboms WHERE digest = ?', [digest]), z.object({ body: z.string() }));
      const row = rows[0];
      if (!row) return undefined;
      const parsed = sbomBodySchema.parse(JSON.parse(row.body));
      return parsed.distro ? { distro: parsed.distro, packages: parsed.packages } : { packages: parsed.packages };
    },

    async listImages(filter) {
      const where: string[] = [];
      const params: SqlValue[] = [];
      if (filter.registry) {
        where.push('i.registry = ?');
        params.push(filter.registry);
      }
      if (filter.repository) {
        where.push('i.repository = ?');
        params.push(filter.repository);
      }
      if (filter.tag) {
        where.push('i.digest IN (SELECT t.digest FROM image_refs t WHERE t.tag = ?)');
        params.push(filter.tag);
      }
      const p = countPrefix(filter.includeDisabled);
      if (filter.minSeverity) {
        where.push(`i.${p}max_rank >= ?`);
        params.push(severityRank(filter.minSeverity));
      }
      if (filter.fixAvailable !== undefined) where.push(filter.fixAvailable ? `i.${p}fixable > 0` : `i.${p}fixable = 0`);
      if (filter.running !== undefined) where.push(`i.digest ${filter.running ? '' : 'NOT '}IN (SELECT r.digest FROM running_images r)`);
      if (filter.status) {
        where.push('i.status = ?');
        params.push(filter.status);
      }
      const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
      const total = await count(db, `SELECT CAST(COUNT(*) AS INTEGER) AS n FROM images i ${clause}`, params);
      const agg = db.dialect === 'postgres' ? "string_agg(t.tag, ',')" : "group_concat(t.tag, ',')";
      // The page is chosen first (index order, no per-row subqueries), then decorated: PostgreSQL
      // would otherwise evaluate the select list for every row skipped by OFFSET.
      const rows = parseRows(
        await db.all(
          `SELECT ${imageColumns(filter.includeDisabled)}, (SELECT ${agg} FROM image_refs t WHERE t.digest = i.digest) AS tags
           FROM (SELECT i.digest AS page_digest FROM images i ${clause} ORDER BY i.pushed_at DESC, i.digest DESC LIMIT ? OFFSET ?) page
           JOIN images i ON i.digest = page.page_digest
           ORDER BY i.pushed_at DESC, i.digest DESC`,
          [...params, filter.limit, filter.offset],
        ),
        imageRow,
      );
      return { total, items: rows.map(toImage) };
    },

    async findings(digest) {
      const rows = parseRows(
        await db.all('SELECT body, first_seen_at, disabled_by FROM findings WHERE digest = ? ORDER BY severity_rank DESC, advisory_id, purl', [digest]),
        z.object({ body: z.string(), first_seen_at: z.string(), disabled_by: z.string().nullable() }),
      );
      return rows.map((r): StoredFinding => ({
        finding: findingSchema.parse(JSON.parse(r.body)),
        firstSeenAt: r.first_seen_at,
        ...(r.disabled_by !== null ? { disabledBy: r.disabled_by } : {}),
      }));
    },

    async scans(digest) {
      return parseRows(await db.all('SELECT * FROM scans WHERE digest = ? ORDER BY finished_at DESC, id', [digest]), scanRow).map(toScan);
    },

    async resolveTag(registry, repository, tag) {
      const rows = parseRows(
        await db.all('SELECT digest FROM image_refs WHERE registry = ? AND repository = ? AND tag = ? ORDER BY pushed_at DESC LIMIT 1', [registry, repository, tag]),
        digestRow,
      );
      return rows[0]?.digest;
    },

    async knownDigests(registry, repository) {
      const rows = parseRows(await db.all('SELECT digest FROM image_refs WHERE registry = ? AND repository = ?', [registry, repository]), digestRow);
      return new Set(rows.map((r) => r.digest));
    },

    async vulnerabilities(filter) {
      const where: string[] = [];
      const params: SqlValue[] = [];
      if (filter.severity) {
        where.push('severity = ?');
        params.push(filter.severity);
      }
      if (filter.kev !== undefined) {
        where.push('kev = ?');
        params.push(filter.kev ? 1 : 0);
      }
      if (!filter.includeDisabled) where.push('disabled_by IS NULL');
      const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
      const total = await count(db, `SELECT CAST(COUNT(DISTINCT advisory_id) AS INTEGER) AS n FROM findings ${clause}`, params);
      const agg = db.dialect === 'postgres' ? "string_agg(DISTINCT package_name, ',')" : "group_concat(DISTINCT package_name)";
      const rows = parseRows(
        await db.all(
          `SELECT advisory_id, MAX(severity_rank) AS rank, MAX(kev) AS kev, MAX(epss) AS epss, CAST(COUNT(DISTINCT digest) AS INTEGER) AS images, ${agg} AS packages
           FROM findings ${clause} GROUP BY advisory_id ORDER BY MAX(severity_rank) DESC, COUNT(DISTINCT digest) DESC, advisory_id LIMIT ? OFFSET ?`,
          [...params, filter.limit, filter.offset],
        ),
        z.object({ advisory_id: z.string(), rank: z.coerce.number(), kev: z.coerce.number(), epss: z.number().nullable(), images: z.coerce.number(), packages: z.string().nullable() }),
      );
      return {
        total,
        items: rows.map((r) => ({
          advisoryId: r.advisory_id,
          severity: SEVERITIES.find((s) => severityRank(s) === r.rank) ?? 'unknown',
          kev: r.kev === 1,
          ...(r.epss !== null ? { epss: r.epss } : {}),
          images: r.images,
          packages: (r.packages ?? '').split(',').filter((p) => p.length > 0).sort(),
        })),
      };
    },

    async imagesWithAdvisory(advisoryId) {
      const rows = parseRows(
        await db.all(
          `SELECT f.digest, i.registry, i.repository, f.package_name, f.severity, f.body, f.disabled_by FROM findings f JOIN images i ON i.digest = f.digest
           WHERE f.advisory_id = ? ORDER BY i.registry, i.repository, f.digest, f.package_name`,
          [advisoryId],
        ),
        z.object({
          digest: z.string(),
          registry: z.string(),
          repository: z.string(),
          package_name: z.string(),
          severity: z.enum(SEVERITIES),
          body: z.string(),
          disabled_by: z.string().nullable(),
        }),
      );
      return rows.map((r) => ({
        digest: r.digest,
        registry: r.registry,
        repository: r.repository,
        package: r.package_name,
        installed: findingSchema.parse(JSON.parse(r.body)).installedVersion,
        severity: r.severity,
        ...(r.disabled_by !== null ? { disabledBy: r.disabled_by } : {}),
      }));
    },

    async severityTotals(options = {}) {
      const rows = parseRows(
        await db.all(`SELECT severity, CAST(COUNT(*) AS INTEGER) AS n FROM findings${options.includeDisabled ? '' : ' WHERE disabled_by IS NULL'} GROUP BY severity`),
        z.object({ severity: z.enum(SEVERITIES), n: z.coerce.number() }),
      );
      const totals: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, negligible: 0, unknown: 0 };
      for (const r of rows) totals[r.severity] = r.n;
      return totals;
    },

    async findingTotals() {
      const sum = (column: string): string => `CAST(COALESCE(SUM(${column}), 0) AS INTEGER) AS ${column}`;
      const columns = ['visible_critical', 'visible_high', 'visible_medium', 'visible_low', 'visible_other', 'visible_fixable', 'disabled_findings'];
      const row = parseRows(
        await db.all(`SELECT ${columns.map(sum).join(', ')} FROM images`),
        z.object(Object.fromEntries(columns.map((c) => [c, z.coerce.number()]))),
      )[0];
      const n = (column: string): number => row?.[column] ?? 0;
      return {
        visible: { critical: n('visible_critical'), high: n('visible_high'), medium: n('visible_medium'), low: n('visible_low'), other: n('visible_other') },
        fixable: n('visible_fixable'),
        disabled: n('disabled_findings'),
      };
    },

    async reevaluationCandidates(pushedSince, pulledSince) {
      return parseRows(
        await db.all(
          `SELECT i.digest, i.registry, i.repository FROM images i WHERE i.digest IN (SELECT s.digest FROM sboms s) AND (
             i.pushed_at >= ? OR i.pulled_at >= ? OR EXISTS (SELECT 1 FROM running_images r WHERE r.digest = i.digest)) ORDER BY i.digest`,
          [pushedSince.toISOString(), pulledSince.toISOString()],
        ),
        z.object({ digest: z.string(), registry: z.string(), repository: z.string() }),
      );
    },

    async replaceRunning(cluster, items, now) {
      // One row per (namespace, pod, container), the last report winning; inserted in multi-row
      // statements, since a 10,000-pod cluster is 20,000 rows and one round trip each is slow on PostgreSQL.
      const rows = new Map<string, RunningImage>();
      for (const item of items) rows.set(`${item.namespace}\u0000${item.pod}\u0000${item.container}`, item);
      const seenAt = now.toISOString();
      await db.transaction(async (tx) => {
        await tx.run('DELETE FROM running_images WHERE cluster = ?', [cluster]);
        const list = [...rows.values()];
        for (let i = 0; i < list.length; i += RUNNING_BATCH) {
          const chunk = list.slice(i, i + RUNNING_BATCH);
          await tx.run(
            `INSERT INTO running_images (cluster, namespace, pod, container, image, digest, seen_at) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
            chunk.flatMap((item) => [cluster, item.namespace, item.pod, item.container, item.image, item.digest, seenAt]),
          );
        }
      });
    },

    async listRunning() {
      return parseRows(
        await db.all('SELECT cluster, namespace, pod, container, image, digest FROM running_images ORDER BY cluster, namespace, pod, container'),
        z.object({ cluster: z.string(), namespace: z.string(), pod: z.string(), container: z.string(), image: z.string(), digest: z.string() }),
      );
    },

    async isRunning(digest) {
      return (await count(db, 'SELECT CAST(COUNT(*) AS INTEGER) AS n FROM running_images WHERE digest = ?', [digest])) > 0;
    },

    async replaceNodes(cluster, nodes, now) {
      await db.transaction(async (tx) => {
        await tx.run('DELETE FROM nodes WHERE cluster = ?', [cluster]);
        for (const node of nodes) await tx.run('INSERT INTO nodes (cluster, name, cores, seen_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING', [cluster, node.name, node.cores, now.toISOString()]);
      });
    },

    async discoveredCores() {
      const rows = parseRows(await db.all('SELECT CAST(COUNT(*) AS INTEGER) AS nodes, CAST(COALESCE(SUM(cores), 0) AS INTEGER) AS n FROM nodes'), z.object({ nodes: z.coerce.number(), n: z.coerce.number() }));
      const row = rows[0];
      return row && row.nodes > 0 ? row.n : undefined;
    },

    async recordCoreUsage(month, cores) {
      await db.run(
        `INSERT INTO core_usage (month, cores) VALUES (?, ?) ON CONFLICT (month) DO UPDATE SET cores = CASE WHEN excluded.cores > core_usage.cores THEN excluded.cores ELSE core_usage.cores END`,
        [month, cores],
      );
    },

    async coreUsage(month) {
      const rows = parseRows(await db.all('SELECT cores AS n FROM core_usage WHERE month = ?', [month]), countRow);
      return rows[0]?.n;
    },

    async distinctDigestsScanned(from, to) {
      return count(db, `SELECT CAST(COUNT(DISTINCT digest) AS INTEGER) AS n FROM scans WHERE status = 'done' AND finished_at >= ? AND finished_at < ?`, [from.toISOString(), to.toISOString()]);
    },

    async scanTotals() {
      return parseRows(
        await db.all('SELECT kind, status, CAST(COUNT(*) AS INTEGER) AS n, CAST(COALESCE(SUM(duration_ms), 0) AS INTEGER) AS ms FROM scans GROUP BY kind, status ORDER BY kind, status'),
        z.object({ kind: z.enum(['pull', 'rematch']), status: z.string(), n: z.coerce.number(), ms: z.coerce.number() }),
      ).map((r) => ({ kind: r.kind, status: r.status, count: r.n, durationMs: r.ms }));
    },

    async createDisableRule(rule, now) {
      return db.transaction(async (tx) => {
        await lockRules(tx, 'exclusive');
        await tx.run(
          'INSERT INTO disable_rules (id, name, criteria, justification, author, created_at, expires_at, revoked_at, revoked_by) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)',
          [rule.id, rule.name, JSON.stringify(rule.criteria), rule.justification, rule.author, rule.createdAt, rule.expiresAt ?? null],
        );
        if (!(await isMarked(tx))) {
          const { findings, images } = await markAll(tx, now);
          return { findings, images };
        }
        if (!ruleActive(rule, now)) return { findings: 0, images: 0 };
        return remark(tx, now, criteriaSql(rule.criteria));
      });
    },

    async listDisableRules() {
      return parseRows(await db.all('SELECT * FROM disable_rules ORDER BY created_at, id'), disableRuleRow).map(toRule);
    },

    async revokeDisableRule(id, by, at) {
      return db.transaction(async (tx) => {
        await lockRules(tx, 'exclusive');
        const revoked = await tx.run('UPDATE disable_rules SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL', [at.toISOString(), by, id]);
        if (revoked === 0) return undefined;
        if (!(await isMarked(tx))) {
          const { findings, images } = await markAll(tx, at);
          return { findings, images };
        }
        // Another active rule may hide some of these findings too: they pass to it.
        const result = await remark(tx, at, { sql: 'f.disabled_by = ?', params: [id] });
        await release(tx, [id], at);
        return result;
      });
    },

    async applyDisableRules(now) {
      // Most calls (every scheduler tick) find nothing to do: look before taking the write lock.
      if ((await isMarked(db)) && (await dueForRelease(db, now)).length === 0) return { findings: 0, images: 0, released: [], full: false };
      return db.transaction(async (tx) => {
        await lockRules(tx, 'exclusive');
        if (!(await isMarked(tx))) return { ...(await markAll(tx, now)), full: true };
        const released = (await dueForRelease(tx, now)).map((rule) => rule.id);
        if (released.length === 0) return { findings: 0, images: 0, released, full: false };
        const result = await remark(tx, now, { sql: `f.disabled_by IN (${placeholders(released.length)})`, params: released });
        await release(tx, released, now);
        return { ...result, released, full: false };
      });
    },

    async insertAlerts(alerts, options) {
      if (alerts.length === 0) return { inserted: 0, merged: 0, duplicates: 0 };
      return db.transaction((tx) => insertAlertsTx(tx, alerts, options));
    },

    async insertAlertBatch(batch, options) {
      return db.transaction(async (tx) => {
        const fresh = await tx.run('INSERT INTO alert_batches (sender, idempotency_key, node, alerts, received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', [
          batch.sender,
          batch.key,
          batch.node,
          batch.alerts.length,
          options.receivedAt.toISOString(),
        ]);
        if (fresh === 0) return { inserted: 0, merged: 0, duplicates: batch.alerts.length, duplicate: true };
        return { ...(await insertAlertsTx(tx, batch.alerts, options)), duplicate: false };
      });
    },

    async listAlerts(filter) {
      const where: string[] = [];
      const params: SqlValue[] = [];
      whereEqual(where, params, [
        ['rule', filter.rule],
        ['severity', filter.severity],
        ['status', filter.status],
        ['cluster', filter.cluster],
        ['source', filter.source],
        ['node', filter.node],
      ]);
      if (filter.since) {
        where.push('last_seen >= ?');
        params.push(filter.since.toISOString());
      }
      const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
      const total = await count(db, `SELECT CAST(COUNT(*) AS INTEGER) AS n FROM alerts ${clause}`, params);
      const rows = parseRows(
        await db.all(`SELECT ${ALERT_COLUMNS} FROM alerts ${clause} ORDER BY first_seen DESC, id DESC LIMIT ? OFFSET ?`, [...params, filter.limit, filter.offset]),
        alertRow,
      );
      return { total, items: rows.map(toStoredAlert) };
    },

    async getAlert(id) {
      const rows = parseRows(await db.all(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = ?`, [id]), alertRow);
      return rows[0] ? toStoredAlert(rows[0]) : undefined;
    },

    async setAlertStatus(id, status, by, at) {
      const changed = await db.run('UPDATE alerts SET status = ?, status_changed_at = ?, status_changed_by = ? WHERE id = ?', [status, at.toISOString(), by, id]);
      return changed > 0 ? store.getAlert(id) : undefined;
    },

    insertAdmissionBatch: (batch, receivedAt) => db.transaction((tx) => insertAdmissionBatchTx(tx, batch, receivedAt)),
    listAdmissionViolations: (filter) => listAdmissionViolations(db, filter),
    pruneAdmissionViolations: (before) => pruneAdmissionViolations(db, before),

    async metaGet(key) {
      return parseRows(await db.all('SELECT value FROM meta WHERE key = ?', [key]), valueRow)[0]?.value;
    },

    async metaSet(key, value) {
      await db.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
    },

    async metaClaim(key, value) {
      return (await db.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING', [key, value])) > 0;
    },

    async ping() {
      await db.all('SELECT 1 AS n');
    },

    close: () => db.close(),
  };
  return store;
}
