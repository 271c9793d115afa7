import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { z } from 'zod';
import { silentLogger, type Clock } from '../src/core/index.js';
import { parseConfig } from '../src/config/index.js';
import { createServer, type ServerParts } from '../src/server/server.js';
import { createShipper } from '../src/sensor/ship.js';
import { alertSchema } from '../src/store/index.js';
import { freePort } from './support/registry.js';
import { storeBackends, views, waitFor } from './server-support.js';

/**
 * Threat alerts reaching the server: kube-apiserver's audit webhook backend (EventList batches) and
 * the node sensors' batches, stored over SQLite and PostgreSQL, listed, filtered and triaged. The
 * last block runs `palisade server` as a process (needs `npm run build`).
 */
const AUDIT_TOKEN = 'audit-webhook-token-0123456789';
const SENSOR_TOKEN = 'sensor-node-token-0123456789';
const ADMIN = 'admin-token-0123456789';
const READER = 'reader-token-0123456789';

const user = { username: 'alice@example.com', groups: ['system:authenticated', 'devs'] };
const kubectl = 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350';

function execEvent(auditID: string, at: string): Record<string, unknown> {
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID,
    stage: 'ResponseStarted',
    requestURI: '/api/v1/namespaces/payments/pods/api-5c9d7b8f4-qx2lm/exec?command=%2Fbin%2Fsh&container=api&stdin=true&stdout=true&tty=true',
    verb: 'create',
    user,
    sourceIPs: ['10.20.0.15'],
    userAgent: kubectl,
    objectRef: { resource: 'pods', namespace: 'payments', name: 'api-5c9d7b8f4-qx2lm', apiVersion: 'v1', subresource: 'exec' },
    responseStatus: { metadata: {}, code: 101 },
    requestReceivedTimestamp: at,
    stageTimestamp: at,
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed by ClusterRoleBinding "devs-edit" of ClusterRole "edit" to Group "devs"' },
  };
}

const PRIVILEGED_POD = {
  kind: 'Event',
  apiVersion: 'audit.k8s.io/v1',
  level: 'RequestResponse',
  auditID: '9a7e3b21-55c4-4f0d-8b1a-7d2c9e0f1a02',
  stage: 'ResponseComplete',
  requestURI: '/api/v1/namespaces/default/pods?fieldManager=kubectl-run',
  verb: 'create',
  user,
  sourceIPs: ['10.20.0.15'],
  userAgent: kubectl,
  objectRef: { resource: 'pods', namespace: 'default', name: 'debug-node', apiVersion: 'v1' },
  responseStatus: { metadata: {}, code: 201 },
  requestObject: {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name: 'debug-node', namespace: 'default' },
    spec: { containers: [{ name: 'shell', image: 'docker.io/library/busybox:1.36', command: ['sleep', '3600'], securityContext: { privileged: true } }] },
  },
  requestReceivedTimestamp: '2026-03-10T09:59:12.500000Z',
  stageTimestamp: '2026-03-10T09:59:12.541000Z',
  annotations: { 'authorization.k8s.io/decision': 'allow' },
};

const eventList = (items: unknown[]): string => JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items });
const FIRST_BATCH = eventList([execEvent('6c1d2f3a-0b1e-4c8e-9a55-3f1d2e4b5a01', '2026-03-10T09:58:01.120301Z'), PRIVILEGED_POD]);

/** What src/sensor/ship.ts sends: the shared alert model, runtime source. */
function runtimeAlert(id: string, rule: string, severity: string, time: string, pod: string): Record<string, unknown> {
  return {
    id,
    rule,
    title: rule === 'K8S.NODE_DigitalCurrencyMining' ? 'Digital currency mining related behavior detected' : 'Reverse shell detected',
    severity,
    source: 'runtime',
    time,
    message: `xmrig(4242) in pod shop/${pod} ran "./xmrig -o stratum+tcp://pool.minexmr.example:4444 --donate-level 1" [xmrig(4242) < sh(4200) < containerd-shim(4100)] on node worker-3`,
    subject: { user: 'uid:0', groups: [], sourceIPs: [] },
    target: { namespace: 'shop', name: pod, container: 'web', image: 'ghcr.io/example/shop-web@sha256:3b1f8c6d0e2a4f5b7c9d1e3f5a7b9c1d3e5f7a9b1c3d5e7f9a1b3c5d7e9f1a3b' },
    mitre: { tactics: ['Impact'], techniques: ['T1496'] },
    evidence: [{ node: 'worker-3', process: { pid: 4242, exe: '/tmp/xmrig', argv: ['./xmrig', '-o', 'stratum+tcp://pool.minexmr.example:4444'] } }],
    groupKey: `${rule}||uid:0|shop|||${pod}|`,
    lastSeen: time,
    count: 1,
    status: 'new',
  };
}

const alertView = z.object({
  id: z.string(),
  rule: z.string(),
  severity: z.string(),
  source: z.string(),
  cluster: z.string().optional(),
  time: z.string(),
  lastSeen: z.string(),
  count: z.number(),
  status: z.string(),
  message: z.string(),
  statusChangedBy: z.string().optional(),
  evidence: z.array(z.unknown()),
  subject: z.object({ user: z.string().optional() }),
  target: z.object({ namespace: z.string().optional(), name: z.string().optional() }),
});
const listView = z.object({ total: z.number(), items: z.array(alertView) });
const auditAnswer = z.object({ cluster: z.string(), events: z.number(), alerts: z.number(), inserted: z.number(), merged: z.number(), duplicates: z.number(), suppressed: z.number() });
const sensorAnswer = z.object({ duplicate: z.boolean(), inserted: z.number(), merged: z.number(), duplicates: z.number(), rejected: z.number(), reasons: z.record(z.string(), z.number()).optional() });

const fixedAt = (iso: string): Clock => ({ now: () => new Date(iso) });

function serverConfig(database: string, dir: string, overrides: Record<string, unknown> = {}) {
  return parseConfig(
    {
      server: { host: '127.0.0.1', port: 0 },
      database,
      advisoryDb: join(dir, 'no-advisories.sqlite'),
      auth: { tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }, { name: 'dashboard', token: READER, role: 'reader' }] },
      workers: { concurrency: 0 },
      alerts: {
        auditTokens: [{ name: 'kube-apiserver', token: AUDIT_TOKEN, cluster: 'prod-eu' }],
        auditBodyLimit: 256 * 1024,
        auditMaxConcurrent: 1,
        sensorTokens: [{ name: 'node-worker-3', token: SENSOR_TOKEN, cluster: 'prod-eu' }],
        ...overrides,
      },
    },
    {},
    'test',
  );
}

const BACKENDS = await storeBackends('server-alerts');

describe.each(BACKENDS)('alerts API over $name', (backend) => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-alerts-'));
  let server: ServerParts;
  let drop: () => Promise<void> = async () => undefined;
  let base: string;

  const post = async (path: string, body: string, headers: Record<string, string>): Promise<{ status: number; json: unknown; headers: Record<string, unknown> }> => {
    const res = await server.app.inject({ method: 'POST', url: path, payload: body, headers: { 'content-type': 'application/json', ...headers } });
    return { status: res.statusCode, json: res.body.startsWith('{') ? res.json() : res.body, headers: res.headers };
  };
  const get = async (path: string, token = READER): Promise<{ status: number; json: unknown }> => {
    const res = await server.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${token}` } });
    return { status: res.statusCode, json: res.json() };
  };
  const list = async (query: string): Promise<z.infer<typeof listView>> => {
    const res = await get(`/api/v1/alerts${query}`);
    expect(res.status).toBe(200);
    return listView.parse(res.json);
  };
  const audit = (body: string, token = AUDIT_TOKEN, query = ''): ReturnType<typeof post> => post(`/api/v1/audit/events${query}`, body, { authorization: `Bearer ${token}` });
  const sensor = (body: unknown, key: string | undefined, token = SENSOR_TOKEN): ReturnType<typeof post> =>
    post('/api/v1/sensor/alerts', JSON.stringify(body), { authorization: `Bearer ${token}`, ...(key !== undefined ? { 'idempotency-key': key } : {}) });

  beforeAll(async () => {
    if (backend.skip) return;
    const db = await backend.open(dir);
    drop = db.drop;
    server = await createServer(serverConfig(db.database, dir), { clock: fixedAt('2026-03-10T10:00:00Z'), log: silentLogger });
    base = await server.app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await server?.close();
    await drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(backend.skip)('an EventList with an exec into a pod and a privileged pod creation stores one alert per rule', async () => {
    const res = await audit(FIRST_BATCH);
    expect(res.status).toBe(200);
    expect(auditAnswer.parse(res.json)).toEqual({ cluster: 'prod-eu', events: 2, alerts: 2, inserted: 2, merged: 0, duplicates: 0, suppressed: 0 });
    const page = await list('?cluster=prod-eu');
    expect(page.total).toBe(2);
    expect(page.items.map((a) => [a.rule, a.severity, a.source, a.time, a.count, a.status, a.target.namespace, a.target.name, a.subject.user])).toEqual([
      ['K8S_PrivilegedContainer', 'info', 'audit', '2026-03-10T09:59:12.500Z', 1, 'new', 'default', 'debug-node', 'alice@example.com'],
      ['PAL_ExecIntoPod', 'low', 'audit', '2026-03-10T09:58:01.120Z', 1, 'new', 'payments', 'api-5c9d7b8f4-qx2lm', 'alice@example.com'],
    ]);
    expect(page.items[1]?.message).toBe(`alice@example.com ran a command in pod payments/api-5c9d7b8f4-qx2lm (${kubectl}) from 10.20.0.15`);
    expect(page.items[1]?.evidence).toHaveLength(1);
  });

  it.skipIf(backend.skip)('a resent batch is stored once; a repeat within the window joins the stored alert', async () => {
    const again = await audit(FIRST_BATCH);
    expect(auditAnswer.parse(again.json)).toMatchObject({ events: 2, alerts: 2, inserted: 0, merged: 0, duplicates: 2 });
    const repeat = await audit(eventList([execEvent('0f5e9d1c-7a2b-4e3d-8c6f-1b2a3c4d5e03', '2026-03-10T10:01:30.000000Z')]));
    expect(auditAnswer.parse(repeat.json)).toMatchObject({ events: 1, alerts: 1, inserted: 0, merged: 1, duplicates: 0 });
    const page = await list('?rule=PAL_ExecIntoPod');
    expect(page.items.map((a) => [a.count, a.time, a.lastSeen, a.evidence.length])).toEqual([[2, '2026-03-10T09:58:01.120Z', '2026-03-10T10:01:30.000Z', 2]]);
    // The cluster query parameter wins over the token's cluster.
    const staging = await audit(eventList([execEvent('2b3c4d5e-6f70-4812-9a3b-4c5d6e7f8a04', '2026-03-10T10:02:00.000000Z')]), AUDIT_TOKEN, '?cluster=staging-us');
    expect(auditAnswer.parse(staging.json)).toMatchObject({ cluster: 'staging-us', inserted: 1 });
  });

  it.skipIf(backend.skip)('audit webhook refusals: missing or wrong token 401, malformed JSON 400, not an EventList 400, too large 413', async () => {
    // One at a time: alerts.auditMaxConcurrent is 1 here, so parallel posts would get 429.
    const cases: [string, () => Promise<{ status: number; json: unknown }>, number, string][] = [
      ['no token', () => post('/api/v1/audit/events', FIRST_BATCH, {}), 401, 'missing token: send "Authorization: Bearer <token>"'],
      ['wrong token', () => audit(FIRST_BATCH, 'not-the-audit-token-000'), 401, 'unknown token; check the tokens configured under alerts.auditTokens'],
      ['an API token is not an audit token', () => audit(FIRST_BATCH, ADMIN), 401, 'unknown token; check the tokens configured under alerts.auditTokens'],
      ['truncated JSON', () => audit(FIRST_BATCH.slice(0, 200)), 400, 'audit webhook body is not JSON: expected an audit.k8s.io/v1 EventList'],
      ['not an EventList', () => audit(JSON.stringify({ kind: 'Event', apiVersion: 'audit.k8s.io/v1' })), 400, 'audit webhook body is not an audit.k8s.io EventList: point --audit-webhook-config-file at this endpoint'],
      ['bad cluster', () => audit(FIRST_BATCH, AUDIT_TOKEN, '?cluster=%20bad'), 400, 'query: cluster: letters, digits, ".", "_", ":" or "-", at most 200'],
      ['over alerts.auditBodyLimit', () => audit(eventList(Array.from({ length: 400 }, () => PRIVILEGED_POD))), 413, 'request body too large; the limit of this endpoint is 262144 bytes'],
    ];
    for (const [what, send, status, message] of cases) {
      const res = await send();
      expect([what, res.status, views.error.safeParse(res.json).data?.error.message ?? res.json]).toEqual([what, status, message]);
    }
    expect((await list('')).total).toBe(3);
  });

  it.skipIf(backend.skip)('answers 429 while alerts.auditMaxConcurrent batches are in flight, then accepts again', async () => {
    // A slow sender holds the only slot: headers sent, body still streaming.
    const url = new URL('/api/v1/audit/events', base);
    let slowStatus = 0;
    const slow = httpRequest(url, { method: 'POST', headers: { authorization: `Bearer ${AUDIT_TOKEN}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(FIRST_BATCH)) } });
    const slowDone = new Promise<void>((done) => slow.on('response', (r) => ((slowStatus = r.statusCode ?? 0), r.resume(), r.on('end', () => done()))));
    slow.write(FIRST_BATCH.slice(0, 100));
    await waitFor('the slow batch to take the slot', async () => (server.alerts.auditBusy() === 1 ? true : undefined), 5000, 10);
    const busy = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${AUDIT_TOKEN}`, 'content-type': 'application/json' }, body: FIRST_BATCH });
    expect([busy.status, busy.headers.get('retry-after'), views.error.parse(await busy.json()).error.code]).toEqual([429, '1', 'BUSY']);
    slow.end(FIRST_BATCH.slice(100));
    await slowDone;
    expect(slowStatus).toBe(200);
    await waitFor('the slot to be released', async () => (server.alerts.auditBusy() === 0 ? true : undefined), 5000, 10);
    const after = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${AUDIT_TOKEN}`, 'content-type': 'application/json' }, body: FIRST_BATCH });
    expect(after.status).toBe(200);
  });

  it.skipIf(backend.skip)('a sensor batch is stored once per Idempotency-Key; bad alerts are skipped and counted', async () => {
    const batch = {
      schemaVersion: 1,
      node: 'worker-3',
      batchId: '4f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f',
      alerts: [
        runtimeAlert('a1b2c3d4e5f6a7b8c9d0', 'K8S.NODE_DigitalCurrencyMining', 'high', '2026-03-10T09:59:40.250Z', 'web-7d9f8c6b5-x2x9p'),
        runtimeAlert('b2c3d4e5f6a7b8c9d0e1', 'K8S.NODE_ReverseShell', 'critical', '2026-03-10T09:59:45.000Z', 'web-7d9f8c6b5-x2x9p'),
        { ...runtimeAlert('c3d4e5f6a7b8c9d0e1f2', 'K8S.NODE_ReverseShell', 'critical', '2026-03-10T09:59:46.000Z', 'web-1'), severity: 'catastrophic' },
      ],
    };
    const first = await sensor(batch, batch.batchId);
    expect(first.status).toBe(200);
    expect(sensorAnswer.parse(first.json)).toEqual({
      duplicate: false,
      inserted: 2,
      merged: 0,
      duplicates: 0,
      rejected: 1,
      reasons: { 'severity: Invalid option: expected one of "critical"|"high"|"medium"|"low"|"info"': 1 },
    });
    const resent = await sensor(batch, batch.batchId);
    expect(sensorAnswer.parse(resent.json)).toMatchObject({ duplicate: true, inserted: 0 });
    const page = await list('?source=runtime');
    expect(page.items.map((a) => [a.rule, a.severity, a.cluster, a.count, a.time])).toEqual([
      ['K8S.NODE_ReverseShell', 'critical', 'prod-eu', 1, '2026-03-10T09:59:45.000Z'],
      ['K8S.NODE_DigitalCurrencyMining', 'high', 'prod-eu', 1, '2026-03-10T09:59:40.250Z'],
    ]);
    const refusals: [string, Promise<{ status: number; json: unknown }>, number, string][] = [
      ['no token', post('/api/v1/sensor/alerts', JSON.stringify(batch), { 'idempotency-key': 'k1' }), 401, 'missing token: send "Authorization: Bearer <token>"'],
      ['wrong token', sensor(batch, 'k2', AUDIT_TOKEN), 401, 'unknown token; check the tokens configured under alerts.sensorTokens'],
      ['no key', sensor(batch, undefined), 400, 'missing Idempotency-Key header: send the batch id, so a resent batch is stored once'],
      ['bad envelope', sensor({ ...batch, schemaVersion: 2 }, 'k3'), 400, 'sensor batch: schemaVersion: Invalid input: expected 1'],
      ['malformed JSON', post('/api/v1/sensor/alerts', '{"schemaVersion": 1, "alerts": [', { authorization: `Bearer ${SENSOR_TOKEN}`, 'idempotency-key': 'k4' }), 400, 'request body is not valid JSON: '],
    ];
    for (const [what, pending, status, message] of refusals) {
      const res = await pending;
      const got = views.error.parse(res.json).error.message;
      expect([what, res.status, got.startsWith('request body is not valid JSON: ') ? 'request body is not valid JSON: ' : got]).toEqual([what, status, message]);
    }
    expect((await list('?source=runtime')).total).toBe(2);
  });

  it.skipIf(backend.skip)("the sensor's own shipper delivers a batch the server stores", async () => {
    const shipper = createShipper({ server: base, token: SENSOR_TOKEN, node: 'worker-7', clock: fixedAt('2026-03-10T10:00:05Z'), log: silentLogger, initialBackoffMs: 1 });
    shipper.enqueue([alertSchema.parse(runtimeAlert('d4e5f6a7b8c9d0e1f2a3', 'K8S.NODE_DigitalCurrencyMining', 'high', '2026-03-10T09:59:50.000Z', 'web-2'))]);
    shipper.seal();
    await shipper.pump();
    expect(shipper.counters()).toMatchObject({ batchesSent: 1, failures: 0, rejectedBatches: 0 });
    expect((await list('?source=runtime')).items.map((a) => [a.target.name, a.time])).toEqual([
      ['web-2', '2026-03-10T09:59:50.000Z'],
      ['web-7d9f8c6b5-x2x9p', '2026-03-10T09:59:45.000Z'],
      ['web-7d9f8c6b5-x2x9p', '2026-03-10T09:59:40.250Z'],
    ]);
  });

  it.skipIf(backend.skip)('status updates need an admin token and show in the filters', async () => {
    const exec = (await list('?rule=PAL_ExecIntoPod&cluster=prod-eu')).items[0];
    expect(exec).toBeDefined();
    const patch = (body: { status: string }, token: string, id = exec?.id ?? '') =>
      server.app.inject({ method: 'PATCH', url: `/api/v1/alerts/${id}`, payload: body, headers: { authorization: `Bearer ${token}` } });
    const refused = await patch({ status: 'acknowledged' }, READER);
    expect([refused.statusCode, views.error.parse(refused.json()).error.message]).toEqual([403, 'token "dashboard" has the reader role; this request needs an admin token']);
    const bad = await patch({ status: 'closed' }, ADMIN);
    expect([bad.statusCode, views.error.parse(bad.json()).error.message]).toEqual([400, 'alert status: status: Invalid option: expected one of "new"|"acknowledged"|"resolved"|"dismissed"']);
    const missing = await patch({ status: 'resolved' }, ADMIN, 'ffffffffffffffffffff');
    expect(missing.statusCode).toBe(404);
    const ok = await patch({ status: 'acknowledged' }, ADMIN);
    expect(ok.statusCode).toBe(200);
    expect(alertView.parse(ok.json())).toMatchObject({ id: exec?.id, status: 'acknowledged', statusChangedBy: 'ops', count: 2 });
    const one = await get(`/api/v1/alerts/${exec?.id ?? ''}`);
    expect(alertView.parse(one.json).status).toBe('acknowledged');
    // An acknowledged alert is not joined by later repeats: a new alert opens.
    const later = await audit(eventList([execEvent('3c4d5e6f-7081-4923-8a4b-5c6d7e8f9a05', '2026-03-10T10:03:00.000000Z')]));
    expect(auditAnswer.parse(later.json)).toMatchObject({ inserted: 1, merged: 0 });
    expect((await list('?status=acknowledged')).items.map((a) => a.id)).toEqual([exec?.id]);
    expect((await list('?rule=PAL_ExecIntoPod&status=new&cluster=prod-eu')).items.map((a) => a.time)).toEqual(['2026-03-10T10:03:00.000Z']);
  });

  it.skipIf(backend.skip)('lists newest first with filters and pages', async () => {
    const all = await list('');
    expect(all.items.map((a) => [a.rule, a.cluster ?? '', a.time])).toEqual([
      ['PAL_ExecIntoPod', 'prod-eu', '2026-03-10T10:03:00.000Z'],
      ['PAL_ExecIntoPod', 'staging-us', '2026-03-10T10:02:00.000Z'],
      ['K8S.NODE_DigitalCurrencyMining', 'prod-eu', '2026-03-10T09:59:50.000Z'],
      ['K8S.NODE_ReverseShell', 'prod-eu', '2026-03-10T09:59:45.000Z'],
      ['K8S.NODE_DigitalCurrencyMining', 'prod-eu', '2026-03-10T09:59:40.250Z'],
      ['K8S_PrivilegedContainer', 'prod-eu', '2026-03-10T09:59:12.500Z'],
      ['PAL_ExecIntoPod', 'prod-eu', '2026-03-10T09:58:01.120Z'],
    ]);
    const cases: [string, number, string[]][] = [
      ['?severity=critical', 1, ['K8S.NODE_ReverseShell']],
      ['?severity=info&source=audit', 1, ['K8S_PrivilegedContainer']],
      ['?cluster=staging-us', 1, ['PAL_ExecIntoPod']],
      ['?since=2026-03-10T10:00:00Z', 3, ['PAL_ExecIntoPod', 'PAL_ExecIntoPod', 'PAL_ExecIntoPod']],
      ['?rule=K8S_PrivilegedContainer&status=new', 1, ['K8S_PrivilegedContainer']],
      ['?limit=2&offset=3', 7, ['K8S.NODE_ReverseShell', 'K8S.NODE_DigitalCurrencyMining']],
    ];
    for (const [query, total, rules] of cases) {
      const page = await list(query);
      expect([query, page.total, page.items.map((a) => a.rule)]).toEqual([query, total, rules]);
    }
    const unauthenticated = await server.app.inject({ method: 'GET', url: '/api/v1/alerts' });
    expect(unauthenticated.statusCode).toBe(401);
    const badQuery = await get('/api/v1/alerts?severity=urgent');
    expect(badQuery.status).toBe(400);
  });

  it.skipIf(backend.skip)('the OpenAPI document lists the alert endpoints', async () => {
    const doc = views.openapi.parse((await server.app.inject({ method: 'GET', url: '/openapi.json' })).json());
    expect(Object.keys(doc.paths).filter((p) => p.includes('alert') || p.includes('audit')).sort()).toEqual([
      '/api/v1/alerts',
      '/api/v1/alerts/{id}',
      '/api/v1/audit/events',
      '/api/v1/sensor/alerts',
    ]);
  });
});

const repoRoot = resolve(import.meta.dirname, '..');
const cli = join(repoRoot, 'dist', 'cli', 'main.js');
if (!existsSync(cli)) console.warn('server-alerts process test skipped: needs a build (npm run build → dist/cli/main.js)');

describe.skipIf(!existsSync(cli))('palisade server as a process receives the audit webhook', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-alerts-proc-'));
  let child: ChildProcess | undefined;
  let url = '';

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const configPath = join(dir, 'palisade.yaml');
    writeFileSync(
      configPath,
      stringify({
        database: 'store.sqlite',
        advisoryDb: 'advisories.sqlite',
        auth: { tokens: [{ name: 'ops', token: ADMIN, role: 'admin' }] },
        workers: { concurrency: 0 },
        alerts: { auditTokens: [{ name: 'kube-apiserver', token: AUDIT_TOKEN }] },
      }),
    );
    const logPath = join(dir, 'server.log');
    const log = createWriteStream(logPath);
    child = spawn(process.execPath, [cli, 'server', '--config', configPath, '--port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.pipe(log);
    await waitFor('the server to listen', async () => {
      if (child?.exitCode !== null) throw new Error(`server exited: ${readFileSync(logPath, 'utf8').slice(-2000)}`);
      return (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) || undefined;
    }, 20_000);
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores the alerts of an EventList posted over HTTP, with the detector state beside the store', async () => {
    const res = await fetch(`${url}/api/v1/audit/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${AUDIT_TOKEN}`, 'content-type': 'application/json', 'x-palisade-cluster': 'lab' },
      body: FIRST_BATCH,
    });
    expect(res.status).toBe(200);
    expect(auditAnswer.parse(await res.json())).toMatchObject({ cluster: 'lab', events: 2, inserted: 2 });
    const listed = await fetch(`${url}/api/v1/alerts?cluster=lab`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(listView.parse(await listed.json()).items.map((a) => a.rule)).toEqual(['K8S_PrivilegedContainer', 'PAL_ExecIntoPod']);
    expect(existsSync(join(dir, 'palisade-audit-state.sqlite'))).toBe(true);
    const refused = await fetch(`${url}/api/v1/audit/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: FIRST_BATCH });
    expect(refused.status).toBe(401);
  });
});
