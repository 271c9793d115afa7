import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { fixedClock, type Finding } from '../core/index.js';
import type { Alert } from '../threat/alert.js';
import { openStore, type Store } from './index.js';

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

async function open(kind: 'sqlite' | 'postgres'): Promise<Store> {
  const clock = fixedClock('2026-04-01T00:00:00Z');
  if (kind === 'sqlite') return openStore(':memory:', clock);
  const name = `palisade_test_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  created.push(name);
  return openStore(`postgres://postgres@127.0.0.1:5432/${name}`, clock);
}

afterAll(async () => {
  if (created.length === 0) return;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
});

const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;
const at = (iso: string): Date => new Date(iso);

function finding(advisoryId: string, severity: Finding['severity'], name = 'openssl'): Finding {
  return {
    advisoryId,
    aliases: [],
    package: { type: 'deb', name, version: '3.0.11-1~deb12u2', purl: `pkg:deb/debian/${name}@3.0.11-1~deb12u2?distro=debian-12`, locations: [{ path: '/var/lib/dpkg/status' }] },
    installedVersion: '3.0.11-1~deb12u2',
    fixedVersions: ['3.0.15-1~deb12u1'],
    fixState: 'fixed',
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

  it('claims a meta key once, keeps revoked disable rules, counts distinct digests per month', async () => {
    const store = await open(kind);
    try {
      expect([await store.metaClaim('reevaluate:daily:2026-04-01', 'a'), await store.metaClaim('reevaluate:daily:2026-04-01', 'b')]).toEqual([true, false]);
      await store.createDisableRule({ id: '6f9619ff-8b86-4d11-b42d-00c04fc964ff', name: 'n', criteria: { cves: ['CVE-2024-5535'] }, justification: 'accepted risk', author: 'alice', createdAt: '2026-04-01T00:00:00.000Z' });
      expect(await store.revokeDisableRule('6f9619ff-8b86-4d11-b42d-00c04fc964ff', 'bob', at('2026-04-02T00:00:00Z'))).toBe(true);
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
});
