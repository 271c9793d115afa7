import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort, registryAvailable, skopeoCopy, startRegistry, type RunningRegistry } from './support/registry.js';
import { ADVISORIES, buildAdvisoryDb, createPgDatabase, postgresAvailable, views, waitFor, writeFixtureImage } from './server-support.js';

/**
 * The server as users run it: `node dist/cli/main.js server` child processes, Debian's registry
 * sending notifications, skopeo pushing, `palisade gate` judging. Needs `npm run build` first.
 */
const repoRoot = resolve(import.meta.dirname, '..');
const cli = join(repoRoot, 'dist', 'cli', 'main.js');
const mixedApp = resolve(repoRoot, '../shared/images/mixed-app.oci.tar');
const MIXED_DIGEST = 'sha256:ddb22e1f457197b1c4eb21fa236fac7ec289f0f3b6d219a58747801af45efebf';
const ADMIN = 'admin-token-0123456789';
const SECRET = 'notify-secret-0123456789';
const ready = registryAvailable() && existsSync(cli);
if (!ready) console.warn('server-process tests skipped: needs docker-registry, skopeo and a build (npm run build → dist/cli/main.js)');

interface Spawned {
  child: ChildProcess;
  url: string;
}

async function spawnServer(configPath: string, port: number, logPath: string, extraArgs: string[] = []): Promise<Spawned> {
  const log = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(process.execPath, [cli, 'server', '--config', configPath, '--port', String(port), ...extraArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`server on ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${readFileSync(logPath, 'utf8').slice(-2000)}`);
    try {
      return (await fetch(`${url}/healthz`)).ok || undefined;
    } catch {
      return undefined;
    }
  }, 20_000);
  return { child, url };
}

async function stop(server: Spawned | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill(signal);
  await exited;
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${ADMIN}` } });
  return response.json();
}

function gate(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, 'gate', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function writeConfig(dir: string, name: string, body: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(path, stringify(body));
  return path;
}

describe.skipIf(!ready)('palisade server as a process, SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-server-proc-'));
  let registry: RunningRegistry;
  let port: number;
  let server: Spawned | undefined;
  let configPath: string;

  beforeAll(async () => {
    await buildAdvisoryDb(join(dir, 'advisories.sqlite'));
    port = await freePort();
    registry = await startRegistry({ notifications: { url: `http://127.0.0.1:${port}/api/v1/hooks/distribution/local`, headers: { 'X-Palisade-Secret': SECRET } } });
    configPath = writeConfig(dir, 'palisade.yaml', {
      database: 'store.sqlite',
      advisoryDb: 'advisories.sqlite',
      auth: { tokens: [{ name: 'ci', token: ADMIN, role: 'admin' }] },
      registries: [{ name: 'local', url: registry.url, notificationSecret: SECRET }],
      workers: { concurrency: 1, leaseSeconds: 3, maxAttempts: 3, retryDelaySeconds: 0, pollMilliseconds: 100 },
    });
    server = await spawnServer(configPath, port, join(dir, 'server.log'));
  });

  afterAll(async () => {
    await stop(server);
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('push → notification → scan → `palisade gate` fails the image and prints the reasons', async () => {
    const image = await writeFixtureImage(join(dir, 'img'), 'gate', '1.0');
    skopeoCopy(image.source, `docker://${registry.host}/team/api:1.0`);
    const result = gate([`${registry.host}/team/api:1.0`, '--server', `http://127.0.0.1:${port}`, '--token', ADMIN, '--fail-on', 'high', '--timeout', '60s', '--poll', '200ms']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(1);
    expect(result.stdout).toBe(
      [
        `FAIL ${registry.host}/team/api:1.0 (${image.digest}): 2 finding(s) at or above high`,
        `  ${ADVISORIES.critical.id} critical libssl3 3.0.11-1~deb12u2 (fixed in ${ADVISORIES.critical.fixed}) [known exploited]`,
        `  ${ADVISORIES.critical.id} critical openssl 3.0.11-1~deb12u2 (fixed in ${ADVISORIES.critical.fixed}) [known exploited]`,
        '',
      ].join('\n'),
    );
    // A disable rule for the critical CVE lets the same image pass a --fail-on high gate.
    const rule = await fetch(`http://127.0.0.1:${port}/api/v1/disable-rules`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'api exception', criteria: { cves: [ADVISORIES.critical.id], digests: [image.digest] }, justification: 'Vendor patch scheduled; not exposed.' }),
    });
    expect(rule.status).toBe(201);
    const pass = gate([`${registry.host}/team/api:1.0`, '--server', `http://127.0.0.1:${port}`, '--token', ADMIN, '--fail-on', 'high', '--timeout', '30s']);
    expect(pass.status).toBe(0);
    expect(pass.stdout).toBe(`PASS ${registry.host}/team/api:1.0 (${image.digest}): 2 finding(s) below high, 2 disabled by rules\n`);
  });

  it('`palisade usage` prints the month as a table', () => {
    const result = spawnSync(process.execPath, [cli, 'usage', '--server', `http://127.0.0.1:${port}`, '--token', ADMIN], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    // One digest scanned this month; no cores configured or discovered, so no free allowance.
    expect(result.stdout).toBe(
      [
        `Month                           ${new Date().toISOString().slice(0, 7)}`,
        'Distinct image digests scanned  1',
        'Covered vCPU cores (recorded)   0',
        "Previous month's cores          0",
        'Free digests (20 per core)      0',
        'Extra digests                   1',
        'Cost of cores                   $0.00',
        'Cost of extra digests           $0.29',
        'Total                           $0.29',
        '',
      ].join('\n'),
    );
  });

  it('`palisade server` refuses a bad configuration and names the key', () => {
    const bad = writeConfig(dir, 'bad.yaml', { advisoryDb: 'advisories.sqlite', auth: { tokens: [{ name: 'ci', token: ADMIN, role: 'owner' }] } });
    const result = spawnSync(process.execPath, [cli, 'server', '--config', bad], { encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`palisade: ${bad}: invalid configuration (environment overrides PALISADE__… included):\n  auth.tokens.0.role: Invalid option: expected one of "reader"|"admin"\n`);
  });

  it('gate times out with exit 2 for an image never pushed', () => {
    const result = gate([`${registry.host}/team/never:1.0`, '--server', `http://127.0.0.1:${port}`, '--token', ADMIN, '--timeout', '1s', '--poll', '200ms']);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`palisade gate: timed out after 1 s waiting for ${registry.host}/team/never:1.0 (not yet pushed)\n`);
  });

  it.skipIf(!existsSync(mixedApp))('a server killed during the scan of mixed-app restarts and completes the job once', async () => {
    skopeoCopy(`oci-archive:${mixedApp}`, `docker://${registry.host}/apps/mixed:1.0`);
    await waitFor('the mixed-app scan running', async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return metrics.includes('palisade_workers_busy 1') || undefined;
    }, 20_000, 20);
    await stop(server, 'SIGKILL');
    server = await spawnServer(configPath, port, join(dir, 'server.log'));
    const done = await waitFor('mixed-app findings', async () => {
      const body = await getJson(`http://127.0.0.1:${port}/api/v1/images/${MIXED_DIGEST}/findings`);
      return typeof body === 'object' && body !== null && 'status' in body && body.status === 'done' ? body : undefined;
    }, 60_000, 200);
    expect(done).toMatchObject({ status: 'done', repository: 'apps/mixed' });
    const history = views.scans.parse(await getJson(`http://127.0.0.1:${port}/api/v1/images/${MIXED_DIGEST}/scans`));
    expect(history.scans.map((s) => [s.kind, s.status])).toEqual([['pull', 'done']]);
    const findings = views.findings.parse(done).findings;
    expect(findings.map((f) => `${f.advisoryId} ${f.package.name}`)).toEqual([`${ADVISORIES.requests.id} python3-requests`]);
    const gateResult = gate([`${registry.host}/apps/mixed:1.0`, '--server', `http://127.0.0.1:${port}`, '--token', ADMIN, '--fail-on', 'medium', '--timeout', '10s']);
    expect(gateResult.status).toBe(1);
  }, 120_000);

  if (!existsSync(mixedApp)) console.warn(`kill-during-scan test skipped: ${mixedApp} is absent`);
});

const pgReady = ready && (await postgresAvailable());
if (ready && !pgReady) console.warn('PostgreSQL replica test skipped: no PostgreSQL at 127.0.0.1:5432');

describe.skipIf(!pgReady)('two server processes on one PostgreSQL database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-server-pg-'));
  let registry: RunningRegistry;
  let database: { url: string; drop(): Promise<void> };
  const servers: Spawned[] = [];
  const ports: number[] = [];

  beforeAll(async () => {
    await buildAdvisoryDb(join(dir, 'advisories.sqlite'));
    database = await createPgDatabase();
    ports.push(await freePort(), await freePort());
    registry = await startRegistry({ notifications: { url: `http://127.0.0.1:${ports[0]}/api/v1/hooks/distribution/local`, headers: { 'X-Palisade-Secret': SECRET } } });
    const configPath = writeConfig(dir, 'palisade.yaml', {
      advisoryDb: 'advisories.sqlite',
      auth: { tokens: [{ name: 'ci', token: ADMIN, role: 'admin' }] },
      registries: [{ name: 'local', url: registry.url, notificationSecret: SECRET }],
      workers: { concurrency: 2, leaseSeconds: 10, maxAttempts: 3, retryDelaySeconds: 0, pollMilliseconds: 50 },
    });
    // Both start at once: migrations must not collide.
    const started = await Promise.all(ports.map((p, i) => spawnServer(configPath, p, join(dir, `server-${i}.log`), ['--database', database.url])));
    servers.push(...started);
  });

  afterAll(async () => {
    for (const s of servers) await stop(s);
    await registry?.stop();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('twenty pushes, notified to both replicas: each digest is pulled and scanned exactly once', async () => {
    const digests: string[] = [];
    for (let i = 0; i < 20; i++) {
      const image = await writeFixtureImage(join(dir, `img-${i}`), `n${i}`, `v${i}`);
      digests.push(image.digest);
      skopeoCopy(image.source, `docker://${registry.host}/fleet/svc-${i % 4}:v${i}`);
      // The second replica hears of the same push through the simple hook.
      const hook = await fetch(`http://127.0.0.1:${ports[1]}/api/v1/hooks/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-palisade-secret': SECRET },
        body: JSON.stringify({ registry: 'local', repository: `fleet/svc-${i % 4}`, tag: `v${i}`, digest: image.digest }),
      });
      expect(hook.status).toBe(202);
    }
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await waitFor('all twenty scanned', async () => {
        const r = await client.query<{ n: number }>(`SELECT CAST(COUNT(*) AS INTEGER) AS n FROM images WHERE status = 'done'`);
        return r.rows[0]?.n === 20 || undefined;
      }, 90_000, 200);
      await waitFor('queue idle', async () => {
        const r = await client.query<{ n: number }>(`SELECT CAST(COUNT(*) AS INTEGER) AS n FROM jobs WHERE state IN ('queued', 'running')`);
        return r.rows[0]?.n === 0 || undefined;
      }, 30_000, 200);
      const pulls = await client.query<{ digest: string; n: number }>(`SELECT digest, CAST(COUNT(*) AS INTEGER) AS n FROM scans WHERE kind = 'pull' GROUP BY digest ORDER BY digest`);
      expect(pulls.rows).toEqual([...digests].sort().map((digest) => ({ digest, n: 1 })));
      const failed = await client.query<{ n: number }>(`SELECT CAST(COUNT(*) AS INTEGER) AS n FROM jobs WHERE state = 'failed'`);
      expect(failed.rows[0]?.n).toBe(0);
      const findings = await client.query<{ n: number }>(`SELECT CAST(COUNT(*) AS INTEGER) AS n FROM findings`);
      expect(findings.rows[0]?.n).toBe(80);
      const workers = await client.query<{ worker: string }>(`SELECT DISTINCT split_part(worker, '/', 1) AS worker FROM scans`);
      console.info(`scans spread over ${workers.rows.length} replica(s)`);
    } finally {
      await client.end();
    }
  }, 180_000);
});
