import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, fixedClock, silentLogger, type Advisory } from '../core/index.js';
import { makeTarGz, makeZip } from './__fixtures__/archives.js';
import { candidates } from './candidates.js';
import { openAdvisoryDb } from './db.js';
import { importFeeds } from './import.js';
import { createMemoryIndex } from './memory.js';
import { osvFormat } from './sources/osv/index.js';
import { readDbStatus } from './status.js';
import type { AdvisoryIndex } from './types.js';

const clock = fixedClock('2025-03-01T12:00:00Z');
const osvFixtures = join(import.meta.dirname, 'sources/osv/__fixtures__');
const osv = (name: string): string => readFileSync(join(osvFixtures, name), 'utf8');

const DSA = JSON.stringify({
  id: 'DSA-5999-1',
  modified: '2025-01-21T00:00:00Z',
  published: '2025-01-21T00:00:00Z',
  related: ['CVE-2024-99001'],
  summary: 'exampletls - security update',
  affected: [
    {
      package: { ecosystem: 'Debian:12', name: 'exampletls' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.15-1~deb12u1' }] }],
    },
  ],
});
const OLDER_LODASH = JSON.stringify({
  id: 'GHSA-35jh-r3h4-6jhm',
  modified: '2021-05-06T16:05:51Z',
  summary: 'an older copy that must lose',
  affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '4.17.20' }] }] }],
});
const KEV = JSON.stringify({
  catalogVersion: '2025.08.25',
  vulnerabilities: [{ cveID: 'CVE-2021-23337', dateAdded: '2024-01-10', dueDate: '2024-01-31', knownRansomwareCampaignUse: 'Unknown' }],
});
const EPSS = 'CVE-2021-23337;0.042880000;0.917260000\nCVE-2024-99001;0.000430000;0.113170000\n';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'palisade-import-'));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

function feedDir(name: string): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'osv'), { recursive: true });
  writeFileSync(join(dir, 'osv/CVE-2024-99001.json'), osv('debian-cve.json'));
  writeFileSync(join(dir, 'osv/GHSA-35jh-r3h4-6jhm.json'), osv('ghsa-npm.json'));
  writeFileSync(join(dir, 'osv/PYSEC-2023-74.yaml'), osv('pysec.yaml'));
  writeFileSync(join(dir, 'osv/DSA-5999-1.json'), DSA);
  writeFileSync(join(dir, 'known_exploited_vulnerabilities.json'), KEV);
  writeFileSync(join(dir, 'CVE_2021_EPSS.csv'), EPSS);
  writeFileSync(join(dir, 'README.md'), '# feeds\n');
  return dir;
}

function lookups(index: AdvisoryIndex): unknown {
  return {
    lodash: candidates(index, 'npm', 'lodash').map((c) => [c.advisory.id, c.advisory.aliases, c.advisory.severity, c.affected.ranges, c.affected.fixState]),
    debian13: candidates(index, 'debian:13', 'exampletls').map((c) => [c.advisory.id, c.affected.fixState, c.affected.severity]),
    cve: candidates(index, 'debian:12', 'exampletls').map((c) => [c.advisory.id, c.advisory.aliases]).sort(),
    pypi: candidates(index, 'pypi', 'redis-py-cluster').map((c) => c.advisory.id),
    none: candidates(index, 'npm', 'left-pad'),
    kev: index.kev('CVE-2021-23337'),
    epss: index.epss('CVE-2024-99001'),
    noKev: index.kev('CVE-1999-0001'),
  };
}

const EXPECTED_LOOKUPS = {
  lodash: [
    [
      'GHSA-35jh-r3h4-6jhm',
      ['CVE-2021-23337'],
      'high',
      [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '4.17.21' }] }],
      'fixed',
    ],
  ],
  debian13: [['CVE-2024-99001', 'unfixed', 'negligible']],
  cve: [
    ['CVE-2024-99001', ['DSA-5999-1']],
    ['DSA-5999-1', ['CVE-2024-99001']],
  ],
  pypi: ['PYSEC-2023-74'],
  none: [],
  kev: { cveId: 'CVE-2021-23337', dateAdded: '2024-01-10', dueDate: '2024-01-31', knownRansomwareUse: false },
  epss: { cveId: 'CVE-2024-99001', score: 0.00043, percentile: 0.11317 },
  noKev: undefined,
};

describe('importFeeds', () => {
  it("gives EPSS the score_date of its file as the source's snapshot", async () => {
    const csv = join(work, 'epss_scores-2024-08-16.csv');
    writeFileSync(csv, `#model_version:v2023.03.01,score_date:2024-08-16T00:00:00+0000\ncve,epss,percentile\n${EPSS.replaceAll(';', ',')}`);
    const result = await importFeeds({ inputs: [csv], dbPath: join(work, 'epss.sqlite'), clock, log: silentLogger });
    expect(result.sources.map((s) => [s.source, s.records, s.snapshot])).toEqual([['epss', 2, '2024-08-16T00:00:00.000Z']]);
  });

  it('builds a DB from a directory that the read side answers from, like the in-memory index', async () => {
    const dbPath = join(work, 'dir.sqlite');
    const result = await importFeeds({ inputs: [feedDir('dir')], dbPath, clock, log: silentLogger });
    expect(result.files).toBe(6);
    expect(result.unrecognised).toBe(1);
    expect(result.sources.map((s) => [s.source, s.records, s.snapshot])).toEqual([
      ['epss', 2, null],
      ['kev', 1, '2024-01-10'],
      // Records covering several ecosystems (Debian + Alpine; PyPI + Maven) are labelled plain 'osv'.
      ['osv', 2, '2025-01-20T10:00:00Z'],
      ['osv:Debian', 1, '2025-01-21T00:00:00Z'],
      ['osv:npm', 1, '2025-01-14T08:57:24.130762Z'],
    ]);
    const db = openAdvisoryDb(dbPath);
    try {
      expect(lookups(db)).toEqual(EXPECTED_LOOKUPS);
    } finally {
      db.close();
    }

    // The in-memory index answers the same for the same records.
    const advisories: Advisory[] = [];
    for (const name of ['debian-cve.json', 'ghsa-npm.json', 'pysec.yaml']) {
      osvFormat.parseFile(name, Buffer.from(osv(name)), { advisory: (a) => advisories.push(a), kev: () => {}, epss: () => {}, skip: () => {} });
    }
    osvFormat.parseFile('DSA-5999-1.json', Buffer.from(DSA), { advisory: (a) => advisories.push(a), kev: () => {}, epss: () => {}, skip: () => {} });
    const memory = createMemoryIndex(
      advisories,
      [{ cveId: 'CVE-2021-23337', dateAdded: '2024-01-10', dueDate: '2024-01-31', knownRansomwareUse: false }],
      [{ cveId: 'CVE-2024-99001', score: 0.00043, percentile: 0.11317 }],
    );
    expect(lookups(memory)).toEqual(EXPECTED_LOOKUPS);
  });

  it('reads .tar.gz and osv.dev-style .zip inputs to the same DB', async () => {
    const files = [
      { name: 'CVE-2024-99001.json', data: osv('debian-cve.json') },
      { name: 'GHSA-35jh-r3h4-6jhm.json', data: osv('ghsa-npm.json') },
      { name: 'PYSEC-2023-74.yaml', data: osv('pysec.yaml') },
      { name: 'DSA-5999-1.json', data: DSA },
    ];
    const tgz = join(work, 'feeds.tar.gz');
    writeFileSync(tgz, await makeTarGz([{ name: 'feeds/', data: '' }, ...files.map((f) => ({ ...f, name: `feeds/osv/${f.name}` })), { name: 'feeds/kev.json', data: KEV }]));
    const zip = join(work, 'all.zip');
    writeFileSync(zip, makeZip(files));
    const epss = join(work, 'CVE_2024_EPSS.csv');
    writeFileSync(epss, EPSS);
    for (const inputs of [[tgz, epss], [zip, tgz, epss]]) {
      const dbPath = join(work, `archives-${inputs.length}.sqlite`);
      await importFeeds({ inputs, dbPath, clock, log: silentLogger });
      const db = openAdvisoryDb(dbPath);
      try {
        expect(lookups(db)).toEqual(EXPECTED_LOOKUPS);
      } finally {
        db.close();
      }
    }
  });

  it('keeps the newest copy of a record seen twice and drops a withdrawn one', async () => {
    const a = join(work, 'dup-a');
    const b = join(work, 'dup-b');
    mkdirSync(a, { recursive: true });
    mkdirSync(b, { recursive: true });
    writeFileSync(join(a, 'GHSA-35jh-r3h4-6jhm.json'), osv('ghsa-npm.json'));
    writeFileSync(join(b, 'GHSA-35jh-r3h4-6jhm.json'), OLDER_LODASH);
    const dbPath = join(work, 'dup.sqlite');
    const result = await importFeeds({ inputs: [a, b], dbPath, clock, log: silentLogger });
    expect(result.feeds.find((f) => f.feed === 'osv')).toMatchObject({ advisories: 1, duplicates: 1 });
    let db = openAdvisoryDb(dbPath);
    expect(candidates(db, 'npm', 'lodash').map((c) => [c.advisory.summary, c.affected.ranges[0]?.events[1]])).toEqual([
      ['Command Injection in lodash', { fixed: '4.17.21' }],
    ]);
    db.close();

    const w = join(work, 'dup-w');
    mkdirSync(w, { recursive: true });
    writeFileSync(join(w, 'GHSA-35jh-r3h4-6jhm.json'), osv('withdrawn.json'));
    const withdrawn = await importFeeds({ inputs: [a, w], dbPath, clock, log: silentLogger });
    expect(withdrawn.feeds.find((f) => f.feed === 'osv')).toMatchObject({ withdrawn: 1 });
    db = openAdvisoryDb(dbPath);
    expect(candidates(db, 'npm', 'lodash')).toEqual([]);
    expect(candidates(db, 'npm', 'lodash-es')).toEqual([]);
    db.close();
  });

  it('merges parts of one record (same id and modified, other packages) and drops exact repeats', async () => {
    const part = (ecosystem: string, fixed: string): string =>
      JSON.stringify({
        id: 'CVE-2023-0286',
        modified: '2025-02-13T19:56:17Z',
        aliases: ecosystem === 'Alpine:v3.17' ? ['GHSA-x4qr-2fvf-3mr5'] : [],
        affected: [{ package: { ecosystem, name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] }],
      });
    const dirs = ['p1', 'p2', 'p3'].map((n) => join(work, n));
    for (const d of dirs) mkdirSync(d, { recursive: true });
    writeFileSync(join(dirs[0] ?? '', 'CVE-2023-0286.json'), part('Debian:12', '3.0.8-1'));
    writeFileSync(join(dirs[1] ?? '', 'CVE-2023-0286.json'), part('Alpine:v3.17', '3.0.8-r0'));
    writeFileSync(join(dirs[2] ?? '', 'CVE-2023-0286.json'), part('Debian:12', '3.0.8-1'));
    const dbPath = join(work, 'merge.sqlite');
    const result = await importFeeds({ inputs: dirs, dbPath, clock, log: silentLogger });
    expect(result.feeds.find((f) => f.feed === 'osv')).toMatchObject({ advisories: 1, merged: 1, duplicates: 1 });
    const db = openAdvisoryDb(dbPath);
    try {
      expect(candidates(db, 'debian:12', 'openssl').map((c) => [c.advisory.id, c.advisory.aliases])).toEqual([['CVE-2023-0286', ['GHSA-x4qr-2fvf-3mr5']]]);
      expect(candidates(db, 'alpine:3.17', 'openssl').map((c) => c.affected.ranges[0]?.events[1])).toEqual([{ fixed: '3.0.8-r0' }]);
    } finally {
      db.close();
    }
  });

  it('counts bad records per feed with reasons and example references', async () => {
    const dir = join(work, 'bad');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'GHSA-trunc.json'), '{"id": "GHSA-trunc", "modified": "2024-01-0');
    writeFileSync(join(dir, 'X-1.json'), '{"id": "X-1", "modified": "2024-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "SwiftURL", "name": "a"}, "versions": ["1.0"]}]}');
    writeFileSync(join(dir, 'GHSA-35jh-r3h4-6jhm.json'), osv('ghsa-npm.json'));
    const result = await importFeeds({ inputs: [dir], dbPath: join(work, 'bad.sqlite'), clock, log: silentLogger });
    const feed = result.feeds.find((f) => f.feed === 'osv');
    expect(feed?.advisories).toBe(1);
    expect(feed?.reasons.map((r) => [r.reason, r.count])).toEqual([
      ['invalid JSON', 1],
      ['no affected package in a supported ecosystem', 1],
      ['unknown ecosystem SwiftURL', 1],
    ]);
    expect(readDbStatus(join(work, 'bad.sqlite')).skips).toContainEqual({ feed: 'osv', reason: 'invalid JSON', count: 1 });
  });

  describe('broken inputs leave the existing DB intact', () => {
    let dbPath: string;
    let before: Buffer;
    beforeAll(async () => {
      dbPath = join(work, 'intact.sqlite');
      await importFeeds({ inputs: [feedDir('intact-src')], dbPath, clock, log: silentLogger });
      before = readFileSync(dbPath);
    });

    async function expectRefused(inputs: string[], code: string, message: RegExp, maxEntries = 1000): Promise<void> {
      const limits = { maxEntryBytes: 1024 * 1024, maxArchiveBytes: 2 * 1024 * 1024, maxEntries };
      const error: unknown = await importFeeds({ inputs, dbPath, clock, log: silentLogger, limits }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code });
      expect(String(error instanceof Error ? error.message : error)).toMatch(message);
      expect(readFileSync(dbPath).equals(before)).toBe(true);
      expect(readdirSync(work).filter((n) => n.startsWith('intact.sqlite.tmp-'))).toEqual([]);
    }

    it('a truncated .tar.gz', async () => {
      const full = await makeTarGz([{ name: 'osv/GHSA-35jh-r3h4-6jhm.json', data: osv('ghsa-npm.json') }, { name: 'osv/big.json', data: osv('debian-cve.json').repeat(20) }]);
      const file = join(work, 'truncated.tar.gz');
      writeFileSync(file, full.subarray(0, Math.floor(full.length / 2)));
      await expectRefused([feedDir('ok-before-bad'), file], 'BAD_INPUT', /truncated\.tar\.gz: the gzip stream is truncated/);
    });

    it('a file that is not a zip', async () => {
      const file = join(work, 'notzip.zip');
      writeFileSync(file, '<html>502 Bad Gateway</html>');
      await expectRefused([file], 'BAD_INPUT', /notzip\.zip: not a valid zip archive/);
    });

    it('a zip whose entries expand beyond the archive cap (zip bomb)', async () => {
      const zeros = Buffer.alloc(900 * 1024);
      const file = join(work, 'bomb.zip');
      writeFileSync(file, makeZip([1, 2, 3].map((i) => ({ name: `GHSA-${i}.json`, data: zeros }))));
      expect(statSync(file).size).toBeLessThan(10_000);
      await expectRefused([file], 'TOO_LARGE', /bomb\.zip expands to more than 2097152 bytes/);
    });

    it('a zip that lies about its entry sizes', async () => {
      const file = join(work, 'liar.zip');
      writeFileSync(file, makeZip([{ name: 'GHSA-1.json', data: Buffer.alloc(200 * 1024) }], { declaredSize: 100 }));
      await expectRefused([file], 'BAD_INPUT', /liar\.zip: the zip archive is corrupt/);
    });

    it.each([
      ['zip', (files: { name: string; data: string }[]) => Promise.resolve(makeZip(files))],
      ['tar.gz', makeTarGz],
    ])('a %s with more entries than the cap', async (ext, make) => {
      const files = [1, 2, 3].map((i) => ({ name: `GHSA-${i}.json`, data: '{}' }));
      const file = join(work, `many.${ext}`);
      writeFileSync(file, await make(files));
      await expectRefused([file], 'TOO_LARGE', new RegExp(`many\\.${ext.replace('.', '\\.')} holds more than 2 entries`), 2);
    });

    it('a missing input', async () => {
      await expectRefused([join(work, 'nope.tar.gz')], 'NOT_FOUND', /nope\.tar\.gz: no such file/);
    });

    it('inputs that hold no known feed at all (the DB is not replaced by an empty one)', async () => {
      const file = join(work, 'notes.json');
      writeFileSync(file, JSON.stringify({ hello: 'not an advisory feed' }));
      await expectRefused([file], 'BAD_INPUT', /notes\.json holds a known advisory feed.*1 file\(s\) read, none recognised.*left as it was/);
    });
  });

  it('skips and counts single entries over the entry cap without reading them whole', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 0x20);
    const zip = join(work, 'big-entry.zip');
    writeFileSync(zip, makeZip([{ name: 'GHSA-big.json', data: big }, { name: 'GHSA-35jh-r3h4-6jhm.json', data: osv('ghsa-npm.json') }]));
    const tgz = join(work, 'big-entry.tar.gz');
    writeFileSync(tgz, await makeTarGz([{ name: 'GHSA-big.json', data: big }]));
    const result = await importFeeds({ inputs: [zip, tgz], dbPath: join(work, 'big.sqlite'), clock, log: silentLogger, limits: { maxEntryBytes: 1024 * 1024 } });
    expect(result.feeds.find((f) => f.feed === 'import')?.reasons.map((r) => [r.reason, r.count])).toEqual([['file larger than 1048576 bytes', 2]]);
    expect(result.feeds.find((f) => f.feed === 'osv')?.advisories).toBe(1);
  });
});
