import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createJsonLogger, silentLogger } from '../src/core/index.js';
import { parseConfig, type ServerConfig } from '../src/config/index.js';
import { EVENT_HEADER } from '../src/server/events.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature } from '../src/threat/alert.js';
import { createServer, type ServerParts } from '../src/server/server.js';
import { freePort, registryAvailable, skopeoCopy, skopeoCopyAsync, startRegistry, type RunningRegistry } from './support/registry.js';
import { startTokenServer, type TokenServer } from './support/token-server.js';
import { ADVISORIES, buildAdvisoryDb, travelClock, views, waitFor, writeFixtureImage } from './server-support.js';

const ADMIN = 'admin-token-0123456789';
const READER = 'reader-token-0123456789';
const SECRET = 'notify-secret-0123456789';
const HOOK_SECRET = 'webhook-secret-0123456789';


if (!registryAvailable()) console.warn('server-api tests skipped: /usr/bin/docker-registry or skopeo is not installed');

describe.skipIf(!registryAvailable())('server with a real registry, SQLite store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-server-api-'));
  const clock = travelClock('2026-03-10T10:00:00Z');
  let registry: RunningRegistry;
  let vault: RunningRegistry;
  let wrongpass: RunningRegistry;
  let downPort: number;
  let server: ServerParts;
  let base: string;
  const received: { body: string; signature: string; timestamp: string; event: string; status: number }[] = [];
  /** The receiver answers 503 to this many deliveries first (the sender retries). */
  let receiverFailures = 1;
  let webhook: ReturnType<typeof createHttpServer>;
  let config: ServerConfig;

  const api = async (path: string, init: RequestInit & { token?: string } = {}): Promise<{ status: number; body: unknown }> => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${init.token ?? ADMIN}`);
    if (init.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
    const response = await fetch(`${base}${path}`, { ...init, headers });
    const text = await response.text();
    return { status: response.status, body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text };
  };

  beforeAll(async () => {
    await buildAdvisoryDb(join(dir, 'advisories.sqlite'));
    const hookPort = await freePort();
    webhook = createHttpServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const header = (name: string): string => String(req.headers[name] ?? '');
        const status = receiverFailures > 0 ? 503 : 204;
        if (receiverFailures > 0) receiverFailures--;
        received.push({ body, signature: header(SIGNATURE_HEADER), timestamp: header(TIMESTAMP_HEADER), event: header(EVENT_HEADER), status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(hookPort, '127.0.0.1', resolve));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    vault = await startRegistry({ htpasswd: { username: 'alice', password: 'vault-password-1' } });
    wrongpass = await startRegistry({ htpasswd: { username: 'bob', password: 'right-password-1' } });
    downPort = await freePort();
    writeFileSync(join(dir, 'vault-credentials.json'), JSON.stringify({ username: 'alice', password: 'vault-password-1' }));
    registry = await startRegistry({ notifications: { url: `${base}/api/v1/hooks/distribution/local`, headers: { 'X-Palisade-Secret': SECRET } } });
    config = parseConfig(
      {
        server: { host: '127.0.0.1', port, bodyLimit: 64 * 1024 },
        database: join(dir, 'store.sqlite'),
        advisoryDb: join(dir, 'advisories.sqlite'),
        auth: { tokens: [{ name: 'ci-admin', token: ADMIN, role: 'admin' }, { name: 'dashboard', token: READER, role: 'reader' }] },
        registries: [
          { name: 'local', url: registry.url, notificationSecret: SECRET, exclude: ['private/**'] },
          { name: 'vault', url: vault.url, credentialsFile: join(dir, 'vault-credentials.json'), syncIntervalSeconds: 3600 },
          { name: 'wrongpass', url: wrongpass.url, credentials: { username: 'bob', password: 'not-the-password' }, notificationSecret: SECRET },
          { name: 'down', url: `http://127.0.0.1:${downPort}`, notificationSecret: SECRET },
        ],
        workers: { concurrency: 1, leaseSeconds: 5, maxAttempts: 2, retryDelaySeconds: 0, pollMilliseconds: 50 },
        events: { webhookUrl: `http://127.0.0.1:${hookPort}/events`, webhookSecret: HOOK_SECRET, jsonlPath: join(dir, 'events.jsonl') },
        usage: { cores: 4 },
      },
      {},
      'test config',
    );
    server = await createServer(config, { clock, log: silentLogger, registryRetries: 0 });
    await server.app.listen({ host: '127.0.0.1', port });
    server.workers.start();
  });

  afterAll(async () => {
    await server?.close();
    await registry?.stop();
    await vault?.stop();
    await wrongpass?.stop();
    await new Promise((resolve) => webhook?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  let digest = '';

  it('scans an image pushed with skopeo, from the registry notification to findings', async () => {
    const image = await writeFixtureImage(join(dir, 'img-a'), 'a', '1.0');
    digest = image.digest;
    skopeoCopy(image.source, `docker://${registry.host}/team/app:1.0`);
    const result = await waitFor('findings of the pushed image', async () => {
      const r = await api(`/api/v1/images/${digest}/findings`, { token: READER });
      return r.status === 200 && typeof r.body === 'object' && r.body !== null && 'status' in r.body && r.body.status === 'done' ? r.body : undefined;
    });
    expect(result).toMatchObject({ digest, registry: registry.host, repository: 'team/app', status: 'done', summary: { visible: 4, disabled: 0 } });
    const findings = views.findings.parse(result).findings;
    // openssl and libssl3 both come from the openssl source package.
    expect(findings.map((f) => [f.advisoryId, f.severity, f.package.name, f.installedVersion])).toEqual([
      [ADVISORIES.critical.id, 'critical', 'libssl3', '3.0.11-1~deb12u2'],
      [ADVISORIES.critical.id, 'critical', 'openssl', '3.0.11-1~deb12u2'],
      [ADVISORIES.medium.id, 'medium', 'libssl3', '3.0.11-1~deb12u2'],
      [ADVISORIES.medium.id, 'medium', 'openssl', '3.0.11-1~deb12u2'],
    ]);
    expect(findings[0]?.kev?.cveId).toBe(ADVISORIES.critical.id);
    expect(findings[0]?.epss?.score).toBe(0.00321);
  });

  it("does not count the server's own pulls as pulls; a user's pull counts", async () => {
    // The scan's manifest request comes back as a pull notification carrying the server's User-Agent.
    const ownPulls = /palisade_notifications_total\{action="pull",outcome="own"\} (\d+)/;
    await waitFor('own pull notification', async () => (ownPulls.test(String((await api('/metrics')).body)) ? true : undefined), 15_000);
    expect((await api(`/api/v1/images/${digest}`)).body).not.toHaveProperty('image.pulledAt');
    execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/team/app:1.0`], { stdio: 'ignore', timeout: 60_000 });
    const pulled = await waitFor('the user pull recorded', async () => views.imageDetail.parse((await api(`/api/v1/images/${digest}`)).body).image.pulledAt, 15_000);
    expect(pulled).toBe('2026-03-10T10:00:00.000Z');
  });

  it('lists, filters and shows the image with packages and history', async () => {
    const list = await api('/api/v1/images?repository=team/app&severity=critical&fixAvailable=true', { token: READER });
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ total: 1, items: [{ digest, tags: ['1.0'], status: 'done', counts: { critical: 2, high: 0, medium: 2, low: 0, other: 0 }, fixable: 4, running: false }] });
    const none = await api('/api/v1/images?tag=2.0', { token: READER });
    expect(none.body).toMatchObject({ total: 0, items: [] });
    const detail = await api(`/api/v1/images/${digest}`, { token: READER });
    const packages = views.detail.parse(detail.body).packages.map((p) => p.name).sort();
    expect(packages).toEqual(['libssl3', 'openssl', 'palisade-fixture-a']);
    const history = await api(`/api/v1/images/${digest}/scans`, { token: READER });
    expect(views.scans.parse(history.body).scans.map((s) => [s.kind, s.status, s.findings])).toEqual([['pull', 'done', 4]]);
    const resolved = await api(`/api/v1/images/resolve?reference=${encodeURIComponent(`${registry.host}/team/app:1.0`)}`, { token: READER });
    expect(resolved.body).toEqual({ reference: `${registry.host}/team/app:1.0`, digest });
  });

  it('answers which images carry a CVE, with KEV and EPSS', async () => {
    const all = await api('/api/v1/vulnerabilities', { token: READER });
    expect(all.body).toMatchObject({
      findingsBySeverity: { critical: 2, high: 0, medium: 2, low: 0, negligible: 0, unknown: 0 },
      total: 2,
      items: [
        { advisoryId: ADVISORIES.critical.id, severity: 'critical', kev: true, epss: 0.00321, images: 1, packages: ['libssl3', 'openssl'] },
        { advisoryId: ADVISORIES.medium.id, severity: 'medium', kev: false, epss: 0.00044, images: 1, packages: ['libssl3', 'openssl'] },
      ],
    });
    const one = await api(`/api/v1/vulnerabilities/${ADVISORIES.critical.id}`, { token: READER });
    expect(one.body).toMatchObject({ advisoryId: ADVISORIES.critical.id, kev: { cveId: ADVISORIES.critical.id, dateAdded: '2024-07-01' }, epss: { score: 0.00321 }, images: [{ digest, repository: 'team/app', package: 'libssl3' }, { digest, repository: 'team/app', package: 'openssl' }] });
  });

  it('sent signed webhook events (retried after a 503) and JSON lines for the new critical finding', async () => {
    await waitFor('webhook delivery', async () => (received.some((r) => r.status === 204) ? true : undefined), 10_000);
    // The receiver refused the first attempt; the same batch came again and was accepted.
    expect(received.map((r) => r.status)).toEqual([503, 204]);
    const [refused, first] = received;
    expect(first?.body).toBe(refused?.body);
    expect(first?.event).toBe('finding.new');
    expect(verifyWebhookSignature(HOOK_SECRET, first?.timestamp ?? '', first?.body ?? '', first?.signature ?? '', Math.floor(clock.now().getTime() / 1000))).toBe(true);
    expect(verifyWebhookSignature('not-the-webhook-secret', first?.timestamp ?? '', first?.body ?? '', first?.signature ?? '', Math.floor(clock.now().getTime() / 1000))).toBe(false);
    const metrics = String((await api('/metrics')).body);
    expect(metrics).toContain('palisade_event_deliveries_total{outcome="delivered",sink="webhook"} 1');
    expect(metrics).toContain('palisade_event_webhook_retries_total 1');
    expect(metrics).toContain('palisade_event_deliveries_total{outcome="written",sink="jsonl"} 1');
    const events = views.events.parse(JSON.parse(first?.body ?? '{}')).events;
    expect(events.map((e) => [e.finding.advisoryId, e.finding.severity, e.finding.package])).toEqual([
      [ADVISORIES.critical.id, 'critical', 'libssl3'],
      [ADVISORIES.critical.id, 'critical', 'openssl'],
    ]);
    const lines = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => views.eventLine.parse(JSON.parse(l)).finding.package)).toEqual(['libssl3', 'openssl']);
  });

  it.each([
    ['no secret', {}, 401, 'UNAUTHORIZED'],
    ['forged secret', { 'x-palisade-secret': 'not-the-secret-at-all' }, 401, 'UNAUTHORIZED'],
  ])('refuses a notification with %s', async (_name, headers: Record<string, string>, status, code) => {
    const response = await fetch(`${base}/api/v1/hooks/distribution/local`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.docker.distribution.events.v1+json', ...headers },
      body: JSON.stringify({ events: [{ action: 'push', target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'1'.repeat(64)}`, repository: 'team/evil', tag: 'x' } }] }),
    });
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error: { code } });
    expect((await api(`/api/v1/images/sha256:${'1'.repeat(64)}`)).status).toBe(404);
  });

  it.each([
    ['an unknown registry', '/api/v1/hooks/distribution/elsewhere', 'application/json', JSON.stringify({ events: [] }), 404, 'NOT_FOUND', 'registry "elsewhere" is not configured; add it under registries (configured: local, vault, wrongpass, down)'],
    ['malformed JSON', '/api/v1/hooks/distribution/local', 'application/vnd.docker.distribution.events.v1+json', '{"events": [', 400, 'BAD_INPUT', undefined],
    ['a huge body', '/api/v1/hooks/distribution/local', 'application/json', JSON.stringify({ events: [], pad: 'x'.repeat(100_000) }), 413, 'TOO_LARGE', 'request body too large; the limit is server.bodyLimit bytes'],
    ['a wrong envelope', '/api/v1/hooks/distribution/local', 'application/json', JSON.stringify({ event: 'push' }), 400, 'BAD_INPUT', 'notification envelope: events: Invalid input: expected array, received undefined'],
  ])('answers %s with a clear error', async (_name, path, type, body, status, code, message) => {
    const response = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': type, 'x-palisade-secret': SECRET }, body });
    expect(response.status).toBe(status);
    const json = views.error.parse(await response.json());
    expect(json.error.code).toBe(code);
    if (message) expect(json.error.message).toBe(message);
    else expect(json.error.message).toMatch(/^request body is not valid JSON/);
  });

  it('skips bad events inside an envelope and ignores excluded repositories', async () => {
    const response = await fetch(`${base}/api/v1/hooks/distribution/local`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.docker.distribution.events.v1+json', 'x-palisade-secret': SECRET },
      body: JSON.stringify({
        events: [
          { action: 'push', target: { digest: 'sha256:nothex', repository: 'team/app' } },
          { action: 'push', target: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'2'.repeat(64)}`, repository: 'team/app' } },
          { action: 'push', target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'3'.repeat(64)}`, repository: 'private/secret' } },
          { action: 'pull', target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, repository: 'team/app' } },
        ],
      }),
    });
    expect(await response.json()).toEqual({ queued: 0, pulls: 1, ignored: 2, skipped: 1 });
  });

  it('enforces token roles', async () => {
    expect((await api('/api/v1/images', { token: 'wrong-token-0123456789' })).status).toBe(401);
    const forbidden = await api('/api/v1/scans', { token: READER, method: 'POST', body: JSON.stringify({ image: `${registry.host}/team/app:1.0` }) });
    expect(forbidden).toEqual({ status: 403, body: { error: { code: 'FORBIDDEN', message: 'token "dashboard" has the reader role; this request needs an admin token' } } });
  });

  it('shows a scan failure for a digest the registry does not have and keeps the queue moving', async () => {
    const missing = `sha256:${'4'.repeat(64)}`;
    const hook = await fetch(`${base}/api/v1/hooks/push`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-palisade-secret': SECRET }, body: JSON.stringify({ registry: 'local', repository: 'team/ghost', tag: 'gone', digest: missing }) });
    expect(hook.status).toBe(202);
    const failed = await waitFor('failed status', async () => {
      const r = await api(`/api/v1/images/${missing}/findings`, { token: READER });
      return views.status.parse(r.body).status === 'failed' ? r.body : undefined;
    });
    expect(failed).toMatchObject({ status: 'failed', error: `manifest ${registry.host}/team/ghost:${missing}: not found (HTTP 404); check the name, tag or digest` });
    const second = await writeFixtureImage(join(dir, 'img-b'), 'b', '2.0');
    skopeoCopy(second.source, `docker://${registry.host}/team/other:2.0`);
    await waitFor('the next push scanned', async () => views.status.parse((await api(`/api/v1/images/${second.digest}/findings`)).body).status === 'done' || undefined);
  });

  it('disable rules hide findings with justification and author until they expire; the findings stay stored', async () => {
    const created = await api('/api/v1/disable-rules', {
      method: 'POST',
      body: JSON.stringify({ name: 'openssl risk accepted', criteria: { cves: [ADVISORIES.critical.id], repositories: ['team/app'] }, justification: 'Not reachable: TLS terminates at the ingress.', expiresAt: '2026-03-20T00:00:00Z' }),
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ author: 'ci-admin', expiresAt: '2026-03-20T00:00:00.000Z', applied: { findings: 2, images: 1 } });
    const ruleId = z.object({ id: z.string() }).parse(created.body).id;
    const hidden = views.findings.parse((await api(`/api/v1/images/${digest}/findings`)).body);
    expect(hidden.summary).toEqual({ visible: 2, disabled: 2, bySeverity: { critical: 0, high: 0, medium: 2, low: 0, negligible: 0, unknown: 0 } });
    expect(hidden.findings[0]).toMatchObject({ advisoryId: ADVISORIES.critical.id, disabledBy: { author: 'ci-admin', justification: 'Not reachable: TLS terminates at the ingress.' } });
    // Lists, filters, counts and the vulnerabilities view leave the hidden findings out, unless asked for them.
    expect((await api('/api/v1/images?repository=team/app', { token: READER })).body).toMatchObject({ total: 1, items: [{ digest, counts: { critical: 0, medium: 2 }, fixable: 2, disabled: 2 }] });
    expect((await api('/api/v1/images?repository=team/app&severity=critical', { token: READER })).body).toMatchObject({ total: 0 });
    expect((await api('/api/v1/images?repository=team/app&severity=critical&includeDisabled=true', { token: READER })).body).toMatchObject({
      total: 1,
      items: [{ digest, counts: { critical: 2, medium: 2 }, fixable: 4, disabled: 2 }],
    });
    expect((await api(`/api/v1/images/${digest}?includeDisabled=true`, { token: READER })).body).toMatchObject({ image: { counts: { critical: 2 }, disabled: 2 } });
    // team/other (pushed by the failure test) carries the same CVE, outside the rule's repository.
    expect((await api('/api/v1/vulnerabilities', { token: READER })).body).toMatchObject({
      findingsBySeverity: { critical: 2, medium: 4 },
      items: [{ advisoryId: ADVISORIES.critical.id, images: 1 }, { advisoryId: ADVISORIES.medium.id, images: 2 }],
    });
    expect((await api('/api/v1/vulnerabilities?includeDisabled=true', { token: READER })).body).toMatchObject({
      findingsBySeverity: { critical: 4, medium: 4 },
      items: [{ advisoryId: ADVISORIES.critical.id, images: 2 }, { advisoryId: ADVISORIES.medium.id, images: 2 }],
    });
    expect((await api(`/api/v1/vulnerabilities/${ADVISORIES.critical.id}`, { token: READER })).body).toMatchObject({ images: [{ repository: 'team/other' }, { repository: 'team/other' }], disabled: 2 });
    const metrics = String((await api('/metrics')).body);
    expect(metrics).toContain('palisade_findings{severity="critical"} 2');
    expect(metrics).toContain('palisade_findings_disabled 2');
    // Expired: the gate view shows them at once; lists and counts follow at the next scheduler tick.
    clock.set('2026-03-21T00:00:00Z');
    const after = views.findings.parse((await api(`/api/v1/images/${digest}/findings`)).body);
    expect(after.summary).toEqual({ visible: 4, disabled: 0, bySeverity: { critical: 2, high: 0, medium: 2, low: 0, negligible: 0, unknown: 0 } });
    expect((await server.scheduler.tick()).released).toEqual([ruleId]);
    expect((await api('/api/v1/images?repository=team/app&severity=critical', { token: READER })).body).toMatchObject({ total: 1, items: [{ digest, counts: { critical: 2 }, disabled: 0 }] });
    expect((await api('/api/v1/vulnerabilities', { token: READER })).body).toMatchObject({
      findingsBySeverity: { critical: 4 },
      items: [{ advisoryId: ADVISORIES.critical.id, images: 2 }, { advisoryId: ADVISORIES.medium.id, images: 2 }],
    });
    expect(String((await api('/metrics')).body)).toContain('palisade_findings_disabled 0');
    const rules = views.rules.parse((await api('/api/v1/disable-rules', { token: READER })).body);
    expect(rules.rules.map((r) => r.active)).toEqual([false]);
  });

  it('revoking a rule shows its findings again in every list', async () => {
    const created = await api('/api/v1/disable-rules', { method: 'POST', body: JSON.stringify({ name: 'medium ones', criteria: { severityBelow: 'high' }, justification: 'Triaged in the weekly review.' }) });
    expect(created.body).toMatchObject({ applied: { findings: 4, images: 2 } });
    expect((await api('/api/v1/vulnerabilities', { token: READER })).body).toMatchObject({ total: 1, findingsBySeverity: { medium: 0 } });
    const id = z.object({ id: z.string() }).parse(created.body).id;
    const revoked = await api(`/api/v1/disable-rules/${id}/revoke`, { method: 'POST' });
    expect(revoked.body).toEqual({ id, revoked: true, released: { findings: 4, images: 2 } });
    expect((await api('/api/v1/vulnerabilities', { token: READER })).body).toMatchObject({ total: 2, findingsBySeverity: { medium: 4 } });
    expect((await api(`/api/v1/disable-rules/${id}/revoke`, { method: 'POST' })).status).toBe(404);
  });

  /**
   * Nothing queued and nothing running. `running` in the store as well as the pool's own count: a job
   * leaves `queued` when a worker's claim commits, before the worker counts it as busy.
   */
  const queueDrained = (): Promise<true> =>
    waitFor('queue drained', async () => {
      const depth = await server.store.queueDepth();
      return (depth.queued === 0 && depth.running === 0 && server.workers.busy() === 0) || undefined;
    });

  it('re-evaluates by the windows: pushed ≤ 90 d, pulled ≤ 30 d, running; never re-pulls', async () => {
    // The 2026-03-21 tick's rematch may still be queued or running: a job in flight for the same digest
    // absorbs a new one of its kind (enqueue dedupes), which would leave one rematch fewer than counted here.
    await queueDrained();
    // The image was pushed and pulled on 2026-03-10; the first scheduler tick (2026-03-21, when the disable
    // rule expired) re-evaluated it for the advisory DB build. On 2026-05-01 (52 days) it is inside the push window.
    clock.set('2026-05-01T04:00:00Z');
    let tick = await server.scheduler.tick();
    expect(tick.reevaluations).toContain('daily:2026-05-01');
    await queueDrained();
    const scans = async (): Promise<string[]> => views.scans.parse((await api(`/api/v1/images/${digest}/scans`)).body).scans.map((s) => s.kind);
    expect(await scans()).toEqual(['rematch', 'rematch', 'pull']);
    // 2026-06-20: 102 days after the push, 102 days after the pull: outside both windows.
    clock.set('2026-06-20T04:00:00Z');
    tick = await server.scheduler.tick();
    expect(tick.reevaluations).toContain('daily:2026-06-20');
    await queueDrained();
    expect(await scans()).toEqual(['rematch', 'rematch', 'pull']);
    // Running in a monitored cluster brings it back into the daily re-evaluation.
    const put = await api('/api/v1/clusters/prod/running-images', { method: 'PUT', body: JSON.stringify({ items: [{ namespace: 'shop', pod: 'app-7d9f', container: 'app', image: `${registry.host}/team/app:1.0`, digest }] }) });
    expect(put.status).toBe(200);
    clock.set('2026-06-21T04:00:00Z');
    await server.scheduler.tick();
    await queueDrained();
    expect(await scans()).toEqual(['rematch', 'rematch', 'rematch', 'pull']);
    expect((await api('/api/v1/images?running=true')).body).toMatchObject({ total: 1, items: [{ digest, running: true }] });
  });

  it('re-evaluates stored package lists when the advisory DB is updated', async () => {
    await buildAdvisoryDb(join(dir, 'advisories.sqlite'), { updated: true });
    const tick = await server.scheduler.tick();
    expect(tick.reevaluations).toEqual(['db:2024-07-02T00:00:00.000Z']);
    await queueDrained();
    const after = views.findings.parse((await api(`/api/v1/images/${digest}/findings`)).body);
    expect([...new Set(after.findings.map((f) => f.advisoryId))]).toEqual([ADVISORIES.critical.id, ADVISORIES.high.id, ADVISORIES.medium.id]);
    expect(after.findings).toHaveLength(6);
  });

  /** The build each stored scan of the image matched with (scans of one clock instant have no order among themselves). */
  const builds = async (): Promise<(string | undefined)[]> =>
    z.object({ scans: z.array(z.object({ dbBuiltAt: z.string().optional() })) }).parse((await api(`/api/v1/images/${digest}/scans`)).body).scans.map((s) => s.dbBuiltAt);
  const rematchRetries = async (): Promise<string | undefined> => /palisade_scans_total\{kind="rematch",outcome="retry"\} (\d+)/.exec(String((await api('/metrics')).body))?.[1];

  /**
   * Queues a re-evaluation of the image and, when its job reaches `step` of the store, loads the build
   * `builtAt` the way the server does (file renamed over, scheduler tick) before letting the step go on.
   * Returns the builds of the scans the image had before and has once the queue is drained.
   */
  const reevaluateSwappingAt = async (step: 'getSbom' | 'finishScan', builtAt: string): Promise<{ before: (string | undefined)[]; after: (string | undefined)[] }> => {
    const before = await builds();
    const store = server.store;
    const original: (...args: unknown[]) => Promise<unknown> = store[step].bind(store) as never;
    let swapped = false;
    const swap = async (): Promise<void> => {
      if (swapped) return;
      swapped = true;
      await buildAdvisoryDb(join(dir, 'advisories.sqlite'), { updated: true, builtAt });
      expect((await server.scheduler.tick()).reevaluations).toEqual([`db:${new Date(builtAt).toISOString()}`]);
    };
    const patched = async (...args: unknown[]): Promise<unknown> => {
      await swap();
      return original(...args);
    };
    const restore = { [step]: store[step] };
    Object.assign(store, { [step]: patched });
    try {
      expect((await api('/api/v1/reevaluations', { method: 'POST' })).body).toEqual({ candidates: 1, queued: 1 });
      await waitFor('the swap', () => Promise.resolve(swapped || undefined));
      await queueDrained();
    } finally {
      Object.assign(store, restore);
    }
    return { before, after: await builds() };
  };

  it('re-evaluates again when the advisory DB changes while a rematch of the image is running', async () => {
    // The running job holds the digest's one active rematch slot, so the re-evaluation the 07-03 build
    // queues is absorbed by it; the job, matched with 07-02, must queue another one once it is stored.
    const { before, after } = await reevaluateSwappingAt('finishScan', '2024-07-03T00:00:00Z');
    expect(after).toHaveLength(before.length + 2);
    expect(after.filter((b) => b === '2024-07-03T00:00:00.000Z')).toHaveLength(1);
    expect(after.filter((b) => b === '2024-07-02T00:00:00.000Z')).toHaveLength(before.filter((b) => b === '2024-07-02T00:00:00.000Z').length + 1);
  });

  it('finishes a rematch with the build it began with when a new one is loaded before it matches', async () => {
    // The 07-04 build is loaded while the job reads the stored package list: the job keeps the 07-03
    // build it holds (no failed attempt on a closed DB), stores its findings, then queues a rematch with 07-04.
    const retries = await rematchRetries();
    const { before, after } = await reevaluateSwappingAt('getSbom', '2024-07-04T00:00:00Z');
    expect(after).toHaveLength(before.length + 2);
    expect(after.filter((b) => b === '2024-07-03T00:00:00.000Z')).toHaveLength(2);
    expect(after.filter((b) => b === '2024-07-04T00:00:00.000Z')).toHaveLength(1);
    expect(await rematchRetries()).toBe(retries);
  });

  it('reports usage and cost per the price rules', async () => {
    const put = await api('/api/v1/clusters/prod/nodes', { method: 'PUT', body: JSON.stringify({ nodes: [{ name: 'node-a', cores: 8 }, { name: 'node-b', cores: 4 }] }) });
    expect(put.body).toEqual({ cluster: 'prod', nodes: 2, cores: 12 });
    // March's cores were recorded by the scheduler tick of 2026-03-21 (the configured 4: no nodes known then).
    const march = await api('/api/v1/usage?month=2026-03', { token: READER });
    expect(march.body).toMatchObject({ month: '2026-03', digestsScanned: 2, cores: 4, coresSource: 'recorded', previousMonthCores: 4, freeDigests: 80, extraDigests: 0, cost: { currency: 'USD', cores: 28, extraDigests: 0, total: 28 } });
    const june = await api('/api/v1/usage?month=2026-06', { token: READER });
    expect(june.body).toMatchObject({ month: '2026-06', digestsScanned: 1, cores: 12, coresSource: 'discovered', cost: { cores: 84, total: 84 } });
  });

  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    expect((await api('/healthz')).body).toEqual({ status: 'ok' });
    expect((await api('/readyz')).body).toEqual({ status: 'ready' });
    const metrics = (await api('/metrics')).body;
    expect(typeof metrics).toBe('string');
    expect(String(metrics)).toContain('palisade_queue_jobs{state="failed"} 1');
    expect(String(metrics)).toContain('palisade_scans_total{kind="pull",outcome="done"} 2');
    expect(String(metrics)).toMatch(/palisade_advisory_db_age_seconds \d+/);
    const doc = views.openapi.parse((await api('/openapi.json')).body);
    expect(doc.openapi).toBe('3.0.3');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/images', '/api/v1/images/{digest}/findings', '/api/v1/scans', '/api/v1/hooks/distribution/{registry}', '/api/v1/usage']));
    expect(existsSync(join(dir, 'store.sqlite-wal'))).toBe(true);
  });

  const pushHook = (name: string, repository: string, digest: string): Promise<Response> =>
    fetch(`${base}/api/v1/hooks/push`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-palisade-secret': SECRET }, body: JSON.stringify({ registry: name, repository, tag: '1.0', digest }) });
  const statusOf = async (digest: string): Promise<unknown> => (await api(`/api/v1/images/${digest}/findings`)).body;
  const stateOf = async (digest: string): Promise<string | undefined> => views.status.parse(await statusOf(digest)).status;

  it.each([
    ['is down', 'down', (d: string) => `manifest 127.0.0.1:${downPort}/team/app:${d} failed after 1 attempts (network error: fetch failed); try again later or check the registry address`],
    ['rejects the credentials', 'wrongpass', () => `${wrongpass.host} refused access to team/app; log in (docker login ${wrongpass.host}) or pass credentials`],
  ])('a registry that %s gives a visible scan failure', async (_name, registryName, message) => {
    const image = await writeFixtureImage(join(dir, `img-${registryName}`), registryName, '1.0');
    if (registryName === 'wrongpass') skopeoCopy(image.source, `docker://${wrongpass.host}/team/app:1.0`, { username: 'bob', password: 'right-password-1' });
    expect((await pushHook(registryName, 'team/app', image.digest)).status).toBe(202);
    const failed = await waitFor('failed scan', async () => ((await stateOf(image.digest)) === 'failed' ? statusOf(image.digest) : undefined), 20_000);
    expect(failed).toMatchObject({ status: 'failed', error: message(image.digest) });
  });

  it('finds new digests by catalogue sync (credentials from a file) and scans them', async () => {
    const image = await writeFixtureImage(join(dir, 'img-vault'), 'vault', '3.1');
    skopeoCopy(image.source, `docker://${vault.host}/infra/proxy:3.1`, { username: 'alice', password: 'vault-password-1' });
    // The last sync was at the previous tick (06-21 04:00); the interval is an hour.
    clock.set('2026-06-21T06:00:00Z');
    const tick = await server.scheduler.tick();
    expect(tick.synced).toEqual(['vault']);
    const done = await waitFor('synced image scanned', async () => ((await stateOf(image.digest)) === 'done' ? statusOf(image.digest) : undefined), 20_000);
    expect(done).toMatchObject({ status: 'done', repository: 'infra/proxy', summary: { visible: 6 } });
  });
});

describe.skipIf(!registryAvailable())('catalogue sync of a registry behind bearer-token auth', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-server-token-'));
  const USER = { username: 'sync-bot', password: 'token-registry-secret-1' };
  const logLines: string[] = [];
  let tokens: TokenServer;
  let registry: RunningRegistry;
  let second: RunningRegistry;
  let server: ServerParts;

  beforeAll(async () => {
    await buildAdvisoryDb(join(dir, 'advisories.sqlite'));
    tokens = await startTokenServer(dir, USER);
    const token = { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootCertBundlePath: tokens.certPath };
    registry = await startRegistry({ token });
    second = await startRegistry({ token });
    const config = parseConfig(
      {
        database: join(dir, 'store.sqlite'),
        advisoryDb: join(dir, 'advisories.sqlite'),
        auth: { tokens: [{ name: 'ci-admin', token: ADMIN, role: 'admin' }] },
        registries: [
          { name: 'hub', url: registry.url, credentials: USER, include: ['apps/**'], syncIntervalSeconds: 600 },
          { name: 'hub-wrong', url: second.url, credentials: { username: USER.username, password: 'not-the-password' }, syncIntervalSeconds: 600 },
        ],
        workers: { concurrency: 1, leaseSeconds: 5, maxAttempts: 2, retryDelaySeconds: 0, pollMilliseconds: 50 },
      },
      {},
      'test config',
    );
    const log = createJsonLogger((line) => void logLines.push(line), 'warn');
    server = await createServer(config, { clock: travelClock('2026-03-10T10:00:00Z'), log, registryRetries: 0 });
    server.workers.start();
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await registry?.stop();
    await second?.stop();
    await tokens?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the catalogue and the tags with tokens, scans the unseen digests, and reports refused credentials clearly', async () => {
    const image = await writeFixtureImage(join(dir, 'img-api'), 'token-api', '4.2');
    const unwatched = await writeFixtureImage(join(dir, 'img-tools'), 'token-tools', '1.0');
    await skopeoCopyAsync(image.source, `docker://${registry.host}/apps/api:4.2`, USER);
    await skopeoCopyAsync(unwatched.source, `docker://${registry.host}/tools/debug:1.0`, USER);
    const before = tokens.issued.length;
    const tick = await server.scheduler.tick();
    expect(tick.synced).toEqual(['hub']);
    expect(tokens.issued.slice(before)).toEqual(expect.arrayContaining(['registry:catalog:*', 'repository:apps/api:pull']));
    expect(tokens.issued.slice(before)).not.toContain('repository:tools/debug:pull');
    const done = await waitFor('the synced image scanned', async () => {
      const stored = await server.store.getImage(image.digest);
      return stored?.status === 'done' ? stored : undefined;
    }, 30_000);
    expect(done).toMatchObject({ repository: 'apps/api', tags: ['4.2'], counts: { critical: 2, high: 0, medium: 2 } });
    expect(await server.store.getImage(unwatched.digest)).toBeUndefined();
    // "hub-wrong" asks the same token server with a wrong password: its sync fails and says why.
    const failures = logLines.map((l) => z.object({ msg: z.string(), registry: z.string().optional(), error: z.string().optional() }).parse(JSON.parse(l))).filter((l) => l.msg === 'catalogue sync failed');
    expect(failures).toEqual([
      { msg: 'catalogue sync failed', registry: 'hub-wrong', error: `${second.host} refused a token for the catalogue (HTTP 401); check the credentials (docker login ${second.host})` },
    ]);
  }, 120_000);
});
