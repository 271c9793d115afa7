import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../src/core/index.js';
import { parseConfig, type ServerConfig } from '../src/config/index.js';
import { createComplianceAuditor, type ComplianceAuditor } from '../src/policy/compliance.js';
import { createClusterSync } from '../src/server/cluster-sync.js';
import { createServer, type ServerParts } from '../src/server/server.js';
import { openClusterStore, openStore } from '../src/store/index.js';
import { storeBackends, travelClock } from './server-support.js';

/**
 * Periodic policy compliance end to end: clusters read from files, synced by the server's cluster
 * collector, audited against their assignments (built-in by default, a file, a violation cap, off),
 * stored, and read back through GET /api/v1/clusters/{cluster}/compliance with its filters — on
 * SQLite and on PostgreSQL. A second sync after the cluster changed replaces the stored compliance;
 * a failing audit is one of the sync's problems and leaves the last compliance in place.
 */

const ADMIN = 'admin-token-0123456789';
const READER = 'reader-token-0123456789';
const T1 = '2026-06-01T10:00:00.000Z';
const T2 = '2026-06-01T10:30:00.000Z';
const T3 = '2026-06-01T11:00:00.000Z';
const FIXTURE = resolve(import.meta.dirname, '../src/policy/__fixtures__/cluster');

const BACKENDS = await storeBackends('server-compliance');

const complianceView = z.object({
  cluster: z.string(),
  auditedAt: z.string().optional(),
  objects: z.number(),
  skipped: z.record(z.string(), z.number()),
  assignments: z.array(
    z.object({
      assignment: z.string(),
      policyId: z.string(),
      effect: z.string(),
      severity: z.string(),
      compliant: z.number(),
      nonCompliant: z.number(),
      errors: z.number(),
      unlistedObjects: z.number(),
      namespaces: z.array(z.object({ namespace: z.string(), compliant: z.number(), nonCompliant: z.number() })),
      violations: z.array(z.object({ kind: z.string(), namespace: z.string(), name: z.string(), message: z.string(), field: z.string().optional() })),
    }),
  ),
});
const errorView = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** One line per assignment: "name effect ok/fail unlisted [ns ok/fail, …] {Kind ns/name, …}". */
function lines(body: unknown): string[] {
  return complianceView.parse(body).assignments.map(
    (a) =>
      `${a.assignment} ${a.effect} ${a.compliant}/${a.nonCompliant} unlisted ${a.unlistedObjects} [${a.namespaces.map((n) => `${n.namespace} ${n.compliant}/${n.nonCompliant}`).join(', ')}] {${a.violations.map((v) => `${v.kind} ${v.namespace}/${v.name}`).join(', ')}}`,
  );
}

describe.each(BACKENDS)('cluster policy compliance over $name', (backend) => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-compliance-'));
  const clock = travelClock(T1);
  let server: ServerParts;
  let config: ServerConfig;
  let drop: () => Promise<void> = async () => undefined;

  const get = async (path: string): Promise<{ status: number; body: unknown }> => {
    const res = await server.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${READER}` } });
    return { status: res.statusCode, body: res.json() };
  };

  beforeAll(async () => {
    if (backend.skip) return;
    const db = await backend.open(dir);
    drop = db.drop;
    cpSync(FIXTURE, join(dir, 'cluster'), { recursive: true });
    writeFileSync(
      join(dir, 'assignments.yaml'),
      ['assignments:', '  - { name: privileged, policy: no-privileged-containers, effect: Deny }', '  - { name: restricted, initiative: pod-security-restricted, effect: Audit }', ''].join('\n'),
    );
    config = parseConfig(
      {
        database: db.database,
        advisoryDb: join(dir, 'no-advisory-db.sqlite'),
        auth: { tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }, { name: 'dashboard', token: READER, role: 'reader' }] },
        workers: { concurrency: 0 },
        clusters: [
          { name: 'offline', from: [join(dir, 'cluster')] },
          { name: 'capped', from: [join(dir, 'cluster')], policy: { assignments: join(dir, 'assignments.yaml'), maxViolationsPerPolicy: 1 } },
          { name: 'off', from: [join(dir, 'cluster')], policy: { enabled: false } },
        ],
      },
      {},
      'test config',
    );
    server = await createServer(config, { clock, log: silentLogger });
  });

  afterAll(async () => {
    await server?.close();
    await drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(backend.skip)('stores each cluster\'s compliance per assignment and namespace with the violating objects', async () => {
    clock.set(T1);
    expect((await server.clusters.tick()).map((r) => [r.cluster, r.status, r.problems])).toEqual([
      ['offline', 'ok', []],
      ['capped', 'ok', []],
      ['off', 'ok', []],
    ]);

    const offline = complianceView.parse((await get('/api/v1/clusters/offline/compliance')).body);
    expect([offline.cluster, offline.auditedAt, offline.objects, offline.skipped]).toEqual(['offline', T1, 5, {}]);
    // The built-in assignments (as `palisade policy audit` without --assignments): baseline Deny, restricted Audit.
    expect(lines(offline)).toEqual([
      'pod-security-restricted/pod-security-standards Audit 1/2 unlisted 0 [monitoring 0/1, shop 1/1] {DaemonSet monitoring/node-agent, Pod shop/debug}',
      'pod-security-baseline/pod-security-standards Deny 2/1 unlisted 0 [monitoring 0/1, shop 2/0] {DaemonSet monitoring/node-agent}',
    ]);
    expect(offline.assignments[1]?.violations[0]?.message).toBe(
      'violates PodSecurity "baseline:latest": host namespaces (hostPID=true) (spec.template.spec.hostPID); privileged (container "agent" must not set securityContext.privileged=true) (spec.template.spec.containers[0].securityContext.privileged)',
    );

    // The cluster's own assignments file, and at most one violation kept per assignment: the other violating object is counted.
    expect(lines((await get('/api/v1/clusters/capped/compliance')).body)).toEqual([
      'restricted/pod-security-standards Audit 1/2 unlisted 1 [monitoring 0/1, shop 1/1] {DaemonSet monitoring/node-agent}',
      'privileged Deny 2/1 unlisted 0 [monitoring 0/1, shop 2/0] {DaemonSet monitoring/node-agent}',
    ]);
    const capped = complianceView.parse((await get('/api/v1/clusters/capped/compliance?effect=Deny')).body);
    expect(capped.assignments[0]?.violations).toEqual([
      { kind: 'DaemonSet', namespace: 'monitoring', name: 'node-agent', message: 'container "agent": runs privileged (securityContext.privileged: true)', field: 'spec.template.spec.containers[0].securityContext.privileged' },
    ]);

    // Audit off: nothing stored, nothing failed.
    expect(complianceView.parse((await get('/api/v1/clusters/off/compliance')).body)).toEqual({ cluster: 'off', objects: 0, skipped: {}, assignments: [] });
  });

  it.skipIf(backend.skip)('filters by namespace, state, effect, policy and assignment, and leaves violations out on request', async () => {
    expect(lines((await get('/api/v1/clusters/offline/compliance?namespace=shop')).body)).toEqual([
      'pod-security-restricted/pod-security-standards Audit 1/2 unlisted 0 [shop 1/1] {Pod shop/debug}',
      'pod-security-baseline/pod-security-standards Deny 2/1 unlisted 0 [shop 2/0] {}',
    ]);
    expect(lines((await get('/api/v1/clusters/offline/compliance?namespace=shop&state=noncompliant')).body)).toEqual([
      'pod-security-restricted/pod-security-standards Audit 1/2 unlisted 0 [shop 1/1] {Pod shop/debug}',
    ]);
    expect(lines((await get('/api/v1/clusters/offline/compliance?namespace=kube-system')).body)).toEqual([]);
    expect(lines((await get('/api/v1/clusters/offline/compliance?effect=Deny&violations=false')).body)).toEqual([
      'pod-security-baseline/pod-security-standards Deny 2/1 unlisted 0 [monitoring 0/1, shop 2/0] {}',
    ]);
    expect(lines((await get('/api/v1/clusters/capped/compliance?policy=no-privileged-containers')).body)).toEqual([
      'privileged Deny 2/1 unlisted 0 [monitoring 0/1, shop 2/0] {DaemonSet monitoring/node-agent}',
    ]);
    expect(lines((await get('/api/v1/clusters/capped/compliance?assignment=restricted%2Fpod-security-standards&state=noncompliant')).body)).toEqual([
      'restricted/pod-security-standards Audit 1/2 unlisted 1 [monitoring 0/1, shop 1/1] {DaemonSet monitoring/node-agent}',
    ]);

    const unknown = await get('/api/v1/clusters/nowhere/compliance');
    expect(unknown.status).toBe(404);
    expect(errorView.parse(unknown.body).error.message).toBe('no cluster "nowhere" is configured (configured: offline, capped, off)');
    const bad = await get('/api/v1/clusters/offline/compliance?effect=Disabled');
    expect(bad.status).toBe(400);
    expect(errorView.parse(bad.body).error.code).toBe('BAD_INPUT');
    const anonymous = await server.app.inject({ method: 'GET', url: '/api/v1/clusters/offline/compliance' });
    expect(anonymous.statusCode).toBe(401);
    const openapi = z.object({ paths: z.record(z.string(), z.unknown()) }).parse((await server.app.inject({ method: 'GET', url: '/openapi.json' })).json());
    expect(Object.keys(openapi.paths)).toContain('/api/v1/clusters/{cluster}/compliance');
  });

  it.skipIf(backend.skip)('replaces the stored compliance when the next sync finds the cluster changed', async () => {
    // The debug pod is gone: shop is compliant with the restricted level now.
    const manifests = join(dir, 'cluster', 'workloads.yaml');
    writeFileSync(manifests, readFileSync(manifests, 'utf8').replace(/---\napiVersion: v1\nkind: Pod\nmetadata: \{ name: debug[^]*?(?=---)/, ''));
    clock.set(T2);
    expect((await server.clusters.syncNow('offline')).status).toBe('ok');
    const offline = complianceView.parse((await get('/api/v1/clusters/offline/compliance')).body);
    expect([offline.auditedAt, offline.objects]).toEqual([T2, 4]);
    expect(lines(offline)).toEqual([
      'pod-security-baseline/pod-security-standards Deny 1/1 unlisted 0 [monitoring 0/1, shop 1/0] {DaemonSet monitoring/node-agent}',
      'pod-security-restricted/pod-security-standards Audit 1/1 unlisted 0 [monitoring 0/1, shop 1/0] {DaemonSet monitoring/node-agent}',
    ]);
  });

  it.skipIf(backend.skip)('a failing audit is a problem of a partial sync; the last compliance stays', async () => {
    // A second replica on the same database whose auditor fails on this inventory.
    const working = createComplianceAuditor({ maxViolationsPerPolicy: 10 });
    const failing: ComplianceAuditor = {
      engine: working.engine,
      audit: () => {
        throw new Error('policy pod-security-standards: CEL evaluation ran out of budget');
      },
    };
    const store = await openStore(config.database, clock);
    const clusterStore = await openClusterStore(config.database, clock);
    const replica = createClusterSync({ clusters: config.clusters, store, clusterStore, clock, log: silentLogger, env: {}, auditors: new Map([['offline', failing]]) });
    try {
      clock.set(T3);
      const result = await replica.syncNow('offline');
      expect([result.status, result.problems]).toEqual(['partial', ['policy compliance audit failed: policy pod-security-standards: CEL evaluation ran out of budget']]);
      const offline = complianceView.parse((await get('/api/v1/clusters/offline/compliance')).body);
      expect([offline.auditedAt, offline.objects, offline.assignments.length]).toEqual([T2, 4, 2]);
      // The rest of the sync was stored: the cluster's state says when, and why it is partial.
      const clusters = z.object({ clusters: z.array(z.object({ name: z.string(), status: z.string(), succeededAt: z.string().optional(), problems: z.array(z.string()) })) }).parse((await get('/api/v1/clusters')).body);
      expect(clusters.clusters.find((c) => c.name === 'offline')).toEqual({
        name: 'offline',
        status: 'partial',
        succeededAt: T3,
        problems: ['policy compliance audit failed: policy pod-security-standards: CEL evaluation ran out of budget'],
      });
    } finally {
      await replica.stop();
      await store.close();
    }
  });

  it.skipIf(backend.skip)('refuses to start with a cluster whose assignments file is wrong, naming the cluster and the file\'s problem', async () => {
    const bad = parseConfig(
      {
        database: join(dir, 'other.sqlite'),
        advisoryDb: join(dir, 'no-advisory-db.sqlite'),
        auth: { tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }] },
        workers: { concurrency: 0 },
        clusters: [{ name: 'broken', from: [join(dir, 'cluster')], policy: { assignments: resolve(import.meta.dirname, '../src/policy/__fixtures__/bad-assignments.yaml') } }],
      },
      {},
      'test config',
    );
    await expect(createServer(bad, { clock, log: silentLogger })).rejects.toThrow(
      'clusters.broken.policy: assignment limits: parameters of policy resource-limits do not match its schema: parameters.memoryLimit: is required',
    );
  });
});
