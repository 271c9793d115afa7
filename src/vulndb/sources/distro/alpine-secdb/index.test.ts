import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Advisory } from '../../../../core/types.js';
import { archiveExists, runArchive } from '../__fixtures__/archive.js';
import { collectingSink } from '../__fixtures__/sink.js';
import { alpineNamespace, alpineSecdb, secfixIds } from './index.js';

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url));

function fixed(id: string, name: string, version: string, aliases: string[] = [], namespace = 'alpine:3.19'): Advisory {
  return {
    id,
    aliases,
    source: 'alpine-secdb',
    cvss: [],
    references: [],
    affected: [
      {
        namespace,
        name,
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: version }] }],
        versions: [],
        fixState: 'fixed',
      },
    ],
  };
}

describe('alpine-secdb', () => {
  it.each([
    ['alpine-secdb/3.19/main.json', '{\n\t"apkurl": "{{urlprefix}}/{{distroversion}}', true],
    ['secdb/v3.20/community.json', '{"distroversion": "v3.20", "packages": []}', true],
    ['alpine-secdb/edge/main.json', '{\n\t"apkurl": "x",\n\t"archs": []', true],
    ['/data/feeds/alpine/3.18/main.json', '{"reponame": "main"}', true],
    // OSV export of the Alpine ecosystem: belongs to the OSV parser
    ['osvdev-alpine/ALPINE-CVE-2023-5363.json', '{"id":"ALPINE-CVE-2023-5363","affected":[]}', false],
    ['alpine-secdb/3.19/main.json', '{"schema_version":"1.6.0","id":"X","affected":[]}', false],
    ['alpine-secdb/3.19/other.json', '{"distroversion": "v3.19"}', false],
    ['alpine-secdb/main.json', '{"distroversion": "v3.19"}', false],
    ['cisa-kev/known_exploited_vulnerabilities.json', '{"title":"CISA Catalog","catalogVersion":"2025.08.25"}', false],
  ])('detect(%s) is %s', (path, head, expected) => {
    expect(alpineSecdb.detect(path, Buffer.from(head))).toBe(expected);
  });

  it.each([
    ['CVE-2023-5363', { id: 'CVE-2023-5363', aliases: [] }],
    ['CVE-2023-46837 XSA-449', { id: 'CVE-2023-46837', aliases: ['XSA-449'] }],
    ['XSA-450', { id: 'XSA-450', aliases: [] }],
    ['CVE-2019-15166 (LMP)', { id: 'CVE-2019-15166', aliases: [] }],
    ['CVE-2017-17434-1', { id: 'CVE-2017-17434', aliases: [] }],
    ['CVE_2018-1000500', { id: 'CVE-2018-1000500', aliases: [] }],
    ['GNUTLS-SA-2020-06-03 CVE-2020-13777', { id: 'CVE-2020-13777', aliases: ['GNUTLS-SA-2020-06-03'] }],
    ['CVE-2019-17349 CVE-2019-17350 XSA-295', { id: 'CVE-2019-17349', aliases: ['CVE-2019-17350', 'XSA-295'] }],
    ['CVE N/A ZBX-11023', { id: 'ZBX-11023', aliases: [] }],
    ['CVE-????-????? XSA-321', { id: 'XSA-321', aliases: [] }],
    ['CVE-????-?????', undefined],
    ['CVE-12345', undefined],
  ])('secfixIds(%j)', (entry, expected) => {
    expect(secfixIds(entry)).toEqual(expected);
  });

  it.each([
    ['v3.19', 'alpine:3.19'],
    ['3.2', 'alpine:3.2'],
    ['edge', 'alpine:edge'],
    ['v3.19.1', undefined],
    ['latest-stable', undefined],
  ])('alpineNamespace(%s) = %s', (release, expected) => {
    expect(alpineNamespace(release)).toBe(expected);
  });

  it('parses a release file into one advisory per id', () => {
    const sink = collectingSink();
    alpineSecdb.parseFile('alpine-secdb/3.19/main.json', fixture('3.19/main.json'), sink);
    expect(sink.advisories).toEqual([
      {
        id: 'CVE-2023-0401',
        aliases: [],
        source: 'alpine-secdb',
        cvss: [],
        references: [],
        affected: [{ namespace: 'alpine:3.19', name: 'openssl', ranges: [], versions: [], fixState: 'not-affected' }],
      },
      // listed under two busybox versions: the first fix counts (r6 < r15 in apk order)
      fixed('CVE-2023-42364', 'busybox', '1.36.1-r15'),
      fixed('CVE-2023-42366', 'busybox', '1.36.1-r6'),
      fixed('CVE-2023-46837', 'xen', '4.18.0-r2', ['XSA-449']),
      fixed('CVE-2023-46839', 'xen', '4.18.0-r4'),
      {
        ...fixed('CVE-2023-5363', 'openssl', '3.1.4-r1'),
        affected: [
          ...fixed('CVE-2023-5363', 'openssl', '3.1.4-r1').affected,
          ...fixed('CVE-2023-5363', 'openssl3-compat', '3.1.4-r2').affected,
        ],
      },
      fixed('CVE-2023-5678', 'openssl', '3.1.4-r3'),
      fixed('XSA-450', 'xen', '4.18.0-r2'),
    ]);
    expect(sink.skips).toEqual([
      {
        reason: 'no advisory id in secfixes entry "CVE-????-????? (pending)"',
        ref: 'alpine-secdb/3.19/main.json#busybox@1.36.1-r16',
      },
      {
        reason: 'bad package entry: pkg.name: Invalid input: expected string, received undefined',
        ref: 'alpine-secdb/3.19/main.json#packages[4]',
      },
    ]);
  });

  it('files edge under alpine:edge', () => {
    const sink = collectingSink();
    alpineSecdb.parseFile('alpine-secdb/edge/community.json', fixture('edge/community.json'), sink);
    expect(sink.advisories).toEqual([
      fixed('CVE-2024-23334', 'py3-aiohttp', '3.9.2-r0', ['GHSA-5h86-8mv2-jq9f'], 'alpine:edge'),
    ]);
    expect(sink.skips).toEqual([]);
  });

  it.each([
    ['not JSON', Buffer.from('{"distroversion": "v3.19", "packages": ['), 'Alpine secdb file alpine-secdb/3.19/main.json is not valid JSON; re-download the feed'],
  ])('rejects a file that is %s', (_what, data, message) => {
    expect(() => alpineSecdb.parseFile('alpine-secdb/3.19/main.json', data, collectingSink())).toThrow(message);
  });

  it.each([
    ['no packages array', '{"distroversion": "v3.19"}', 'not an Alpine secdb file: packages: Invalid input: expected array, received undefined'],
    ['an unknown release', '{"distroversion": "latest", "packages": []}', "unknown Alpine release 'latest'"],
  ])('skips a file with %s', (_what, json, reason) => {
    const sink = collectingSink();
    alpineSecdb.parseFile('alpine-secdb/3.19/main.json', Buffer.from(json), sink);
    expect(sink.advisories).toEqual([]);
    expect(sink.skips).toEqual([{ reason, ref: 'alpine-secdb/3.19/main.json' }]);
  });
});

const ARCHIVE = 'alpine-secdb.tar.gz';
if (!archiveExists(ARCHIVE)) console.warn(`skipping the real Alpine secdb test: ../shared/vulndata/${ARCHIVE} is absent`);

describe.skipIf(!archiveExists(ARCHIVE))('alpine-secdb on the real feed snapshot', () => {
  it('parses every release file', async () => {
    const run = await runArchive(ARCHIVE, alpineSecdb);
    console.info(`alpine-secdb: ${run.advisories} advisories from ${run.detected} files in ${run.parseMs.toFixed(0)} ms`);
    expect(run).toMatchObject({ files: 41, detected: 41, advisories: 74226, affected: 84978, skips: 5 });
    expect(Object.fromEntries(run.skipReasons)).toEqual({ 'no advisory id in secfixes entry …': 5 });
    expect(run.skips / run.advisories).toBeLessThan(0.01);
  }, 120_000);
});
