import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { fixedClock, type Finding } from '../core/index.js';
import type { Alert } from '../threat/alert.js';
import { openPostgresDriver, openSqliteDriver, type SqlDriver } from './driver.js';
import { MIGRATIONS, createSqlStore, migrate, openStore, type AdmissionRecordInput, type DisableRule, type ImageFilter, type Store } from './index.js';
import { canonicalJson } from './store.js';

const PG_ADMIN = 'postgres://postgres@127.0.0.1:5432/test';

async function pgAvailable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

const hasPg = await pgAvailable();
if (!hasPg) console.warn('store tests on PostgreSQL skipped: no PostgreSQL at 127.0.0.1:5432');
const created: string[] = [];
const tempDir = mkdtempSync(join(tmpdir(), 'palisade-store-test-'));

/** A new empty database: a SQLite file, or a PostgreSQL database dropped after the run. */
async function newDatabase(kind: 'sqlite' | 'postgres'): Promise<string> {
  if (kind === 'sqlite') return join(tempDir, `${randomBytes(5).toString('hex')}.sqlite`);
  const name = `palisade_test_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  created.push(name);
  return `postgres://postgres@127.0.0.1:5432/${name}`;
}

async function open(kind: 'sqlite' | 'postgres'): Promise<Store> {
  const clock = fixedClock('2026-04-01T00:00:00Z');
  if (kind === 'sqlite') return openStore(':memory:', clock);
  return openStore(await newDatabase(kind), clock);
}

afterAll(async () => {
  rmSync(tempDir, { recursive: true, force: true });
  if (created.length === 0) return;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
});

const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;
const at = (iso: string): Date => new Date(iso);

function finding(advisoryId: string, severity: Finding['severity'], name = 'openssl', extra: { aliases?: string[]; unfixed?: boolean } = {}): Finding {
  return {
    advisoryId,
    aliases: extra.aliases ?? [],
    package: { type: 'deb', name, version: '3.0.11-1~deb12u2', purl: `pkg:deb/debian/${name}@3.0.11-1~deb12u2?distro=debian-12`, locations: [{ path: '/var/lib/dpkg/status' }] },
    installedVersion: '3.0.11-1~deb12u2',
    fixedVersions: extra.unfixed ? [] : ['3.0.15-1~deb12u1'],
    fixState: extra.unfixed ? 'unfixed' : 'fixed',
    severity,
    severitySource: 'cvss',
    dataSource: 'osv:Debian',
    namespace: 'debian:12',
  };
}

function alert(id: string, time: string, groupKey = 'PAL_PortForward|prod|bob@example.com|shop|pods|portforward|db-0|'): Alert {
  return {
    id,
    groupKey,
    rule: 'PAL_PortForward',
    title: 'Port forwarding to a pod',
    severity: 'medium',
    source: 'audit',
    time,
    lastSeen: time,
    cluster: 'prod',
    message: 'bob@example.com forwarded a port of pod shop/db-0 from 10.0.4.2',
    subject: { user: 'bob@example.com', groups: ['system:authenticated'], sourceIPs: ['10.0.4.2'] },
    target: { resource: 'pods', subresource: 'portforward', namespace: 'shop', name: 'db-0' },
    mitre: { tactics: ['LateralMovement'], techniques: ['T1570'] },
    evidence: [{ auditID: id }],
    count: 1,
    status: 'new',
  };
}

const backends = (['sqlite', 'postgres'] as const).filter((b) => b === 'sqlite' || hasPg);

describe.each(backends)('store on %s', (kind) => {
  it('dedupes active jobs per digest and leases each job to one worker', async () => {
    const store = await open(kind);
    try {
      await store.recordPush({ registry: 'reg.example:5000', repository: 'team/app', tag: '1.0', digest: D1 }, at('2026-04-01T10:00:00Z'));
      const first = await store.enqueue({ kind: 'scan', digest: D1, registry: 'reg.example:5000', repository: 'team/app' }, at('2026-04-01T10:00:00Z'));
      const again = await store.enqueue({ kind: 'scan', digest: D1, registry: 'reg.example:5000', repository: 'team/app' }, at('2026-04-01T10:00:01Z'));
      expect(again).toEqual({ id: first.id, created: false });
      const a = await store.claim('worker-a', 30_000, at('2026-04-01T10:00:02Z'), 3);
      const b = await store.claim('worker-b', 30_000, at('2026-04-01T10:00:02Z'), 3);
      expect([a?.id, a?.attempts, a?.leaseOwner, b]).toEqual([first.id, 1, 'worker-a', undefined]);
      // worker-a dies; after its lease runs out worker-b takes the job over, and worker-a can no longer store.
      const taken = await store.claim('worker-b', 30_000, at('2026-04-01T10:00:33Z'), 3);
      expect([taken?.id, taken?.attempts, taken?.leaseOwner]).toEqual([first.id, 2, 'worker-b']);
      const late = await store.finishScan(a!, 'worker-a', { kind: 'pull', worker: 'worker-a', startedAt: '2026-04-01T10:00:02.000Z', findings: [finding('CVE-2024-5535', 'critical')] }, at('2026-04-01T10:00:40Z'));
      expect(late).toEqual({ committed: false, newFindings: [] });
      const done = await store.finishScan(taken!, 'worker-b', { kind: 'pull', worker: 'worker-b', startedAt: '2026-04-01T10:00:33.000Z', sbom: { packages: [], platform: 'linux/amd64' }, findings: [finding('CVE-2024-5535', 'critical')] }, at('2026-04-01T10:00:41Z'));
      expect([done.committed, done.newFindings.map((f) => f.advisoryId)]).toEqual([true, ['CVE-2024-5535']]);
      expect((await store.scans(D1)).map((s) => [s.kind, s.status, s.worker, s.durationMs])).toEqual([['pull', 'done', 'worker-b', 8000]]);
      expect(await store.queueDepth()).toEqual({ queued: 0, running: 0, done: 1, failed: 0 });
      // A re-match that adds one finding reports only that one as new and keeps first-seen times.
      await store.enqueue({ kind: 'rematch', digest: D1, registry: 'reg.example:5000', repository: 'team/app' }, at('2026-04-02T03:00:00Z'));
      const re = await store.claim('worker-a', 30_000, at('2026-04-02T03:00:00Z'), 3);
      const second = await store.finishScan(re!, 'worker-a', { kind: 'rematch', worker: 'worker-a', startedAt: '2026-04-02T03:00:00.000Z', findings: [finding('CVE-2024-5535', 'critical'), finding('CVE-2024-0727', 'medium')] }, at('2026-04-02T03:00:01Z'));
      expect(second.newFindings.map((f) => f.advisoryId)).toEqual(['CVE-2024-0727']);
      expect((await store.findings(D1)).map((f) => [f.finding.advisoryId, f.firstSeenAt])).toEqual([
        ['CVE-2024-5535', '2026-04-01T10:00:41.000Z'],
        ['CVE-2024-0727', '2026-04-02T03:00:01.000Z'],
      ]);
      expect(await store.getImage(D1)).toMatchObject({ status: 'done', tags: ['1.0'], counts: { critical: 1, high: 0, medium: 1, low: 0, other: 0 }, fixable: 2, packageCount: 0 });
    } finally {
      await store.close();
    }
  });

  it('retries a failed attempt, then fails the job for good and marks the image', async () => {
    const store = await open(kind);
    try {
      await store.recordPush({ registry: 'reg.example:5000', repository: 'team/app', digest: D2 }, at('2026-04-01T10:00:00Z'));
      await store.enqueue({ kind: 'scan', digest: D2, registry: 'reg.example:5000', repository: 'team/app' }, at('2026-04-01T10:00:00Z'));
      const one = await store.claim('w', 30_000, at('2026-04-01T10:00:00Z'), 2);
      await store.failAttempt(one!, 'w', 'registry reg.example:5000 unreachable', '2026-04-01T10:00:00.000Z', at('2026-04-01T10:00:01Z'), at('2026-04-01T10:00:31Z'));
      expect(await store.claim('w', 30_000, at('2026-04-01T10:00:10Z'), 2)).toBeUndefined();
      const two = await store.claim('w', 30_000, at('2026-04-01T10:00:31Z'), 2);
      expect(two?.attempts).toBe(2);
      await store.failAttempt(two!, 'w', 'registry reg.example:5000 unreachable', '2026-04-01T10:00:31.000Z', at('2026-04-01T10:00:32Z'), undefined);
      expect(await store.getImage(D2)).toMatchObject({ status: 'failed', error: 'registry reg.example:5000 unreachable' });
      expect((await store.scans(D2)).map((s) => [s.kind, s.status, s.error])).toEqual([['pull', 'failed', 'registry reg.example:5000 unreachable']]);
      expect(await store.queueDepth()).toEqual({ queued: 0, running: 0, done: 0, failed: 1 });
    } finally {
      await store.close();
    }
  });

  it.each([
    ['pushed 89 days ago', '2026-01-02T00:00:00Z', undefined, false, true],
    ['pushed 91 days ago', '2025-12-31T00:00:00Z', undefined, false, false],
    ['pushed long ago, pulled 29 days ago', '2025-01-01T00:00:00Z', '2026-03-03T00:00:00Z', false, true],
    ['pushed long ago, pulled 31 days ago', '2025-01-01T00:00:00Z', '2026-03-01T00:00:00Z', false, false],
    ['pushed long ago, running', '2025-01-01T00:00:00Z', undefined, true, true],
  ])('re-evaluation window: %s', async (_name, pushed, pulled, running, expected) => {
    const store = await open(kind);
    try {
      await store.recordPush({ registry: 'r', repository: 'x', digest: D1 }, at(pushed));
      await store.enqueue({ kind: 'scan', digest: D1, registry: 'r', repository: 'x' }, at(pushed));
      const job = await store.claim('w', 30_000, at(pushed), 3);
      await store.finishScan(job!, 'w', { kind: 'pull', worker: 'w', startedAt: pushed, sbom: { packages: [] }, findings: [] }, at(pushed));
      if (pulled) await store.recordPull(D1, at(pulled));
      if (running) await store.replaceRunning('prod', [{ cluster: 'prod', namespace: 'shop', pod: 'app-1', container: 'app', image: 'r/x:1', digest: D1 }], at('2026-04-01T00:00:00Z'));
      const now = Date.parse('2026-04-01T00:00:00Z');
      const candidates = await store.reevaluationCandidates(new Date(now - 90 * 86_400_000), new Date(now - 30 * 86_400_000));
      expect(candidates.map((c) => c.digest)).toEqual(expected ? [D1] : []);
    } finally {
      await store.close();
    }
  });

  it('replaces a cluster\'s running images in batches, the last report of a container winning, other clusters untouched', async () => {
    const store = await open(kind);
    try {
      await store.replaceRunning('staging', [{ cluster: 'staging', namespace: 'web', pod: 'w-1', container: 'app', image: 'r/w:1', digest: D1 }], at('2026-04-01T00:00:00Z'));
      const items = Array.from({ length: 1_201 }, (_, i) => ({ cluster: 'prod', namespace: `ns-${i % 7}`, pod: `pod-${i}`, container: 'app', image: 'r/x:1', digest: D1 }));
      items.push({ cluster: 'prod', namespace: 'ns-0', pod: 'pod-0', container: 'app', image: 'r/x:2', digest: D2 });
      await store.replaceRunning('prod', items, at('2026-04-01T00:00:00Z'));
      await store.replaceRunning('prod', items, at('2026-04-02T00:00:00Z'));
      const running = await store.listRunning();
      expect(running.filter((r) => r.cluster === 'prod')).toHaveLength(1_201);
      expect(running.find((r) => r.cluster === 'prod' && r.pod === 'pod-0')).toMatchObject({ image: 'r/x:2', digest: D2 });
      expect(running.filter((r) => r.cluster === 'staging')).toHaveLength(1);
      expect(await store.isRunning(D2)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('claims a meta key once, keeps revoked disable rules, counts distinct digests per month', async () => {
    const store = await open(kind);
    try {
      expect([await store.metaClaim('reevaluate:daily:2026-04-01', 'a'), await store.metaClaim('reevaluate:daily:2026-04-01', 'b')]).toEqual([true, false]);
      await store.createDisableRule({ id: '6f9619ff-8b86-4d11-b42d-00c04fc964ff', name: 'n', criteria: { cves: ['CVE-2024-5535'] }, justification: 'accepted risk', author: 'alice', createdAt: '2026-04-01T00:00:00.000Z' }, at('2026-04-01T00:00:00Z'));
      expect(await store.revokeDisableRule('6f9619ff-8b86-4d11-b42d-00c04fc964ff', 'bob', at('2026-04-02T00:00:00Z'))).toEqual({ findings: 0, images: 0 });
      expect(await store.listDisableRules()).toEqual([
        { id: '6f9619ff-8b86-4d11-b42d-00c04fc964ff', name: 'n', criteria: { cves: ['CVE-2024-5535'] }, justification: 'accepted risk', author: 'alice', createdAt: '2026-04-01T00:00:00.000Z', revokedAt: '2026-04-02T00:00:00.000Z', revokedBy: 'bob' },
      ]);
      for (const [digest, when] of [[D1, '2026-03-31T23:00:00Z'], [D1, '2026-04-03T00:00:00Z'], [D2, '2026-04-04T00:00:00Z'], [D1, '2026-04-05T00:00:00Z']] as const) {
        await store.recordPush({ registry: 'r', repository: 'x', digest }, at(when));
        await store.enqueue({ kind: 'rematch', digest, registry: 'r', repository: 'x' }, at(when));
        const job = await store.claim('w', 30_000, at(when), 3);
        await store.finishScan(job!, 'w', { kind: 'rematch', worker: 'w', startedAt: when, findings: [] }, at(when));
      }
      expect(await store.distinctDigestsScanned(at('2026-04-01T00:00:00Z'), at('2026-05-01T00:00:00Z'))).toBe(2);
      expect(await store.distinctDigestsScanned(at('2026-03-01T00:00:00Z'), at('2026-04-01T00:00:00Z'))).toBe(1);
      await store.recordCoreUsage('2026-04', 8);
      await store.recordCoreUsage('2026-04', 6);
      expect(await store.coreUsage('2026-04')).toBe(8);
    } finally {
      await store.close();
    }
  });

  it.each([
    ['a repeat inside the window joins the alert', '2026-04-01T10:04:59.000Z', { inserted: 0, merged: 1, duplicates: 0 }, [[2, '2026-04-01T10:04:59.000Z']]],
    ['a repeat past the window opens a new alert', '2026-04-01T10:05:01.000Z', { inserted: 1, merged: 0, duplicates: 0 }, [[1, '2026-04-01T10:05:01.000Z'], [1, '2026-04-01T10:00:00.000Z']]],
  ])('alerts: %s; a resent id is a duplicate; a batch key is stored once', async (_name, repeatAt, result, rows) => {
    const store = await open(kind);
    const options = { windowMs: 5 * 60_000, maxEvidence: 5, receivedAt: new Date('2026-04-01T10:10:00Z') };
    try {
      expect(await store.insertAlerts([alert('a0000000000000000001', '2026-04-01T10:00:00.000Z')], options)).toEqual({ inserted: 1, merged: 0, duplicates: 0 });
      expect(await store.insertAlerts([alert('a0000000000000000002', repeatAt)], options)).toEqual(result);
      expect(await store.insertAlerts([alert('a0000000000000000002', repeatAt)], options)).toEqual({ inserted: 0, merged: 0, duplicates: 1 });
      const page = await store.listAlerts({ limit: 10, offset: 0 });
      expect(page.items.map((a) => [a.count, a.lastSeen])).toEqual(rows);
      const batch = { sender: 'node-1', key: 'batch-0001', node: 'worker-1', alerts: [alert('b0000000000000000001', '2026-04-01T11:00:00.000Z', 'other')] };
      expect(await store.insertAlertBatch(batch, options)).toEqual({ inserted: 1, merged: 0, duplicates: 0, duplicate: false });
      expect(await store.insertAlertBatch(batch, options)).toEqual({ inserted: 0, merged: 0, duplicates: 1, duplicate: true });
      const moved = await store.setAlertStatus('b0000000000000000001', 'dismissed', 'ops', new Date('2026-04-01T12:00:00Z'));
      expect([moved?.status, moved?.statusChangedBy, moved?.statusChangedAt]).toEqual(['dismissed', 'ops', '2026-04-01T12:00:00.000Z']);
      expect(await store.setAlertStatus('missing', 'dismissed', 'ops', new Date())).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('disable rules mark stored findings: lists, filters, counts and the vulnerabilities view follow them; nothing is deleted', async () => {
    const store = await open(kind);
    try {
      const critical = (name: string): Finding => finding('CVE-2024-5535', 'critical', name, { aliases: ['DSA-5764-1'] });
      const unfixedMedium = finding('CVE-2024-0727', 'medium', 'openssl', { unfixed: true });
      await scanned(store, D1, 'team/app', [critical('openssl'), critical('libssl3'), unfixedMedium], '2026-04-01T10:00:00Z');
      await scanned(store, D2, 'team/web', [critical('openssl')], '2026-04-01T11:00:00Z');
      // By alias, in one repository, until 2026-04-10.
      expect(await store.createDisableRule(rule('r1', { cves: ['DSA-5764-1'], repositories: ['team/app'] }, '2026-04-02', '2026-04-10'), at('2026-04-02T00:00:00Z'))).toEqual({ findings: 2, images: 1 });
      // A later rule over the same findings marks nothing new: the oldest active rule keeps them.
      expect(await store.createDisableRule(rule('r2', { cves: ['CVE-2024-5535'], digests: [D1] }, '2026-04-03'), at('2026-04-03T00:00:00Z'))).toEqual({ findings: 0, images: 0 });

      expect(await store.getImage(D1)).toMatchObject({ counts: { critical: 0, high: 0, medium: 1, low: 0, other: 0 }, fixable: 0, disabled: 2 });
      expect(await store.getImage(D1, { includeDisabled: true })).toMatchObject({ counts: { critical: 2, high: 0, medium: 1, low: 0, other: 0 }, fixable: 2, disabled: 2 });
      const listed = async (filter: Partial<ImageFilter>): Promise<string[]> => (await store.listImages({ limit: 10, offset: 0, ...filter })).items.map((i) => i.digest);
      expect(await listed({ minSeverity: 'critical' })).toEqual([D2]);
      expect(await listed({ minSeverity: 'critical', includeDisabled: true })).toEqual([D2, D1]);
      expect(await listed({ fixAvailable: true })).toEqual([D2]);
      expect(await listed({ fixAvailable: false })).toEqual([D1]);
      expect(await listed({ fixAvailable: true, includeDisabled: true })).toEqual([D2, D1]);
      const vulnerabilities = async (includeDisabled: boolean): Promise<unknown[]> =>
        (await store.vulnerabilities({ limit: 10, offset: 0, includeDisabled })).items.map((v) => [v.advisoryId, v.images, v.packages]);
      expect(await vulnerabilities(false)).toEqual([['CVE-2024-5535', 1, ['openssl']], ['CVE-2024-0727', 1, ['openssl']]]);
      expect(await vulnerabilities(true)).toEqual([['CVE-2024-5535', 2, ['libssl3', 'openssl']], ['CVE-2024-0727', 1, ['openssl']]]);
      expect(await store.severityTotals()).toEqual({ critical: 1, high: 0, medium: 1, low: 0, negligible: 0, unknown: 0 });
      expect(await store.severityTotals({ includeDisabled: true })).toEqual({ critical: 3, high: 0, medium: 1, low: 0, negligible: 0, unknown: 0 });
      expect(await store.findingTotals()).toEqual({ visible: { critical: 1, high: 0, medium: 1, low: 0, other: 0 }, fixable: 1, disabled: 2 });
      expect((await store.imagesWithAdvisory('CVE-2024-5535')).map((r) => [r.digest, r.package, r.disabledBy])).toEqual([[D1, 'libssl3', 'r1'], [D1, 'openssl', 'r1'], [D2, 'openssl', undefined]]);
      expect((await store.findings(D1)).map((f) => [f.finding.advisoryId, f.finding.package.name, f.disabledBy])).toEqual([
        ['CVE-2024-5535', 'libssl3', 'r1'],
        ['CVE-2024-5535', 'openssl', 'r1'],
        ['CVE-2024-0727', 'openssl', undefined],
      ]);

      // A re-match stores a new finding shown; the marks of the others stay.
      await scanned(store, D1, 'team/app', [critical('openssl'), critical('libssl3'), unfixedMedium, finding('CVE-2023-50387', 'high')], '2026-04-05T00:00:00Z', 'rematch');
      expect(await store.getImage(D1)).toMatchObject({ counts: { critical: 0, high: 1, medium: 1, low: 0, other: 0 }, fixable: 1, disabled: 2 });
      // r1 has expired on 2026-04-11: its findings pass to r2, still active.
      expect(await store.applyDisableRules(at('2026-04-11T00:00:00Z'))).toEqual({ findings: 2, images: 1, released: ['r1'], full: false });
      expect((await store.imagesWithAdvisory('CVE-2024-5535')).map((r) => r.disabledBy)).toEqual(['r2', 'r2', undefined]);
      expect(await store.applyDisableRules(at('2026-04-11T00:01:00Z'))).toEqual({ findings: 0, images: 0, released: [], full: false });
      // Revoking r2 shows them again everywhere.
      expect(await store.revokeDisableRule('r2', 'bob', at('2026-04-12T00:00:00Z'))).toEqual({ findings: 2, images: 1 });
      expect(await store.revokeDisableRule('r2', 'bob', at('2026-04-12T00:00:00Z'))).toBeUndefined();
      expect(await store.getImage(D1)).toMatchObject({ counts: { critical: 2, high: 1, medium: 1, low: 0, other: 0 }, fixable: 3, disabled: 0 });
      expect(await listed({ minSeverity: 'critical' })).toEqual([D2, D1]);
      // The remaining criteria: OS release, severity below, fix state; a repository named with its registry.
      expect(await store.createDisableRule(rule('r3', { osReleases: ['debian:12'], severityBelow: 'high', fixStates: ['unfixed'] }, '2026-04-13'), at('2026-04-13T00:00:00Z'))).toEqual({
        findings: 1,
        images: 1,
      });
      expect(await store.createDisableRule(rule('r4', { repositories: ['reg.example:5000/team/web'] }, '2026-04-13'), at('2026-04-13T00:00:00Z'))).toEqual({ findings: 1, images: 1 });
      expect(await store.getImage(D1)).toMatchObject({ counts: { critical: 2, high: 1, medium: 0, low: 0, other: 0 }, disabled: 1 });
      expect(await store.getImage(D2)).toMatchObject({ counts: { critical: 0, high: 0, medium: 0, low: 0, other: 0 }, fixable: 0, disabled: 1 });
      expect(await listed({ includeDisabled: true })).toEqual([D2, D1]);
      expect((await store.findings(D1)).length + (await store.findings(D2)).length).toBe(5);
    } finally {
      await store.close();
    }
  });

  it('migrates a store written before the marks: the first application marks every stored finding', async () => {
    const location = await newDatabase(kind);
    const driver = kind === 'sqlite' ? openSqliteDriver(location) : await openPostgresDriver(location);
    try {
      // What a store of schema version 2 held: an image with its raw counts, two findings, a rule.
      await driver.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
      for (const m of MIGRATIONS.filter((migration) => migration.version <= 2)) {
        await driver.exec(m.sql);
        await driver.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, '2026-03-01T00:00:00.000Z']);
      }
      const t = '2026-03-01T10:00:00.000Z';
      await driver.run(
        `INSERT INTO images (digest, registry, repository, first_seen_at, pushed_at, status, critical, high, medium, low, other, fixable, max_rank) VALUES (?, 'reg.example:5000', 'team/app', ?, ?, 'done', 1, 0, 1, 0, 0, 2, 5)`,
        [D1, t, t],
      );
      for (const f of [finding('CVE-2024-5535', 'critical', 'openssl', { aliases: ['DSA-5764-1'] }), finding('CVE-2024-0727', 'medium')]) {
        await driver.run(
          `INSERT INTO findings (digest, advisory_id, purl, package_name, severity, severity_rank, fix_state, fixable, kev, epss, namespace, first_seen_at, body)
           VALUES (?, ?, ?, ?, ?, ?, ?, 1, 0, NULL, 'debian:12', ?, ?)`,
          [D1, f.advisoryId, f.package.purl, f.package.name, f.severity, f.severity === 'critical' ? 5 : 3, f.fixState, t, canonicalJson(f)],
        );
      }
      await driver.run('INSERT INTO disable_rules (id, name, criteria, justification, author, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
        'r-old',
        'accepted before the upgrade',
        JSON.stringify({ cves: ['DSA-5764-1'] }),
        'not reachable: TLS ends at the ingress',
        'alice',
        '2026-03-02T00:00:00.000Z',
      ]);
    } finally {
      await driver.close();
    }
    const store = await openStore(location, fixedClock('2026-04-01T00:00:00Z'));
    try {
      expect(await store.getImage(D1)).toMatchObject({ counts: { critical: 1, high: 0, medium: 1, low: 0, other: 0 }, fixable: 2, disabled: 0 });
      expect(await store.applyDisableRules(at('2026-04-01T00:00:00Z'))).toEqual({ findings: 1, images: 1, released: [], full: true });
      expect(await store.getImage(D1)).toMatchObject({ counts: { critical: 0, high: 0, medium: 1, low: 0, other: 0 }, fixable: 1, disabled: 1 });
      expect((await store.findings(D1)).map((f) => f.disabledBy)).toEqual(['r-old', undefined]);
      expect(await store.applyDisableRules(at('2026-04-01T00:00:00Z'))).toEqual({ findings: 0, images: 0, released: [], full: false });
    } finally {
      await store.close();
    }
  });
});

describe.each(backends)('migration 5, the alerts node filter and admission violations on %s', (kind) => {
  const runtimeAlert = (id: string, node: string | undefined, time: string): Alert => ({
    ...alert(id, time, `K8S.NODE_ReverseShell|${node ?? ''}|${id}`),
    rule: 'K8S.NODE_ReverseShell',
    source: 'runtime',
    target: { resource: 'nodes', name: node ?? '', ...(node !== undefined ? { node } : {}) },
  });

  it('fills the node of runtime alerts stored before it, and lists alerts by node', async () => {
    const database = await newDatabase(kind);
    const driver: SqlDriver = kind === 'sqlite' ? openSqliteDriver(database) : await openPostgresDriver(database, 2);
    // A store at migration 4, with alerts stored the way that version stored them (no node column).
    await driver.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    for (const m of MIGRATIONS.filter((x) => x.version <= 4)) {
      await driver.exec(m.sql);
      await driver.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, '2026-01-01T00:00:00Z']);
    }
    const old = [runtimeAlert('r-1', 'node-a', '2026-04-01T10:00:00.000Z'), runtimeAlert('r-2', 'node-b', '2026-04-01T10:01:00.000Z'), runtimeAlert('r-3', undefined, '2026-04-01T10:02:00.000Z'), alert('a-1', '2026-04-01T10:03:00.000Z')];
    for (const a of old) {
      await driver.run(
        `INSERT INTO alerts (id, group_key, rule, severity, source, cluster, first_seen, last_seen, count, status, received_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 'new', ?, ?)`,
        [a.id, a.groupKey, a.rule, a.severity, a.source, a.cluster ?? '', a.time, a.lastSeen, a.time, JSON.stringify(a)],
      );
    }
    expect(await migrate(driver, fixedClock('2026-04-02T00:00:00Z'))).toEqual(MIGRATIONS.filter((x) => x.version > 4).map((x) => x.version));
    const store = createSqlStore(driver);
    try {
      await store.insertAlerts([runtimeAlert('r-4', 'node-a', '2026-04-02T10:00:00.000Z')], { windowMs: 0, maxEvidence: 5, receivedAt: at('2026-04-02T10:00:00Z') });
      const ids = async (node: string): Promise<string[]> => (await store.listAlerts({ node, limit: 10, offset: 0 })).items.map((a) => a.id);
      expect(await ids('node-a')).toEqual(['r-4', 'r-1']);
      expect(await ids('node-b')).toEqual(['r-2']);
      expect(await ids('node-c')).toEqual([]);
      expect((await store.listAlerts({ node: 'node-a', source: 'audit', limit: 10, offset: 0 })).total).toBe(0);
      expect((await store.listAlerts({ limit: 10, offset: 0 })).total).toBe(5);
    } finally {
      await store.close();
    }
  });

  it('stores admission violations once per batch key and per (cluster, uid, place), lists them with filters, prunes by age', async () => {
    const store = await open(kind);
    const record = (uid: string, time: string, namespace: string, violations: AdmissionRecordInput['violations']): AdmissionRecordInput => ({
      time,
      uid,
      operation: 'CREATE',
      kind: 'Pod',
      namespace,
      name: `pod-${uid}`,
      user: 'alice@example.com',
      allowed: !violations.some((v) => v.effect === 'Deny'),
      violations,
      errors: [],
    });
    const privileged = { policyId: 'pod-security-standards', title: 'Pod Security Standards', severity: 'high', assignment: 'pod-security-baseline/pod-security-standards', effect: 'Deny' as const, message: 'privileged', field: 'spec.containers[0].securityContext.privileged' };
    const latest = { policyId: 'no-latest-tag', title: 'No latest tag', severity: 'medium', assignment: 'no-latest-tag', effect: 'Audit' as const, message: 'image nginx uses the latest tag' };
    try {
      const first = { sender: 'webhook-token', key: 'batch-1', webhook: 'palisade-admission-0', cluster: 'prod', records: [record('u1', '2026-04-01T10:00:00Z', 'shop', [privileged, latest]), record('u2', '2026-04-01T11:00:00Z', 'tools', [latest])] };
      expect(await store.insertAdmissionBatch(first, at('2026-04-01T11:00:01Z'))).toEqual({ duplicate: false, stored: 3, duplicates: 0 });
      expect(await store.insertAdmissionBatch(first, at('2026-04-01T11:00:05Z'))).toEqual({ duplicate: true, stored: 0, duplicates: 3 });
      // u2 resent inside another batch (its first answer was lost) is stored once; u3 is new.
      const second = { ...first, key: 'batch-2', records: [record('u2', '2026-04-01T11:00:00Z', 'tools', [latest]), record('u3', '2026-04-02T09:00:00Z', 'shop', [latest])] };
      expect(await store.insertAdmissionBatch(second, at('2026-04-02T09:00:01Z'))).toEqual({ duplicate: false, stored: 1, duplicates: 1 });
      const list = async (filter: Partial<Parameters<Store['listAdmissionViolations']>[0]>): Promise<string[]> =>
        (await store.listAdmissionViolations({ limit: 50, offset: 0, ...filter })).items.map((v) => `${v.uid} ${v.effect} ${v.policyId} ${v.namespace}`);
      expect(await list({})).toEqual(['u3 Audit no-latest-tag shop', 'u2 Audit no-latest-tag tools', 'u1 Deny pod-security-standards shop', 'u1 Audit no-latest-tag shop']);
      expect(await list({ effect: 'Deny' })).toEqual(['u1 Deny pod-security-standards shop']);
      expect(await list({ namespace: 'shop', policy: 'no-latest-tag' })).toEqual(['u3 Audit no-latest-tag shop', 'u1 Audit no-latest-tag shop']);
      expect(await list({ since: at('2026-04-01T10:30:00Z') })).toEqual(['u3 Audit no-latest-tag shop', 'u2 Audit no-latest-tag tools']);
      expect(await list({ cluster: 'staging' })).toEqual([]);
      const page = await store.listAdmissionViolations({ effect: 'Deny', limit: 1, offset: 0 });
      expect(page).toEqual({
        total: 1,
        items: [
          {
            cluster: 'prod',
            uid: 'u1',
            time: '2026-04-01T10:00:00.000Z',
            operation: 'CREATE',
            kind: 'Pod',
            namespace: 'shop',
            name: 'pod-u1',
            user: 'alice@example.com',
            allowed: false,
            policyId: 'pod-security-standards',
            assignment: 'pod-security-baseline/pod-security-standards',
            effect: 'Deny',
            severity: 'high',
            title: 'Pod Security Standards',
            message: 'privileged',
            field: 'spec.containers[0].securityContext.privileged',
            webhook: 'palisade-admission-0',
            receivedAt: '2026-04-01T11:00:01.000Z',
          },
        ],
      });
      expect(await store.pruneAdmissionViolations(at('2026-04-02T00:00:00Z'))).toBe(3);
      expect(await list({})).toEqual(['u3 Audit no-latest-tag shop']);
    } finally {
      await store.close();
    }
  });
});

const REGISTRY = 'reg.example:5000';

/** Stores a finished scan of `digest` as a worker would: (push,) queue, lease, store. */
async function scanned(store: Store, digest: string, repository: string, findings: Finding[], when: string, kind: 'pull' | 'rematch' = 'pull'): Promise<void> {
  if (kind === 'pull') await store.recordPush({ registry: REGISTRY, repository, digest }, at(when));
  await store.enqueue({ kind: kind === 'pull' ? 'scan' : 'rematch', digest, registry: REGISTRY, repository }, at(when));
  const job = await store.claim('w', 30_000, at(when), 3);
  if (!job) throw new Error(`no job for ${digest}`);
  const commit = await store.finishScan(job, 'w', { kind, worker: 'w', startedAt: when, findings, ...(kind === 'pull' ? { sbom: { packages: [] } } : {}) }, at(when));
  if (!commit.committed) throw new Error(`scan of ${digest} not stored`);
}

function rule(id: string, criteria: DisableRule['criteria'], createdOn: string, expiresOn?: string): DisableRule {
  return {
    id,
    name: id,
    criteria,
    justification: 'accepted risk',
    author: 'alice',
    createdAt: `${createdOn}T00:00:00.000Z`,
    ...(expiresOn ? { expiresAt: `${expiresOn}T00:00:00.000Z` } : {}),
  };
}
