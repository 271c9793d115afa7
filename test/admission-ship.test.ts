import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../src/core/index.js';
import { parseConfig } from '../src/config/index.js';
import { createPolicyRuntime, createRuntimeHandler } from '../src/policy/index.js';
import { ADMISSION_RECORDS_PATH, createAdmissionShipper } from '../src/policy/ship.js';
import { createServer, type ServerParts } from '../src/server/server.js';
import { assertBuilt, CLI, runCli } from './support/cli.js';
import { freePort } from './support/registry.js';
import { storeBackends, travelClock, waitFor } from './server-support.js';

/**
 * The webhook's violation records reaching the server: the real admission handler and shipper
 * in-process (server down first: the batch waits with back-off, then is delivered once; a record
 * resent in another batch is stored once; the queue is bounded), then the built `palisade admission
 * --server --token` process answering reviews and shipping to a real server — on SQLite and
 * PostgreSQL — and answering while the server holds its batch without replying.
 */

const READER = 'reader-token-0123456789';
const WEBHOOK_TOKEN = 'admission-webhook-token-0123456789';
const PROD_TOKEN = 'admission-prod-token-0123456789';
const BACKENDS = await storeBackends('admission-ship');

const violationList = z.object({
  total: z.number(),
  items: z.array(
    z.object({
      cluster: z.string(),
      uid: z.string(),
      kind: z.string(),
      namespace: z.string(),
      name: z.string(),
      user: z.string(),
      allowed: z.boolean(),
      policyId: z.string(),
      assignment: z.string(),
      effect: z.string(),
      message: z.string(),
      webhook: z.string(),
    }),
  ),
});

function review(uid: string, namespace: string, securityContext: Record<string, unknown>, dryRun = false): unknown {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      name: `pod-${uid.slice(-2)}`,
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'alice@example.com' },
      ...(dryRun ? { dryRun: true } : {}),
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${uid.slice(-2)}`, namespace }, spec: { containers: [{ name: 'c', image: 'nginx:1.27', securityContext }] } },
    },
  };
}

/** Runs `palisade admission` and waits until it listens; returns its port, CA and the process. */
async function startWebhook(args: string[]): Promise<{ child: ChildProcessWithoutNullStreams; port: number; ca: string; exited: Promise<number | null>; stderr: () => string }> {
  const child = spawn(process.execPath, [CLI, 'admission', '--self-signed', '--name', 'localhost', '--port', '0', '--host', '127.0.0.1', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', r));
  await waitFor('the webhook to listen', async () => (/listening on https:\/\/127\.0\.0\.1:(\d+)/.test(stderr) && stdout.includes('caBundle: ') ? true : undefined), 30_000);
  const port = Number(/listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)?.[1]);
  const ca = Buffer.from(/caBundle: (\S+)/.exec(stdout)?.[1] ?? '', 'base64').toString('utf8');
  return { child, port, ca, exited, stderr: () => stderr };
}

function postReview(port: number, ca: string, body: unknown): Promise<{ allowed: boolean }> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/validate', method: 'POST', ca, servername: 'localhost', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolvePromise(z.object({ response: z.object({ allowed: z.boolean() }) }).parse(JSON.parse(text)).response));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe.each(BACKENDS)('admission violation records to the server over $name', (backend) => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-admission-ship-'));
  let server: ServerParts;
  let port = 0;
  let drop: () => Promise<void> = async () => undefined;

  const list = async (query = ''): Promise<z.infer<typeof violationList>> => {
    const res = await server.app.inject({ method: 'GET', url: `/api/v1/admission/violations${query}`, headers: { authorization: `Bearer ${READER}` } });
    expect(res.statusCode).toBe(200);
    return violationList.parse(res.json());
  };
  const lines = async (query = ''): Promise<string[]> => (await list(query)).items.map((v) => `${v.cluster} ${v.uid} ${v.effect} ${v.assignment} ${v.namespace}/${v.name} allowed=${v.allowed}`);

  beforeAll(async () => {
    if (backend.skip) return;
    assertBuilt();
    const db = await backend.open(dir);
    drop = db.drop;
    port = await freePort();
    const config = parseConfig(
      {
        server: { host: '127.0.0.1', port },
        database: db.database,
        advisoryDb: join(dir, 'no-advisory-db.sqlite'),
        auth: { tokens: [{ name: 'dashboard', token: READER, role: 'reader' }] },
        workers: { concurrency: 0 },
        admission: { tokens: [{ name: 'webhooks', token: WEBHOOK_TOKEN }, { name: 'prod-webhooks', token: PROD_TOKEN, cluster: 'prod' }] },
      },
      {},
      'test config',
    );
    server = await createServer(config, { clock: travelClock('2026-06-01T10:00:00Z'), log: silentLogger });
  });

  afterAll(async () => {
    await server?.close();
    await drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(backend.skip)('keeps a batch while the server is down, delivers it once when it is up, stores a resent record once', async () => {
    const clock = travelClock('2026-06-01T10:00:00Z');
    const shipper = createAdmissionShipper({ server: `http://127.0.0.1:${port}`, token: PROD_TOKEN, webhook: 'webhook-a', cluster: 'ignored-the-token-names-prod', clock, log: silentLogger, maxQueued: 2, random: () => 0.5 });
    const runtime = createPolicyRuntime({ clock, log: silentLogger });
    const handler = createRuntimeHandler(runtime, { audit: shipper.sink, clock, log: silentLogger });
    // Privileged: baseline Deny and restricted Audit; no escalation setting: restricted Audit only; compliant: no record.
    expect((await handler.review(review('uid-00000001', 'shop', { privileged: true }))).response.allowed).toBe(false);
    expect((await handler.review(review('uid-00000002', 'shop', {}))).response.allowed).toBe(true);
    const restricted = { allowPrivilegeEscalation: false, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' }, capabilities: { drop: ['ALL'] } };
    expect((await handler.review(review('uid-00000003', 'shop', restricted))).response.allowed).toBe(true);
    expect(shipper.counters()).toMatchObject({ queued: 2, droppedQueued: 0 });
    // A third violating record over maxQueued: the oldest is dropped and counted.
    await handler.review(review('uid-00000004', 'tools', {}));
    expect(shipper.counters()).toMatchObject({ queued: 2, droppedQueued: 1 });

    // Nothing listens yet: the batch stays, with back-off (1 s × jitter 1.0).
    await shipper.flush();
    expect(shipper.counters()).toMatchObject({ queued: 0, batchesSealed: 1, batchesSent: 0, bufferedBatches: 1, failures: 1, backoffMs: 1000 });
    expect(shipper.counters().lastError).toMatch(/ECONNREFUSED/);
    await server.app.listen({ host: '127.0.0.1', port });
    await shipper.flush();
    expect(shipper.counters().attempts).toBe(1); // still backing off
    clock.set('2026-06-01T10:00:01Z');
    await shipper.flush();
    expect(shipper.counters()).toMatchObject({ batchesSent: 1, alertsSent: 2, bufferedBatches: 0 });
    expect(await lines()).toEqual([
      'prod uid-00000002 Audit pod-security-restricted/pod-security-standards shop/pod-02 allowed=true',
      'prod uid-00000004 Audit pod-security-restricted/pod-security-standards tools/pod-04 allowed=true',
    ]);

    // uid-00000004 again (the API server retried it) with a new one: a new batch; the resent violation is stored once.
    await handler.review(review('uid-00000004', 'tools', {}));
    await handler.review(review('uid-00000005', 'shop', { privileged: true }));
    await shipper.flush();
    expect(shipper.counters()).toMatchObject({ batchesSent: 2, alertsSent: 4 });
    // Newest review first; the resent record keeps the time it was first stored with.
    expect(await lines('?cluster=prod')).toEqual([
      'prod uid-00000005 Deny pod-security-baseline/pod-security-standards shop/pod-05 allowed=false',
      'prod uid-00000005 Audit pod-security-restricted/pod-security-standards shop/pod-05 allowed=false',
      'prod uid-00000002 Audit pod-security-restricted/pod-security-standards shop/pod-02 allowed=true',
      'prod uid-00000004 Audit pod-security-restricted/pod-security-standards tools/pod-04 allowed=true',
    ]);
  });

  it.skipIf(backend.skip)('palisade admission --server --token ships what it records; the list filters by cluster, namespace, policy, effect and since', async () => {
    const webhook = await startWebhook(['--server', `http://127.0.0.1:${port}`, '--token', WEBHOOK_TOKEN, '--cluster', 'staging']);
    try {
      expect((await postReview(webhook.port, webhook.ca, review('cli-00000001', 'payments', { privileged: true }))).allowed).toBe(false);
      expect((await postReview(webhook.port, webhook.ca, review('cli-00000002', 'payments', {}, true))).allowed).toBe(true); // dry run: not recorded
      expect((await postReview(webhook.port, webhook.ca, review('cli-00000003', 'web', {}))).allowed).toBe(true);
      const shipped = await waitFor('the records on the server', async () => {
        const page = await list('?cluster=staging');
        return page.total === 3 ? page : undefined;
      });
      expect(new Set(shipped.items.map((v) => v.webhook)).size).toBe(1);
      expect(shipped.items.every((v) => v.user === 'alice@example.com' && v.kind === 'Pod')).toBe(true);
      expect(await lines('?cluster=staging&namespace=payments')).toEqual([
        'staging cli-00000001 Deny pod-security-baseline/pod-security-standards payments/pod-01 allowed=false',
        'staging cli-00000001 Audit pod-security-restricted/pod-security-standards payments/pod-01 allowed=false',
      ]);
      expect(await lines('?effect=Deny')).toEqual([
        'staging cli-00000001 Deny pod-security-baseline/pod-security-standards payments/pod-01 allowed=false',
        'prod uid-00000005 Deny pod-security-baseline/pod-security-standards shop/pod-05 allowed=false',
      ]);
      expect((await list('?policy=pod-security-standards')).total).toBe(7);
      expect((await list('?policy=no-privileged-containers')).total).toBe(0);
      // Every record of the first test was reviewed at the travel clock's 2026 times; this process uses the real clock.
      expect((await list(`?since=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`)).total).toBe(3);
      const bad = await server.app.inject({ method: 'GET', url: '/api/v1/admission/violations?effect=Disabled', headers: { authorization: `Bearer ${READER}` } });
      expect(bad.statusCode).toBe(400);
    } finally {
      webhook.child.kill('SIGTERM');
    }
    expect(await webhook.exited).toBe(0);
  });

  it.skipIf(backend.skip)('refuses batches without an admission token, with a wrong one, or without an Idempotency-Key', async () => {
    const body = { schemaVersion: 1, webhook: 'w', batchId: 'b', records: [] };
    const post = (headers: Record<string, string>) => server.app.inject({ method: 'POST', url: ADMISSION_RECORDS_PATH, headers: { 'content-type': 'application/json', ...headers }, payload: body });
    expect((await post({})).statusCode).toBe(401);
    expect((await post({ authorization: `Bearer ${READER}`, 'idempotency-key': 'k' })).statusCode).toBe(401);
    expect((await post({ authorization: `Bearer ${WEBHOOK_TOKEN}` })).statusCode).toBe(400);
    const bad = await server.app.inject({
      method: 'POST',
      url: ADMISSION_RECORDS_PATH,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_TOKEN}`, 'idempotency-key': 'k-bad' },
      payload: { ...body, cluster: 'staging', records: [{ uid: 'x' }] },
    });
    expect(bad.statusCode).toBe(200);
    expect(bad.json()).toMatchObject({ cluster: 'staging', duplicate: false, stored: 0, rejected: 1 });
  });
});

describe('the webhook never waits for the server', () => {
  let hold: NetServer | undefined;
  const sockets: Socket[] = [];

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => (hold ? hold.close(() => r()) : r()));
  });

  it('answers reviews while the server holds its batch without answering', async () => {
    assertBuilt();
    // A "server" that accepts the batch's connection and never answers.
    let received = '';
    hold = createNetServer((socket) => {
      sockets.push(socket);
      socket.on('data', (c: Buffer) => (received += c.toString()));
    });
    await new Promise<void>((r) => hold?.listen(0, '127.0.0.1', () => r()));
    const address = hold.address();
    const holdPort = typeof address === 'object' && address ? address.port : 0;
    const webhook = await startWebhook(['--server', `http://127.0.0.1:${holdPort}`, '--token', WEBHOOK_TOKEN]);
    try {
      expect((await postReview(webhook.port, webhook.ca, review('hold-00000001', 'shop', { privileged: true }))).allowed).toBe(false);
      await waitFor('the batch to reach the silent server', async () => (received.includes('hold-00000001') ? true : undefined));
      expect(received).toContain(`POST ${ADMISSION_RECORDS_PATH} HTTP/1.1`);
      // The batch's request is still open (no answer will come); reviews are answered meanwhile.
      expect((await postReview(webhook.port, webhook.ca, review('hold-00000002', 'shop', { privileged: true }))).allowed).toBe(false);
      expect((await postReview(webhook.port, webhook.ca, review('hold-00000003', 'shop', {}))).allowed).toBe(true);
      expect(received).not.toContain('hold-00000002');
    } finally {
      webhook.child.kill('SIGTERM');
    }
    // Shutdown tries the held batch for a few seconds, then exits cleanly.
    expect(await webhook.exited).toBe(0);
  });
});

describe('palisade admission --token', () => {
  it('needs --server, and refuses to send the token over plain http to another host', async () => {
    assertBuilt();
    const alone = await runCli(['admission', '--self-signed', '--port', '0', '--host', '127.0.0.1', '--token', WEBHOOK_TOKEN]);
    expect([alone.code, alone.stderr]).toEqual([2, 'palisade: --token needs --server URL: the palisade server the violation records go to\n']);
    const plain = await runCli(['admission', '--self-signed', '--port', '0', '--host', '127.0.0.1', '--server', 'http://palisade.example.com', '--token', WEBHOOK_TOKEN]);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('--server http://palisade.example.com is plain http');
  });
});
