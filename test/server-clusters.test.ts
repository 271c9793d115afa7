import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../src/core/index.js';
import { parseConfig, type ServerConfig } from '../src/config/index.js';
import { createServer, type ServerParts } from '../src/server/server.js';
import { runGroup } from '../src/cli/__fixtures__/run.js';
import { registerK8s } from '../src/cli/k8s.js';
import { openClusterStore } from '../src/store/index.js';
import { freePort } from './support/registry.js';
import { BUSYBOX_DIGEST, KUBE_FIXTURES, NGINX_DIGEST, nginxFindings, replayCluster, storeScanResult } from './support/cluster-fixture.js';
import { startKubeReplay, type KubeReplay } from './support/kube-api.js';
import { storeBackends, travelClock } from './server-support.js';

/**
 * The server's cluster collector end to end: two clusters (the src/kube fixture cluster read from
 * files, and a "live" cluster replayed over HTTP through a kubeconfig), synced twice with a clock the
 * test moves. Asserts the recommendations' first seen / last seen / resolved rows exactly, running
 * images reaching the running-digests table and linking to stored scan results, what could not be
 * read, attack paths, the explorer (with a second replica building its graphs on demand), saved
 * queries and query errors with their position — on SQLite and on PostgreSQL.
 */

const ADMIN = 'admin-token-0123456789';
const READER = 'reader-token-0123456789';
const KUBE_TOKEN = 'eyJhbGciOiJSUzI1NiIsImtpZCI6InJlcGxheSJ9.collector.signature';
const T1 = '2026-05-04T10:00:00.000Z';
const T1_LATER = '2026-05-04T10:05:00.000Z';
const T2 = '2026-05-04T10:20:00.000Z';


const BACKENDS = await storeBackends('server-clusters');

const recommendationList = z.object({
  total: z.number(),
  items: z.array(
    z.object({
      id: z.string(),
      severity: z.string(),
      kind: z.string(),
      namespace: z.string(),
      name: z.string(),
      container: z.string(),
      detail: z.string(),
      state: z.enum(['open', 'resolved']),
      firstSeen: z.string(),
      lastSeen: z.string(),
      resolvedAt: z.string().optional(),
      remediation: z.string(),
    }),
  ),
});
const clusterList = z.object({
  clusters: z.array(
    z.object({
      name: z.string(),
      source: z.string(),
      status: z.string(),
      running: z.boolean(),
      startedAt: z.string().optional(),
      succeededAt: z.string().optional(),
      nextSyncAt: z.string().optional(),
      error: z.string().optional(),
      problems: z.array(z.string()),
      counts: z.record(z.string(), z.number()),
    }),
  ),
});
const pathList = z.object({ paths: z.array(z.object({ type: z.string(), resource: z.string(), severity: z.string(), evidence: z.string(), firstSeen: z.string(), lastSeen: z.string(), nodes: z.array(z.object({ label: z.string() })) })) });
const answer = z.object({ clusters: z.array(z.string()), result: z.unknown(), count: z.number(), truncated: z.boolean(), builtAt: z.record(z.string(), z.string()), problems: z.record(z.string(), z.array(z.string())) });
const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string(), position: z.object({ line: z.number(), column: z.number(), offset: z.number() }).optional() }) });
const savedQuery = z.object({ id: z.string(), name: z.string(), query: z.string(), description: z.string(), author: z.string(), createdAt: z.string(), updatedAt: z.string(), updatedBy: z.string() });

/** One line per row: "KP-001 high Pod shop/debug:debug first→last [resolved at]". */
function rows(body: unknown): string[] {
  return recommendationList.parse(body).items.map((r) => {
    const where = `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}${r.container ? `:${r.container}` : ''}`;
    const times = `${r.firstSeen.slice(11, 16)}→${r.lastSeen.slice(11, 16)}${r.resolvedAt ? ` resolved ${r.resolvedAt.slice(11, 16)}` : ''}`;
    return `${r.id} ${r.severity} ${where} ${times}`;
  });
}

describe.each(BACKENDS)('cluster collector, recommendations and explorer over $name', (backend) => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-clusters-'));
  const clock = travelClock(T1);
  let replay: KubeReplay;
  let server: ServerParts;
  let replica: ServerParts | undefined;
  let drop: () => Promise<void> = async () => undefined;
  let config: ServerConfig;
  let base = '';

  const api = async (path: string, init: RequestInit & { token?: string; json?: unknown } = {}): Promise<{ status: number; body: unknown }> => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${init.token ?? ADMIN}`);
    const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
    if (init.json !== undefined) headers.set('content-type', 'application/json');
    const response = await fetch(`${base}${path}`, { ...init, body, headers });
    const text = await response.text();
    return { status: response.status, body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text };
  };

  beforeAll(async () => {
    if (backend.skip) return;
    const db = await backend.open(dir);
    drop = db.drop;
    cpSync(join(KUBE_FIXTURES, 'cluster'), join(dir, 'demo'), { recursive: true });
    replay = await startKubeReplay(KUBE_TOKEN);
    for (const [path, answer] of Object.entries(replayCluster(1))) replay.set(path, answer);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    config = parseConfig(
      {
        server: { host: '127.0.0.1', port },
        database: db.database,
        advisoryDb: join(dir, 'no-advisory-db.sqlite'),
        auth: { tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }, { name: 'dashboard', token: READER, role: 'reader' }] },
        workers: { concurrency: 0 },
        // The policy audit is test/server-compliance.test.ts's subject; here it stays off, so the demo
        // cluster's audit (synchronous CPU) cannot hold up the replay's reads past their 0.5 s time-out.
        clusters: [
          { name: 'demo', from: [join(dir, 'demo')], policy: { enabled: false } },
          { name: 'replay', kubeconfig: replay.writeKubeconfig(dir, 'replay-ctx'), context: 'replay-ctx', requestTimeoutSeconds: 0.5, policy: { enabled: false } },
        ],
      },
      {},
      'test config',
    );
    server = await createServer(config, { clock, log: silentLogger });
    await server.app.listen({ host: '127.0.0.1', port });
    // nginx:1.25.3 is pushed (pending, not scanned yet) before the first sync.
    await server.store.recordPush({ registry: 'docker.io', repository: 'library/nginx', tag: '1.25.3', digest: NGINX_DIGEST }, new Date('2026-05-01T00:00:00Z'));
  });

  afterAll(async () => {
    await replica?.close();
    await server?.close();
    await replay?.close();
    await drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(backend.skip)('syncs both clusters at T1: running images, nodes and what could not be read', async () => {
    clock.set(T1);
    const results = await server.clusters.tick();
    expect(results.map((r) => [r.cluster, r.status, r.opened, r.resolved])).toEqual([
      ['demo', 'ok', 46, 0],
      ['replay', 'partial', 17, 0],
    ]);

    const list = clusterList.parse((await api('/api/v1/clusters', { token: READER })).body).clusters;
    expect(list.map((c) => [c.name, c.source, c.status, c.running, c.startedAt, c.succeededAt, c.nextSyncAt])).toEqual([
      ['demo', 'files', 'ok', false, T1, T1, '2026-05-04T10:15:00.000Z'],
      ['replay', 'kubeconfig', 'partial', false, T1, T1, '2026-05-04T10:15:00.000Z'],
    ]);
    expect(list.map((c) => c.counts)).toEqual([
      { objects: 60, unknownObjects: 2, runningImages: 3, nodes: 2, cores: 6, openRecommendations: 46, attackPaths: 4 },
      { objects: 11, unknownObjects: 0, runningImages: 2, nodes: 2, cores: 6, openRecommendations: 17, attackPaths: 0 },
    ]);
    expect(list[0]?.problems).toEqual([]);
    expect(list[1]?.problems).toEqual([
      'could not read cronjobs: no answer within 500 ms',
      'could not read clusterrolebindings: 403 Forbidden (clusterrolebindings.rbac.authorization.k8s.io is forbidden: User "system:serviceaccount:palisade:collector" cannot list resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope)',
    ]);

    // Pods with a digest in their status reach the running-digests table; the pending coredns pod (no digest) does not.
    expect((await api('/api/v1/running-images', { token: READER })).body).toEqual({
      items: [
        { cluster: 'demo', namespace: 'default', pod: 'debug', container: 'debug', image: 'busybox', digest: BUSYBOX_DIGEST },
        { cluster: 'demo', namespace: 'shop', pod: 'web-7d9c6b5f48-k8s7d', container: 'nginx', image: 'nginx:1.25.3', digest: NGINX_DIGEST },
        { cluster: 'demo', namespace: 'shop', pod: 'web-7d9c6b5f48-x2x4q', container: 'nginx', image: 'nginx:1.25.3', digest: NGINX_DIGEST },
        { cluster: 'replay', namespace: 'shop', pod: 'api-5f7d8c9b6-q4w8e', container: 'api', image: 'nginx:1.25.3', digest: NGINX_DIGEST },
        { cluster: 'replay', namespace: 'shop', pod: 'debug', container: 'debug', image: 'busybox:1.36', digest: BUSYBOX_DIGEST },
      ],
    });
    expect((await api('/api/v1/images?running=true', { token: READER })).body).toMatchObject({ total: 1, items: [{ digest: NGINX_DIGEST, status: 'pending', running: true }] });
    // Both clusters' nodes: 3920m and 2 (demo), 4 and 1500m (replay), each rounded up to whole cores.
    expect((await api('/api/v1/usage', { token: READER })).body).toMatchObject({ cores: 12, coresSource: 'discovered' });

    expect(rows((await api('/api/v1/clusters/replay/recommendations?limit=500', { token: READER })).body)).toEqual([
      'KP-001 high Pod shop/debug:debug 10:00→10:00',
      'KP-019 high Pod shop/debug 10:00→10:00',
      'KP-104 high RoleBinding shop/exec-for-alice 10:00→10:00',
      'KP-002 medium Deployment shop/api:api 10:00→10:00',
      'KP-002 medium Pod shop/debug:debug 10:00→10:00',
      'KP-003 medium Deployment shop/api:api 10:00→10:00',
      'KP-003 medium Pod shop/debug:debug 10:00→10:00',
      'KP-008 medium Deployment shop/api:api 10:00→10:00',
      'KP-008 medium Pod shop/debug:debug 10:00→10:00',
      'KP-009 medium Deployment shop/api:api 10:00→10:00',
      'KP-009 medium Pod shop/debug:debug 10:00→10:00',
      'KP-015 medium Deployment shop/api 10:00→10:00',
      'KP-015 medium Pod shop/debug 10:00→10:00',
      'KP-201 medium Namespace shop 10:00→10:00',
      'KP-010 low Deployment shop/api:api 10:00→10:00',
      'KP-010 low Pod shop/debug:debug 10:00→10:00',
      'KP-017 low Pod shop/debug 10:00→10:00',
    ]);
    const demo = recommendationList.parse((await api('/api/v1/clusters/demo/recommendations?limit=500', { token: READER })).body);
    expect(demo.total).toBe(46);
    // nginx is pushed but not scanned yet: no vulnerability recommendation.
    expect(demo.items.filter((r) => r.id === 'KP-018')).toEqual([]);
    expect(pathList.parse((await api('/api/v1/clusters/demo/attack-paths', { token: READER })).body).paths.map((p) => `${p.type} ${p.resource}`)).toEqual([
      'exposed-node-takeover DaemonSet/monitoring/node-exporter',
      'exposed-node-takeover StatefulSet/ci/runner',
      'exposed-pod-risky-service-account Deployment/shop/api',
      'exposed-pod-risky-service-account StatefulSet/ci/runner',
    ]);
  });

  it.skipIf(backend.skip)('does not sync again within the interval', async () => {
    clock.set(T1_LATER);
    expect((await server.clusters.tick()).map((r) => [r.cluster, r.status])).toEqual([
      ['demo', 'skipped'],
      ['replay', 'skipped'],
    ]);
  });

  it.skipIf(backend.skip)('at T2 finds what appeared, resolves what went away, and keeps what it could not read', async () => {
    // Between the syncs: nginx is scanned (its findings come from the server's own store), the demo
    // cluster's debug pod is deleted, and the replayed cluster changes (phase 2).
    await storeScanResult(server.store, { registry: 'docker.io', repository: 'library/nginx', tag: '1.25.3', digest: NGINX_DIGEST }, nginxFindings(), new Date(T1_LATER));
    const dump = join(dir, 'demo', 'kubectl-get.json');
    const parsed = z.object({ items: z.array(z.looseObject({ kind: z.string(), metadata: z.looseObject({ name: z.string() }) })) }).loose().parse(JSON.parse(readFileSync(dump, 'utf8')));
    writeFileSync(dump, JSON.stringify({ ...parsed, items: parsed.items.filter((o) => !(o.kind === 'Pod' && o.metadata.name === 'debug')) }));
    for (const [path, answer] of Object.entries(replayCluster(2))) replay.set(path, answer);

    clock.set(T2);
    const results = await server.clusters.tick();
    expect(results.map((r) => [r.cluster, r.status, r.opened, r.resolved])).toEqual([
      ['demo', 'ok', 1, 12],
      ['replay', 'partial', 2, 9],
    ]);
    expect(results[1]?.problems).toEqual([
      'could not read cronjobs: no answer within 500 ms',
      'could not read rolebindings: 403 Forbidden (rolebindings.rbac.authorization.k8s.io is forbidden: User "system:serviceaccount:palisade:collector" cannot list resource "rolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope)',
    ]);

    expect(rows((await api('/api/v1/clusters/demo/recommendations?state=all&limit=500', { token: READER })).body)).toEqual([
      'KP-105 critical RoleBinding payments/rbac-manager 10:00→10:20',
      'KP-001 high StatefulSet ci/runner:dind 10:00→10:20',
      'KP-004 high DaemonSet monitoring/node-exporter 10:00→10:20',
      'KP-006 high DaemonSet monitoring/node-exporter 10:00→10:20',
      'KP-014 high Deployment monitoring/grafana:grafana 10:00→10:20',
      'KP-014 high Deployment shop/api:api 10:00→10:20',
      'KP-018 high Deployment shop/web:nginx 10:20→10:20',
      'KP-019 high DaemonSet monitoring/node-exporter 10:00→10:20',
      'KP-019 high StatefulSet ci/runner 10:00→10:20',
      'KP-101 high ClusterRoleBinding ops-admins 10:00→10:20',
      'KP-103 high ClusterRoleBinding api-secrets 10:00→10:20',
      'KP-104 high RoleBinding ci/runner-pods 10:00→10:20',
      'KP-106 high ClusterRoleBinding monitoring-view 10:00→10:20',
      'KP-202 high Deployment monitoring/grafana 10:00→10:20',
      'KP-203 high Service shop/api 10:00→10:20',
      'KP-002 medium Deployment monitoring/grafana:grafana 10:00→10:20',
      'KP-002 medium StatefulSet ci/runner:dind 10:00→10:20',
      'KP-003 medium StatefulSet ci/runner:dind 10:00→10:20',
      'KP-005 medium DaemonSet monitoring/node-exporter 10:00→10:20',
      'KP-008 medium Deployment monitoring/grafana:grafana 10:00→10:20',
      'KP-008 medium StatefulSet ci/runner:dind 10:00→10:20',
      'KP-009 medium Deployment monitoring/grafana:grafana 10:00→10:20',
      'KP-009 medium StatefulSet ci/runner:dind 10:00→10:20',
      'KP-015 medium Deployment monitoring/grafana 10:00→10:20',
      'KP-015 medium Deployment shop/api 10:00→10:20',
      'KP-015 medium StatefulSet ci/runner 10:00→10:20',
      'KP-102 medium ClusterRole deploy-everything 10:00→10:20',
      'KP-201 medium Namespace ci 10:00→10:20',
      'KP-201 medium Namespace monitoring 10:00→10:20',
      'KP-204 medium Ingress shop/legacy 10:00→10:20',
      'KP-010 low CronJob ci/nightly-report:report 10:00→10:20',
      'KP-010 low Deployment monitoring/grafana:grafana 10:00→10:20',
      'KP-010 low StatefulSet ci/runner:dind 10:00→10:20',
      'KP-012 low Deployment monitoring/grafana:grafana 10:00→10:20',
      'KP-013 low Deployment monitoring/grafana:grafana 10:00→10:20',
      'KP-002 medium Pod default/debug:debug 10:00→10:00 resolved 10:20',
      'KP-003 medium Pod default/debug:debug 10:00→10:00 resolved 10:20',
      'KP-008 medium Pod default/debug:debug 10:00→10:00 resolved 10:20',
      'KP-009 medium Pod default/debug:debug 10:00→10:00 resolved 10:20',
      'KP-011 medium Pod default/debug:debug 10:00→10:00 resolved 10:20',
      'KP-015 medium Pod default/debug 10:00→10:00 resolved 10:20',
      'KP-201 medium Namespace default 10:00→10:00 resolved 10:20',
      'KP-010 low Pod default/debug:debug 10:00→10:00 resolved 10:20',
      'KP-012 low Pod default/debug:debug 10:00→10:00 resolved 10:20',
      'KP-013 low Pod default/debug:debug 10:00→10:00 resolved 10:20',
      'KP-016 low Pod default/debug 10:00→10:00 resolved 10:20',
      'KP-017 low Pod default/debug 10:00→10:00 resolved 10:20',
    ]);
    // Deleting the debug pod also removed the only object of namespace default: its NetworkPolicy row is resolved too.
    // The role binding could not be read at T2 (403): its row stays open, last seen at T1.
    expect(rows((await api('/api/v1/clusters/replay/recommendations?state=all&limit=500', { token: READER })).body)).toEqual([
      'KP-018 high Deployment shop/api:api 10:20→10:20',
      'KP-101 high ClusterRoleBinding oncall-admin 10:20→10:20',
      'KP-104 high RoleBinding shop/exec-for-alice 10:00→10:00',
      'KP-002 medium Deployment shop/api:api 10:00→10:20',
      'KP-003 medium Deployment shop/api:api 10:00→10:20',
      'KP-008 medium Deployment shop/api:api 10:00→10:20',
      'KP-009 medium Deployment shop/api:api 10:00→10:20',
      'KP-015 medium Deployment shop/api 10:00→10:20',
      'KP-201 medium Namespace shop 10:00→10:20',
      'KP-010 low Deployment shop/api:api 10:00→10:20',
      'KP-001 high Pod shop/debug:debug 10:00→10:00 resolved 10:20',
      'KP-019 high Pod shop/debug 10:00→10:00 resolved 10:20',
      'KP-002 medium Pod shop/debug:debug 10:00→10:00 resolved 10:20',
      'KP-003 medium Pod shop/debug:debug 10:00→10:00 resolved 10:20',
      'KP-008 medium Pod shop/debug:debug 10:00→10:00 resolved 10:20',
      'KP-009 medium Pod shop/debug:debug 10:00→10:00 resolved 10:20',
      'KP-015 medium Pod shop/debug 10:00→10:00 resolved 10:20',
      'KP-010 low Pod shop/debug:debug 10:00→10:00 resolved 10:20',
      'KP-017 low Pod shop/debug 10:00→10:00 resolved 10:20',
    ]);

    // The vulnerability recommendation, with its detail and remediation, through each filter.
    const vulnerable = recommendationList.parse((await api('/api/v1/clusters/demo/recommendations?recommendation=KP-018', { token: READER })).body);
    expect(vulnerable.items.map((r) => [r.kind, r.namespace, r.name, r.container, r.detail, r.state, r.firstSeen])).toEqual([['Deployment', 'shop', 'web', 'nginx', 'image nginx:1.25.3', 'open', T2]]);
    expect(vulnerable.items[0]?.remediation).toMatch(/^Rebuild the image on patched base images/);
    expect(rows((await api('/api/v1/clusters/demo/recommendations?state=resolved&severity=medium&namespace=default', { token: READER })).body)).toEqual([
      'KP-002 medium Pod default/debug:debug 10:00→10:00 resolved 10:20',
      'KP-003 medium Pod default/debug:debug 10:00→10:00 resolved 10:20',
      'KP-008 medium Pod default/debug:debug 10:00→10:00 resolved 10:20',
      'KP-009 medium Pod default/debug:debug 10:00→10:00 resolved 10:20',
      'KP-011 medium Pod default/debug:debug 10:00→10:00 resolved 10:20',
      'KP-015 medium Pod default/debug 10:00→10:00 resolved 10:20',
    ]);
    expect(rows((await api('/api/v1/clusters/demo/recommendations?severity=critical', { token: READER })).body)).toEqual(['KP-105 critical RoleBinding payments/rebac-manager 10:00→10:20'.replace('rebac', 'rbac')]);
    const page = recommendationList.parse((await api('/api/v1/clusters/demo/recommendations?limit=2&offset=1', { token: READER })).body);
    expect([page.total, page.items.map((r) => r.id)]).toEqual([35, ['KP-001', 'KP-004']]);
    expect((await api('/api/v1/clusters/demo/recommendations?state=closed', { token: READER })).status).toBe(400);

    // The scan result reached the attack paths: exposed nginx with a network-exploitable critical finding, first found at T2.
    const paths = pathList.parse((await api('/api/v1/clusters/demo/attack-paths', { token: READER })).body).paths;
    expect(paths.map((p) => `${p.type} ${p.resource} ${p.firstSeen.slice(11, 16)}→${p.lastSeen.slice(11, 16)}`)).toEqual([
      'exposed-vulnerable-pod Deployment/shop/web 10:20→10:20',
      'exposed-node-takeover DaemonSet/monitoring/node-exporter 10:00→10:20',
      'exposed-node-takeover StatefulSet/ci/runner 10:00→10:20',
      'exposed-pod-risky-service-account Deployment/shop/api 10:00→10:20',
      'exposed-pod-risky-service-account StatefulSet/ci/runner 10:00→10:20',
    ]);
    expect(paths[0]?.evidence).toBe('CVE-2024-5535 critical CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H; CVE-2023-44487 high CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H');

    expect(z.object({ items: z.array(z.object({ cluster: z.string(), pod: z.string() })) }).parse((await api('/api/v1/running-images', { token: READER })).body).items.map((r) => `${r.cluster} ${r.pod}`)).toEqual([
      'demo web-7d9c6b5f48-k8s7d',
      'demo web-7d9c6b5f48-x2x4q',
      'replay api-5f7d8c9b6-q4w8e',
    ]);
    const counts = clusterList.parse((await api('/api/v1/clusters', { token: READER })).body).clusters.map((c) => [c.name, c.counts.openRecommendations, c.counts.attackPaths, c.counts.runningImages]);
    expect(counts).toEqual([
      ['demo', 35, 5, 2],
      ['replay', 10, 0, 1],
    ]);
  });

  it.skipIf(backend.skip)('syncs on request (admins only) and names unknown clusters', async () => {
    expect((await api('/api/v1/clusters/demo/sync', { method: 'POST', token: READER })).status).toBe(403);
    const now = await api('/api/v1/clusters/demo/sync', { method: 'POST' });
    expect(now.status).toBe(200);
    expect(now.body).toMatchObject({ cluster: 'demo', status: 'ok', opened: 0, resolved: 0, counts: { openRecommendations: 35, attackPaths: 5 } });
    const unknown = await api('/api/v1/clusters/prod/sync', { method: 'POST' });
    expect([unknown.status, errorBody.parse(unknown.body).error.message]).toEqual([404, 'no cluster "prod" is configured (configured: demo, replay)']);
    expect((await api('/api/v1/clusters/prod/recommendations', { token: READER })).status).toBe(404);
    expect((await api('/api/v1/clusters/demo/recommendations')).status).toBe(200);
    expect((await fetch(`${base}/api/v1/clusters`)).status).toBe(401);
  });

  it.skipIf(backend.skip)('answers explorer queries over both clusters, with findings from the store, capped, and errors with their position', async () => {
    const critical = 'containers.filter(c, c.imageRef.findings.exists(f, f.severity == "critical")).map(c, c.cluster + "/" + c.namespace + "/" + c.pod)';
    const both = answer.parse((await api('/api/v1/explorer/query', { token: READER, method: 'POST', json: { query: critical } })).body);
    expect([both.clusters, both.result, both.count, both.truncated, both.builtAt]).toEqual([
      ['demo', 'replay'],
      ['demo/shop/web-7d9c6b5f48-k8s7d', 'demo/shop/web-7d9c6b5f48-x2x4q', 'replay/shop/api-5f7d8c9b6-q4w8e'],
      3,
      false,
      { demo: T2, replay: T2 },
    ]);
    expect(both.problems.replay?.[0]).toBe('could not read cronjobs: no answer within 500 ms');

    const capped = answer.parse((await api('/api/v1/explorer/query', { token: READER, method: 'POST', json: { query: 'pods.map(p, p.name)', clusters: ['replay'], limit: 1 } })).body);
    expect([capped.clusters, capped.result, capped.count, capped.truncated]).toEqual([['replay'], ['coredns-5d78c9869d-8xk2p'], 2, true]);
    const scalar = answer.parse((await api('/api/v1/explorer/query', { token: READER, method: 'POST', json: { query: 'nodes.map(n, n.allocatableCpuMillis)', clusters: ['replay', 'demo'] } })).body);
    expect([scalar.clusters, scalar.result]).toEqual([['replay', 'demo'], [4000, 1500, 3920, 2000]]);

    const syntax = await api('/api/v1/explorer/query', { token: READER, method: 'POST', json: { query: 'pods.filter(p, p.privileged &&)' } });
    expect(syntax.status).toBe(400);
    expect(errorBody.parse(syntax.body).error).toEqual({
      code: 'BAD_INPUT',
      message: 'query error at 1:29: "&&" is missing what comes after it\n  pods.filter(p, p.privileged &&)\n                              ^',
      position: { line: 1, column: 29, offset: 28 },
    });
    const field = await api('/api/v1/explorer/query', { token: READER, method: 'POST', json: { query: 'pods.filter(p,\n  p.privilegd)' } });
    expect([field.status, errorBody.parse(field.body).error.position]).toEqual([400, { line: 2, column: 5, offset: 19 }]);
    expect(errorBody.parse(field.body).error.message).toMatch(/^query error at 2:5: no field "privilegd" here/);
    const unknown = await api('/api/v1/explorer/query', { token: READER, method: 'POST', json: { query: 'pods', clusters: ['prod'] } });
    expect([unknown.status, errorBody.parse(unknown.body).error.message]).toEqual([404, 'no cluster "prod" is configured (configured: demo, replay)']);
    expect((await api('/api/v1/explorer/query', { token: READER, method: 'POST', json: { clusters: ['demo'] } })).status).toBe(400);
  });

  it.skipIf(backend.skip)('palisade k8s query --server asks the server', async () => {
    const run = await runGroup(registerK8s, ['k8s', 'query', 'pods.map(p, p.name)', '--server', base, '--token', READER, '--clusters', 'replay', '--limit', '1'], dir);
    expect(run.out).toBe('"coredns-5d78c9869d-8xk2p"\n1 result\n');
    expect(run.err).toBe('palisade: replay: could not read cronjobs: no answer within 500 ms\npalisade: replay: could not read rolebindings: 403 Forbidden (rolebindings.rbac.authorization.k8s.io is forbidden: User "system:serviceaccount:palisade:collector" cannot list resource "rolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope)\npalisade: showing 1 of 2 results; raise --limit\n');
    await expect(runGroup(registerK8s, ['k8s', 'query', 'pods.filter(p, p.privileged &&)', '--server', base, '--token', READER], dir)).rejects.toThrow(
      'the server refused the query: query error at 1:29: "&&" is missing what comes after it',
    );
    await expect(runGroup(registerK8s, ['k8s', 'query', 'pods', '--server', base, '--from', dir], dir)).rejects.toThrow('--server queries the server');
  });

  it.skipIf(backend.skip)('a second replica skips syncs another ran this interval and builds its graphs on demand', async () => {
    replica = await createServer(config, { clock, log: silentLogger, workerId: 'replica-b' });
    clock.set('2026-05-04T10:21:00.000Z');
    expect((await replica.clusters.tick()).map((r) => [r.cluster, r.status])).toEqual([
      ['demo', 'skipped'],
      ['replay', 'skipped'],
    ]);
    const response = await replica.app.inject({ method: 'POST', url: '/api/v1/explorer/query', headers: { authorization: `Bearer ${READER}` }, payload: { query: 'pods.filter(p, p.privileged).map(p, p.cluster + ":" + p.owner)' } });
    const built = answer.parse(response.json());
    expect([built.result, built.builtAt]).toEqual([['demo:StatefulSet/ci/runner'], { demo: '2026-05-04T10:21:00.000Z', replay: '2026-05-04T10:21:00.000Z' }]);
    // The replica read the clusters but stored nothing: the stored rows are still those of the T2 sync.
    const states = clusterList.parse((await replica.app.inject({ method: 'GET', url: '/api/v1/clusters', headers: { authorization: `Bearer ${READER}` } })).json()).clusters;
    expect(states.map((c) => [c.name, c.startedAt])).toEqual([
      ['demo', T2],
      ['replay', T2],
    ]);
  });

  it.skipIf(backend.skip)('keeps saved queries: create, list, read, replace, run, delete', async () => {
    clock.set('2026-05-04T11:00:00.000Z');
    const body = { name: 'exposed-critical', query: 'pods.filter(p, p.internetExposed && p.images.exists(i, i.findings.exists(f, f.severity == "critical"))).map(p, p.owner)', description: 'Internet-exposed pods running an image with a critical finding' };
    expect((await api('/api/v1/explorer/queries', { token: READER, method: 'POST', json: body })).status).toBe(403);
    const created = await api('/api/v1/explorer/queries', { method: 'POST', json: body });
    expect(created.status).toBe(201);
    const saved = savedQuery.parse(created.body);
    expect(saved).toEqual({ id: saved.id, ...body, author: 'ops', createdAt: '2026-05-04T11:00:00.000Z', updatedAt: '2026-05-04T11:00:00.000Z', updatedBy: 'ops' });
    const duplicate = await api('/api/v1/explorer/queries', { method: 'POST', json: body });
    expect([duplicate.status, errorBody.parse(duplicate.body).error.code]).toEqual([409, 'CONFLICT']);
    const invalid = await api('/api/v1/explorer/queries', { method: 'POST', json: { name: 'broken', query: 'pods.filter(p, p.name == "a)' } });
    expect([invalid.status, errorBody.parse(invalid.body).error.position]).toEqual([400, { line: 1, column: 26, offset: 25 }]);

    expect(z.object({ queries: z.array(savedQuery) }).parse((await api('/api/v1/explorer/queries', { token: READER })).body).queries.map((q) => q.name)).toEqual(['exposed-critical']);
    expect(savedQuery.parse((await api(`/api/v1/explorer/queries/${saved.id}`, { token: READER })).body)).toEqual(saved);

    const run = await api(`/api/v1/explorer/queries/${saved.id}/run`, { token: READER, method: 'POST', json: {} });
    expect(run.status).toBe(200);
    expect(z.object({ query: savedQuery, result: z.unknown(), clusters: z.array(z.string()) }).parse(run.body)).toMatchObject({ query: { id: saved.id }, result: ['Deployment/shop/web', 'Deployment/shop/web'], clusters: ['demo', 'replay'] });

    clock.set('2026-05-04T11:05:00.000Z');
    const replaced = await api(`/api/v1/explorer/queries/${saved.id}`, { method: 'PUT', json: { name: 'privileged', query: 'pods.filter(p, p.privileged).map(p, p.owner)' } });
    expect(savedQuery.parse(replaced.body)).toEqual({ ...saved, name: 'privileged', query: 'pods.filter(p, p.privileged).map(p, p.owner)', description: '', updatedAt: '2026-05-04T11:05:00.000Z', updatedBy: 'ops' });
    const other = savedQuery.parse((await api('/api/v1/explorer/queries', { method: 'POST', json: { name: 'nodes', query: 'nodes' } })).body);
    expect((await api(`/api/v1/explorer/queries/${other.id}`, { method: 'PUT', json: { name: 'privileged', query: 'nodes' } })).status).toBe(409);
    const rerun = await api(`/api/v1/explorer/queries/${saved.id}/run`, { token: READER, method: 'POST', json: { clusters: ['demo'] } });
    expect(rerun.body).toMatchObject({ result: ['StatefulSet/ci/runner'], clusters: ['demo'] });

    expect((await api(`/api/v1/explorer/queries/${saved.id}`, { token: READER, method: 'DELETE' })).status).toBe(403);
    expect((await api(`/api/v1/explorer/queries/${saved.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(`/api/v1/explorer/queries/${saved.id}`, { token: READER })).status).toBe(404);
    expect((await api(`/api/v1/explorer/queries/${saved.id}/run`, { token: READER, method: 'POST', json: {} })).status).toBe(404);
    expect((await api('/api/v1/explorer/queries/not-a-uuid', { token: READER })).status).toBe(400);
  });

  it.skipIf(backend.skip)('leaves out findings hidden by a disable rule: the vulnerability recommendation and path resolve', async () => {
    clock.set('2026-05-04T12:30:00.000Z');
    const rule = await api('/api/v1/disable-rules', { method: 'POST', json: { name: 'nginx accepted', criteria: { digests: [NGINX_DIGEST] }, justification: 'nginx is behind the WAF until the 1.27 rollout' } });
    expect(rule.status).toBe(201);
    const synced = await api('/api/v1/clusters/demo/sync', { method: 'POST' });
    expect(synced.body).toMatchObject({ status: 'ok', opened: 0, resolved: 1, counts: { openRecommendations: 34, attackPaths: 4 } });
    expect(rows((await api('/api/v1/clusters/demo/recommendations?recommendation=KP-018&state=all', { token: READER })).body)).toEqual(['KP-018 high Deployment shop/web:nginx 10:20→10:20 resolved 12:30']);
  });

  it.skipIf(backend.skip)('a failed sync says why and keeps the stored results', async () => {
    const before = clusterList.parse((await api('/api/v1/clusters', { token: READER })).body).clusters.find((c) => c.name === 'demo');
    clock.set('2026-05-04T12:40:00.000Z');
    renameSync(join(dir, 'demo'), join(dir, 'demo-away'));
    try {
      const failed = await api('/api/v1/clusters/demo/sync', { method: 'POST' });
      expect(failed.body).toMatchObject({ cluster: 'demo', status: 'failed', startedAt: '2026-05-04T12:40:00.000Z', counts: before?.counts });
      expect(z.object({ error: z.string() }).parse(failed.body).error).toMatch(/^cannot read \S+demo: ENOENT/);
    } finally {
      renameSync(join(dir, 'demo-away'), join(dir, 'demo'));
    }
    const after = clusterList.parse((await api('/api/v1/clusters', { token: READER })).body).clusters.find((c) => c.name === 'demo');
    expect([after?.status, after?.startedAt, after?.succeededAt, after?.counts]).toEqual(['failed', '2026-05-04T12:40:00.000Z', '2026-05-04T12:30:00.000Z', before?.counts]);
    expect(after?.error).toMatch(/^cannot read /);
    expect(recommendationList.parse((await api('/api/v1/clusters/demo/recommendations', { token: READER })).body).total).toBe(34);
  });

  it.skipIf(backend.skip)("gives a cluster's sync lease to one claimant at a time, and to another once it runs out", async () => {
    const a = await openClusterStore(config.database, clock);
    const b = await openClusterStore(config.database, clock);
    try {
      const at = new Date('2026-05-04T12:00:00.000Z');
      const later = (seconds: number): Date => new Date(at.getTime() + seconds * 1000);
      const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? a : b).claimSync('race', 'files', `owner-${i}`, at, { intervalMs: 900_000, leaseMs: 120_000 })));
      expect(claims.filter(Boolean)).toHaveLength(1);
      const winner = `owner-${claims.indexOf(true)}`;
      // Even a forced claim waits for a live lease; once it has run out (a replica died), another takes over.
      expect(await b.claimSync('race', 'files', 'late', later(60), { intervalMs: 0, leaseMs: 120_000, force: true })).toBe(false);
      expect(await b.claimSync('race', 'files', 'late', later(180), { intervalMs: 0, leaseMs: 120_000, force: true })).toBe(true);
      const outcome = { status: 'ok' as const, problems: [], counts: { objects: 1, unknownObjects: 0, runningImages: 0, nodes: 0, cores: 0 }, durationMs: 5, results: { recommendations: [], attackPaths: [], unreadableKinds: [] } };
      expect((await a.finishSync('race', winner, 'sync-1', outcome, { seenAt: at, finishedAt: later(200) })).committed).toBe(false);
      expect((await b.finishSync('race', 'late', 'sync-2', outcome, { seenAt: later(180), finishedAt: later(181) })).committed).toBe(true);
      const state = (await a.syncStates(later(181))).find((s) => s.cluster === 'race');
      expect(state).toMatchObject({ status: 'ok', running: false, startedAt: later(180).toISOString(), finishedAt: later(181).toISOString(), counts: { objects: 1 } });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it.skipIf(backend.skip)('documents the endpoints in the OpenAPI document', async () => {
    const doc = z.object({ paths: z.record(z.string(), z.record(z.string(), z.unknown())) }).parse((await api('/openapi.json')).body);
    const mine = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/api/v1/explorer') || /^\/api\/v1\/clusters(\/\{cluster\}\/(recommendations|attack-paths|sync))?$/.test(path))
      .map(([path, methods]) => `${Object.keys(methods).sort().join(',')} ${path}`)
      .sort();
    expect(mine).toEqual([
      'delete,get,put /api/v1/explorer/queries/{id}',
      'get /api/v1/clusters',
      'get /api/v1/clusters/{cluster}/attack-paths',
      'get /api/v1/clusters/{cluster}/recommendations',
      'get,post /api/v1/explorer/queries',
      'post /api/v1/clusters/{cluster}/sync',
      'post /api/v1/explorer/queries/{id}/run',
      'post /api/v1/explorer/query',
    ]);
  });
});
