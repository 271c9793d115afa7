import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError, fixedClock, silentLogger } from '../core/index.js';
import { makeZip } from './__fixtures__/archives.js';
import { candidates } from './candidates.js';
import { openAdvisoryDb } from './db.js';
import { readDbStatus } from './status.js';
import { feedUrl, loadFeedDownloads, updateFeeds, type FeedDownload } from './update.js';

const clock = fixedClock('2025-03-01T12:00:00Z');
const GHSA = readFileSync(join(import.meta.dirname, 'sources/osv/__fixtures__/ghsa-npm.json'));
const KEV = JSON.stringify({
  catalogVersion: '2025.08.25',
  vulnerabilities: [{ cveID: 'CVE-2021-23337', dateAdded: '2024-01-10', knownRansomwareCampaignUse: 'Known' }],
});
const ZIP = makeZip([{ name: 'GHSA-35jh-r3h4-6jhm.json', data: GHSA }]);

/** What the fixture server does on each request to a path; the default serves the file with an ETag. */
type Behaviour = 'serve' | 'fail-once' | 'truncate' | 'always-500';

const SECDB = JSON.stringify({
  distroversion: 'v3.20',
  reponame: 'main',
  urlprefix: 'https://dl-cdn.alpinelinux.org/alpine',
  apkurl: '{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk',
  archs: ['x86_64'],
  packages: [{ pkg: { name: 'openssl', secfixes: { '3.3.2-r0': ['CVE-2024-6119'] } } }],
});

const FEEDS: FeedDownload[] = [
  { id: 'osv:npm', group: 'osv', base: 'https://osv-vulnerabilities.storage.googleapis.com', path: 'npm/all.zip' },
  { id: 'alpine-secdb:v3.20/main', group: 'alpine-secdb', base: 'https://secdb.alpinelinux.org', path: 'v3.20/main.json' },
  { id: 'kev', group: 'kev', base: 'https://www.cisa.gov/sites/default/files/feeds', path: 'known_exploited_vulnerabilities.json' },
];

let server: Server;
let mirror: string;
let work: string;
const behaviour = new Map<string, Behaviour>();
const failures = new Map<string, number>();
const log: string[] = [];
const bodies: Record<string, Buffer> = {
  '/osv/npm/all.zip': ZIP,
  '/alpine-secdb/v3.20/main.json': Buffer.from(SECDB),
  '/kev/known_exploited_vulnerabilities.json': Buffer.from(KEV),
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'palisade-update-'));
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    const body = bodies[path];
    const etag = `"v1-${path.length}"`;
    const mode = behaviour.get(path) ?? 'serve';
    if (!body) {
      log.push(`404 ${path}`);
      res.writeHead(404).end();
      return;
    }
    if (mode === 'always-500' || (mode === 'fail-once' && (failures.get(path) ?? 0) === 0)) {
      failures.set(path, (failures.get(path) ?? 0) + 1);
      log.push(`500 ${path}`);
      res.writeHead(500).end('upstream exploded');
      return;
    }
    if (req.headers['if-none-match'] === etag) {
      log.push(`304 ${path}`);
      res.writeHead(304).end();
      return;
    }
    if (mode === 'truncate') {
      log.push(`200-truncated ${path}`);
      res.writeHead(200, { 'content-length': String(body.length), etag });
      res.flushHeaders();
      res.write(body.subarray(0, Math.floor(body.length / 2)));
      setTimeout(() => res.destroy(), 20);
      return;
    }
    log.push(`200 ${path}`);
    res.writeHead(200, { 'content-length': String(body.length), etag, 'last-modified': 'Tue, 18 Feb 2025 15:43:41 GMT' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  behaviour.clear();
  failures.clear();
  log.length = 0;
});

describe('feedUrl', () => {
  it.each([
    ['osv:Red Hat', undefined, 'https://osv-vulnerabilities.storage.googleapis.com/Red%20Hat/all.zip'],
    ['osv:Red Hat', 'http://mirror.local/feeds/', 'http://mirror.local/feeds/osv/Red%20Hat/all.zip'],
    ['alpine-secdb:v3.20/main', 'http://mirror.local', 'http://mirror.local/alpine-secdb/v3.20/main.json'],
    ['kev', undefined, 'https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json'],
  ])('%s with mirror %s → %s', (id, mirrorBase, expected) => {
    const feed = loadFeedDownloads().find((f) => f.id === id);
    expect(feed && feedUrl(feed, mirrorBase)).toBe(expected);
  });
});

describe('updateFeeds against a local mirror', () => {
  const dbPath = (): string => join(work, 'vulndb.sqlite');
  const run = (extra: { sources?: string[] } = {}) =>
    updateFeeds({ dbPath: dbPath(), clock, log: silentLogger, mirror, feeds: FEEDS, retryDelayMs: 5, attempts: 3, ...extra });

  it('downloads, builds, then answers 304s from its stored ETags and rebuilds from the cache', async () => {
    const first = await run();
    expect(first.downloaded).toEqual(['osv:npm', 'alpine-secdb:v3.20/main', 'kev']);
    expect(log).toEqual(['200 /osv/npm/all.zip', '200 /alpine-secdb/v3.20/main.json', '200 /kev/known_exploited_vulnerabilities.json']);
    const db = openAdvisoryDb(dbPath());
    expect(candidates(db, 'npm', 'lodash').map((c) => c.advisory.id)).toEqual(['GHSA-35jh-r3h4-6jhm']);
    expect(db.kev('CVE-2021-23337')?.knownRansomwareUse).toBe(true);
    expect(candidates(db, 'alpine:3.20', 'openssl').map((c) => c.advisory.id)).toEqual(['CVE-2024-6119']);
    db.close();

    log.length = 0;
    const second = await run();
    expect(second.notModified).toEqual(['osv:npm', 'alpine-secdb:v3.20/main', 'kev']);
    expect(log).toEqual(['304 /osv/npm/all.zip', '304 /alpine-secdb/v3.20/main.json', '304 /kev/known_exploited_vulnerabilities.json']);
    expect(readDbStatus(dbPath()).sources.map((s) => [s.source, s.records])).toEqual([
      ['alpine-secdb', 1],
      ['kev', 1],
      ['osv:npm', 1],
    ]);
  });

  it('retries a 500 with backoff and succeeds', async () => {
    behaviour.set('/kev/known_exploited_vulnerabilities.json', 'fail-once');
    rmSync(join(work, 'vulndb.sqlite.feeds/kev'), { recursive: true, force: true });
    const result = await run({ sources: ['kev'] });
    expect(result.downloaded).toEqual(['kev']);
    expect(log).toEqual(['500 /kev/known_exploited_vulnerabilities.json', '200 /kev/known_exploited_vulnerabilities.json']);
    expect(result.sources.map((s) => s.source)).toEqual(['alpine-secdb', 'kev', 'osv:npm']);
  });

  it.each([
    ['a download truncated on every attempt', 'truncate' as const, /truncated|broke off/],
    ['a feed that keeps failing', 'always-500' as const, /HTTP 500 \(gave up after 3 attempts\)/],
  ])('%s leaves the old DB and cache intact', async (_name, mode, message) => {
    const before = readFileSync(dbPath());
    rmSync(join(work, 'vulndb.sqlite.feeds/osv'), { recursive: true, force: true });
    behaviour.set('/osv/npm/all.zip', mode);
    const error: unknown = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    expect(error instanceof Error ? error.message : '').toMatch(message);
    expect(readFileSync(dbPath()).equals(before)).toBe(true);
    expect(log.filter((l) => l.includes('/osv/'))).toHaveLength(3);
  });

  it('refuses an unknown source name', async () => {
    await expect(run({ sources: ['debain'] })).rejects.toThrow(/unknown source\(s\) debain; choose from osv, alpine-secdb, kev/);
  });
});
