// Server benchmark (issue 4). Run after `npm run build`: node bench/server.mjs
//  1. push-to-findings latency of mixed-app through Debian's docker-registry with notifications to the
//     server (goal < 5 s after the push completes);
//  2. re-evaluation of 1,000 stored package lists (mixed-app's) after an advisory DB update (goal < 60 s),
//     beside the time a full re-pull of the same 1,000 images would take (1,000 × the measured pull scan);
//  3. p99 latency of GET /api/v1/images (limit 50, several filters) with 10,000 images stored, on SQLite
//     and on PostgreSQL (goal < 50 ms).
// Needs: /usr/bin/docker-registry, skopeo, ../shared/images/mixed-app.oci.tar and ../shared/vulndata (the
// advisory DB is imported from the Debian, npm, PyPI, RubyGems, Maven, Go OSV feeds plus KEV and EPSS;
// PALISADE_BENCH_ADVISORY_DB names a ready DB instead). The
// PostgreSQL part needs a server at 127.0.0.1:5432 (trust auth); it creates and drops its own database.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createJsonLogger, systemClock } from '../dist/core/index.js';
import { parseConfig } from '../dist/config/index.js';
import { createServer } from '../dist/server/server.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const archive = path.resolve(repoRoot, '../shared/images/mixed-app.oci.tar');
const MIXED_DIGEST = 'sha256:ddb22e1f457197b1c4eb21fa236fac7ec289f0f3b6d219a58747801af45efebf';
const vulndata = path.resolve(repoRoot, '../shared/vulndata');
const FEEDS = ['osvdev-debian.tar.gz', 'osvdev-npm.tar.gz', 'osvdev-pypi.tar.gz', 'osvdev-rubygems.tar.gz', 'osvdev-maven.tar.gz', 'osvdev-go.tar.gz', 'cisa-kev.tar.gz', 'epss.tar.gz'];
const ADMIN = 'bench-admin-token-000000';
const SECRET = 'bench-notify-secret-0000';
const log = createJsonLogger((line) => process.env.BENCH_VERBOSE && process.stderr.write(line), 'warn');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startRegistry(dir, notifyUrl) {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(path.join(dir, 'registry'))}`,
    'http:',
    `  addr: ${host}`,
    'notifications:',
    '  endpoints:',
    '    - name: palisade',
    `      url: ${JSON.stringify(notifyUrl)}`,
    '      headers:',
    `        X-Palisade-Secret: [${JSON.stringify(SECRET)}]`,
    '      timeout: 2s',
    '      threshold: 3',
    '      backoff: 1s',
  ].join('\n');
  writeFileSync(path.join(dir, 'registry.yml'), config + '\n');
  const child = spawn('/usr/bin/docker-registry', ['serve', path.join(dir, 'registry.yml')], { stdio: 'ignore' });
  for (let i = 0; i < 150; i++) {
    try {
      const r = await fetch(`http://${host}/v2/`);
      if (r.status === 200) return { host, url: `http://${host}`, stop: () => child.kill('SIGTERM') };
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('docker-registry did not start');
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function waitFor(probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

function fakeDigest(i) {
  return `sha256:${i.toString(16).padStart(64, '0')}`;
}

async function drained(parts) {
  await waitFor(async () => {
    const d = await parts.store.queueDepth();
    return d.queued === 0 && d.running === 0 && parts.workers.busy() === 0 ? true : undefined;
  }, 600_000);
}

const figures = {};
const apiOnly = process.argv.includes('--api-only');
const canScan =
  !apiOnly &&
  existsSync('/usr/bin/docker-registry') && existsSync('/usr/bin/skopeo') && existsSync(archive) && (process.env.PALISADE_BENCH_ADVISORY_DB ? existsSync(process.env.PALISADE_BENCH_ADVISORY_DB) : existsSync(vulndata));
const work = mkdtempSync(path.join(tmpdir(), 'palisade-bench-server-'));

try {
  if (apiOnly) console.log('--api-only: push latency and re-evaluation not measured');
  else if (!canScan) {
    console.log(`push latency and re-evaluation skipped: needs docker-registry, skopeo, ${archive} and ${vulndata}`);
  } else {
    const advisoryDb = path.join(work, 'advisories.sqlite');
    if (process.env.PALISADE_BENCH_ADVISORY_DB) copyFileSync(process.env.PALISADE_BENCH_ADVISORY_DB, advisoryDb);
    else {
      const { importFeeds } = await import('../dist/vulndb/import.js');
      const t = performance.now();
      await importFeeds({ inputs: FEEDS.map((f) => path.join(vulndata, f)), dbPath: advisoryDb, clock: systemClock, log });
      console.log(`advisory DB imported from ${FEEDS.length} feeds in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    const port = await freePort();
    const registry = await startRegistry(work, `http://127.0.0.1:${port}/api/v1/hooks/distribution/local`);
    const config = parseConfig(
      {
        server: { host: '127.0.0.1', port },
        database: path.join(work, 'store.sqlite'),
        advisoryDb,
        auth: { tokens: [{ name: 'bench', token: ADMIN, role: 'admin' }] },
        registries: [{ name: 'local', url: registry.url, notificationSecret: SECRET }],
        workers: { concurrency: 2, leaseSeconds: 60, maxAttempts: 2, retryDelaySeconds: 0, pollMilliseconds: 20 },
      },
      {},
      'bench',
    );
    const parts = await createServer(config, { clock: systemClock, log });
    await parts.app.listen({ host: '127.0.0.1', port });
    parts.workers.start();
    try {
      // 1. Push-to-findings.
      const pushStart = performance.now();
      execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci-archive:${archive}`, `docker://${registry.host}/apps/mixed:1.0`]);
      const pushed = performance.now();
      await waitFor(async () => {
        const r = await fetch(`http://127.0.0.1:${port}/api/v1/images/${MIXED_DIGEST}/findings`, { headers: { authorization: `Bearer ${ADMIN}` } });
        if (r.status !== 200) return undefined;
        const body = await r.json();
        if (body.status === 'failed') throw new Error(`scan failed: ${body.error}`);
        return body.status === 'done' ? body : undefined;
      }, 120_000);
      const done = performance.now();
      const image = await parts.store.getImage(MIXED_DIGEST);
      const scans = await parts.store.scans(MIXED_DIGEST);
      const pullScanMs = scans[0]?.durationMs ?? 0;
      figures.push = { skopeoPushMs: Math.round(pushed - pushStart), pushToFindingsMs: Math.round(done - pushed), pullScanMs, packages: image.packageCount, findings: image.counts };
      console.log(`push-to-findings (mixed-app, ${image.packageCount} packages): ${(figures.push.pushToFindingsMs / 1000).toFixed(2)} s after skopeo finished (push itself ${(figures.push.skopeoPushMs / 1000).toFixed(2)} s; pull+scan job ${(pullScanMs / 1000).toFixed(2)} s) — goal < 5 s`);

      // 2. Re-evaluation of 1,000 stored package lists after an advisory DB update.
      const sbom = await parts.store.getSbom(MIXED_DIGEST);
      const storedFindings = (await parts.store.findings(MIXED_DIGEST)).map((s) => s.finding);
      const fresh = process.argv.includes('--fresh');
      const now = new Date();
      for (let i = 1; i <= 1000; i++) {
        const digest = fakeDigest(i);
        await parts.store.recordPush({ registry: registry.host, repository: `bench/app-${i % 50}`, tag: `v${i}`, digest }, now);
      }
      // Stored lists are written through the queue API, as a worker would (lease, then store).
      await parts.workers.stop();
      for (let i = 1; i <= 1000; i++) {
        await parts.store.enqueue({ kind: 'scan', digest: fakeDigest(i), registry: registry.host, repository: `bench/app-${i % 50}` }, now);
      }
      for (;;) {
        const job = await parts.store.claim('bench-seeder', 60_000, new Date(), 3);
        if (!job) break;
        await parts.store.finishScan(job, 'bench-seeder', { kind: 'pull', worker: 'bench-seeder', startedAt: new Date().toISOString(), sbom: { ...sbom, platform: 'linux/amd64' }, findings: fresh ? [] : storedFindings }, new Date());
      }
      // The "update": a new build of the DB file (same content, new build time) replaces the old one.
      const updated = path.join(work, 'advisories.next.sqlite');
      copyFileSync(advisoryDb, updated);
      const db = new Database(updated);
      db.prepare('UPDATE schema_version SET built_at = ?').run(new Date().toISOString());
      db.close();
      execFileSync('mv', [updated, advisoryDb]);
      parts.workers.start();
      const reStart = performance.now();
      const tick = await parts.scheduler.tick();
      await drained(parts);
      const reMs = performance.now() - reStart;
      const totals = await parts.store.scanTotals();
      const rematches = totals.filter((t) => t.kind === 'rematch' && t.status === 'done').reduce((s, t) => s + t.count, 0);
      figures.reevaluation = { images: rematches, ms: Math.round(reMs), trigger: tick.reevaluations, fullRepullEstimateMs: pullScanMs * 1001 };
      figures.reevaluation.storedFindingsBefore = fresh ? 0 : storedFindings.length;
      console.log(
        `re-evaluation after a DB update (${fresh ? 'no findings stored before: every finding written' : `${storedFindings.length} findings stored per image before`}): ${rematches} stored package lists in ${(reMs / 1000).toFixed(1)} s (2 workers) — goal < 60 s; a full re-pull would take ≈ ${((pullScanMs * 1001) / 1000).toFixed(0)} s (1,001 × ${(pullScanMs / 1000).toFixed(2)} s pull+scan)`,
      );
    } finally {
      await parts.close();
      registry.stop();
    }
  }

  // 3. API p99 with 10,000 images, SQLite and PostgreSQL.
  const pgUrl = 'postgres://postgres@127.0.0.1:5432/test';
  let pgOk = false;
  try {
    const c = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 2000 });
    await c.connect();
    await c.end();
    pgOk = true;
  } catch {
    console.log('PostgreSQL API figure skipped: no server at 127.0.0.1:5432');
  }
  const backends = [['sqlite', path.join(work, 'api.sqlite')]];
  let dbName;
  if (pgOk) {
    dbName = `palisade_bench_${Date.now().toString(36)}`;
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`CREATE DATABASE ${dbName}`);
    await c.end();
    backends.push(['postgres', `postgres://postgres@127.0.0.1:5432/${dbName}`]);
  }
  const fixtureDb = path.join(work, 'advisories.sqlite');
  if (!existsSync(fixtureDb)) {
    // The API figure needs only a loadable advisory DB: build an empty one with the importer.
    const { importFeeds } = await import('../dist/vulndb/import.js');
    const feeds = path.join(work, 'feeds');
    execFileSync('mkdir', ['-p', feeds]);
    writeFileSync(path.join(feeds, 'epss.csv'), 'cve,epss,percentile\nCVE-2024-0001,0.1,0.5\n');
    await importFeeds({ inputs: [feeds], dbPath: fixtureDb, clock: systemClock, log });
  }
  for (const [name, database] of backends) {
    const port = await freePort();
    const config = parseConfig(
      { server: { host: '127.0.0.1', port }, database, advisoryDb: fixtureDb, auth: { tokens: [{ name: 'bench', token: ADMIN, role: 'admin' }] }, workers: { concurrency: 0 } },
      {},
      'bench',
    );
    const parts = await createServer(config, { clock: systemClock, log });
    await parts.app.listen({ host: '127.0.0.1', port });
    try {
      const seedStart = performance.now();
      const base = Date.parse('2026-01-01T00:00:00Z');
      const batch = [];
      for (let i = 1; i <= 10_000; i++) {
        batch.push(parts.store.recordPush({ registry: 'registry.example.com', repository: `team-${i % 40}/svc-${i % 250}`, tag: `1.${i}`, digest: fakeDigest(i) }, new Date(base + i * 60_000)));
        if (batch.length === 16) await Promise.all(batch.splice(0));
      }
      await Promise.all(batch);
      const seedMs = performance.now() - seedStart;
      // Planner statistics, as autovacuum (PostgreSQL) or a periodic ANALYZE (SQLite) would have them.
      if (name === 'postgres') {
        const c = new pg.Client({ connectionString: database });
        await c.connect();
        await c.query('VACUUM ANALYZE');
        await c.end();
      } else {
        const db = new Database(database);
        db.exec('ANALYZE');
        db.close();
      }
      const queries = ['/api/v1/images?limit=50', '/api/v1/images?limit=50&offset=5000', '/api/v1/images?repository=team-7/svc-7', '/api/v1/images?tag=1.777', '/api/v1/images?severity=high&fixAvailable=true', '/api/v1/images?running=false&limit=100'];
      for (let i = 0; i < 30; i++) await fetch(`http://127.0.0.1:${port}${queries[i % queries.length]}`, { headers: { authorization: `Bearer ${ADMIN}` } }).then((r) => r.arrayBuffer());
      const times = [];
      for (let i = 0; i < 600; i++) {
        const t = performance.now();
        const r = await fetch(`http://127.0.0.1:${port}${queries[i % queries.length]}`, { headers: { authorization: `Bearer ${ADMIN}` } });
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      figures[`api_${name}`] = { p50: +percentile(times, 50).toFixed(2), p99: +percentile(times, 99).toFixed(2), seedMs: Math.round(seedMs) };
      console.log(`images list, 10,000 images, ${name}: p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms over 600 requests (6 filter shapes) — goal p99 < 50 ms`);
    } finally {
      await parts.close();
    }
  }
  if (dbName) {
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await c.end();
  }
  console.log(JSON.stringify(figures));
} finally {
  rmSync(work, { recursive: true, force: true });
}
