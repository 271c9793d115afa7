import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Advisory, EpssScore, KevEntry } from '../../../core/index.js';
import type { FeedSink } from '../../types.js';
import { mapEcosystem, normalisePypiName } from './ecosystems.js';
import { osvFormat } from './index.js';

const fixtures = join(import.meta.dirname, '__fixtures__');

function collect(): FeedSink & { advisories: Advisory[]; skips: [string, string][]; kevs: KevEntry[]; scores: EpssScore[] } {
  const advisories: Advisory[] = [];
  const skips: [string, string][] = [];
  const kevs: KevEntry[] = [];
  const scores: EpssScore[] = [];
  return {
    advisories,
    skips,
    kevs,
    scores,
    advisory: (a) => advisories.push(a),
    kev: (e) => kevs.push(e),
    epss: (e) => scores.push(e),
    skip: (reason, ref) => skips.push([reason, ref]),
  };
}

function parseFixture(name: string): ReturnType<typeof collect> {
  const sink = collect();
  const path = join(fixtures, name);
  osvFormat.parseFile(path, readFileSync(path), sink);
  return sink;
}

describe('mapEcosystem', () => {
  it.each([
    ['Debian:12', 'debian:12', true],
    ['Debian:3.1', 'debian:3', true],
    ['Alpine:v3.19', 'alpine:3.19', true],
    ['Ubuntu:22.04:LTS', 'ubuntu:22.04', true],
    ['Red Hat:enterprise_linux:9::appstream', 'rhel:9', true],
    ['Red Hat:enterprise_linux:8::baseos', 'rhel:8', true],
    ['Red Hat:enterprise_linux:7::server', 'rhel:7', true],
    ['Rocky Linux:9', 'rocky:9', true],
    ['AlmaLinux:8', 'almalinux:8', true],
    ['SUSE:Linux Enterprise Server 15 SP5', 'sles:15.5', true],
    ['SUSE:Linux Enterprise Server 12 SP3-LTSS', 'sles:12.3', true],
    ['SUSE:Linux Enterprise Module for Basesystem 15 SP6', 'sles:15.6', true],
    ['SUSE:Linux Enterprise Server for SAP Applications 15 SP4', 'sles:15.4', true],
    ['SUSE:Linux Enterprise Micro 5.5', 'sles:5.5', true],
    ['openSUSE:Leap 15.5', 'opensuse-leap:15.5', true],
    ['openSUSE:Tumbleweed', 'opensuse-tumbleweed', true],
    ['npm', 'npm', false],
    ['PyPI', 'pypi', false],
    ['Maven', 'maven', false],
    ['Go', 'go', false],
    ['crates.io', 'crates.io', false],
    ['RubyGems', 'rubygems', false],
    ['NuGet', 'nuget', false],
    ['Packagist', 'packagist', false],
    ['Pub', 'pub', false],
    ['Hex', 'hex', false],
  ])('%s → %s', (ecosystem, namespace, distro) => {
    expect(mapEcosystem(ecosystem)).toMatchObject({ namespace, distro });
  });

  it.each(['SwiftURL', 'Red Hat:jboss_enterprise_application_platform:7.4::el9', 'Red Hat:rhel_eus:8.6::baseos', 'SUSE:Manager Server 4.3', 'Ubuntu:Pro:18.04:LTS', 'Linux'])(
    'does not map %s',
    (ecosystem) => {
      expect(mapEcosystem(ecosystem)).toBeUndefined();
    },
  );

  it.each([
    ['Django', 'django'],
    ['zope.interface', 'zope-interface'],
    ['Flask_SQLAlchemy', 'flask-sqlalchemy'],
    ['backports...ssl__match-hostname', 'backports-ssl-match-hostname'],
  ])('PEP 503 normalises %s → %s', (name, expected) => {
    expect(normalisePypiName(name)).toBe(expected);
  });
});

describe('osvFormat.detect', () => {
  it.each([
    ['osvdev-npm/GHSA/2021/GHSA-35jh-r3h4-6jhm.json', '{\n\t"schema_version": "1.6.0",\n\t"id": "GHSA-35jh-r3h4-6jhm",', true],
    ['all/RUSTSEC-2024-0001.json', '{"id":"RUSTSEC-2024-0001","modified":"2024-01-02T00:00:00Z"}', true],
    ['vulns/PYSEC-2023-74.yaml', 'id: PYSEC-2023-74\nmodified: 2023-05-04T05:18:00Z\n', true],
    ['cisa-kev/known_exploited_vulnerabilities.json', '{"title": "CISA Catalog","catalogVersion": "2025.08.25","vulnerabilities": [{"cveID": "CVE-2025-48384"', false],
    ['ubuntu/CVE-2023-0030.json', '{"candidate": "CVE-2023-0030", "priority": "medium"}', false],
    ['README.md', '# id: x\nmodified: y', false],
  ])('%s → %s', (path, head, expected) => {
    expect(osvFormat.detect(path, Buffer.from(head))).toBe(expected);
  });
});

describe('osvFormat.parseFile', () => {
  it('maps a Debian CVE record: per-release namespaces, unfixed state, urgency, aliases from DSA relations', () => {
    const sink = parseFixture('debian-cve.json');
    expect(sink.advisories).toHaveLength(1);
    const a = sink.advisories[0];
    expect(a).toEqual({
      id: 'CVE-2024-99001',
      aliases: ['DSA-5999-1'],
      source: 'osv', // the record covers Debian and Alpine
      summary: 'A heap overflow in the example TLS library allows a remote attacker to crash the server.',
      published: '2024-11-02T16:15:04Z',
      modified: '2025-01-20T10:00:00Z',
      cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', baseScore: 7.5, source: 'osv' }],
      references: ['https://security-tracker.debian.org/tracker/CVE-2024-99001'],
      affected: [
        {
          namespace: 'debian:12',
          name: 'exampletls',
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.15-1~deb12u1' }] }],
          versions: [],
          fixState: 'fixed',
          severity: 'medium',
        },
        {
          namespace: 'debian:13',
          name: 'exampletls',
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
          versions: [],
          fixState: 'unfixed',
          severity: 'negligible',
        },
        {
          namespace: 'alpine:3.19',
          name: 'exampletls',
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.1.7-r0' }] }],
          versions: [],
          fixState: 'fixed',
        },
      ],
    });
    expect(sink.skips.map(([reason]) => reason)).toEqual(['affected entry without package (GIT-only)', 'unknown ecosystem SwiftURL']);
  });

  it('maps a GHSA npm record with its GitHub severity; a CVSS vector that does not score is dropped', () => {
    const sink = parseFixture('ghsa-npm.json');
    const a = sink.advisories[0];
    expect(a?.severity).toBe('high');
    expect(a?.aliases).toEqual(['CVE-2021-23337']);
    expect(a?.cvss).toEqual([
      { version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', baseScore: 7.2, source: 'ghsa' },
      { version: '4.0', vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', baseScore: 8.6, source: 'ghsa' },
    ]);
    expect(a?.affected.map((p) => [p.namespace, p.name, p.fixState])).toEqual([
      ['npm', 'lodash', 'fixed'],
      ['npm', 'lodash-es', 'fixed'],
    ]);
  });

  it('reads OSV YAML, normalises PyPI names, keeps last_affected ranges and drops GIT ranges', () => {
    const sink = parseFixture('pysec.yaml');
    const a = sink.advisories[0];
    expect(a?.affected).toEqual([
      {
        namespace: 'pypi',
        name: 'redis-py-cluster',
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '4.5.0' }, { fixed: '4.5.3' }] }],
        versions: [],
        fixState: 'fixed',
      },
      {
        namespace: 'maven',
        name: 'org.apache.logging.log4j:log4j-core',
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '2.0-beta9' }, { last_affected: '2.14.1' }] }],
        versions: [],
        fixState: 'unfixed',
      },
    ]);
  });

  it('files Red Hat streams of one release once under rhel:N and skips layered products', () => {
    const sink = parseFixture('redhat-rhsa.json');
    const a = sink.advisories[0];
    expect(a?.source).toBe('osv:Red Hat');
    expect(a?.aliases).toEqual(['CVE-2023-6377', 'CVE-2023-6478']);
    expect(a?.affected.map((p) => [p.namespace, p.name, p.fixState])).toEqual([['rhel:9', 'tigervnc', 'fixed']]);
    expect(sink.skips).toEqual([['unknown ecosystem Red Hat', `${join(fixtures, 'redhat-rhsa.json')}#RHSA-2024:0006`]]);
  });

  it('passes a withdrawn record on, marked, so the DB can drop its earlier copy', () => {
    const sink = parseFixture('withdrawn.json');
    expect(sink.advisories.map((a) => [a.id, a.withdrawn])).toEqual([['GHSA-35jh-r3h4-6jhm', '2025-03-01T00:00:00Z']]);
  });

  it.each([
    ['truncated JSON', 'GHSA-x.json', '{"id": "GHSA-x", "modified": "2024-01-0', 'invalid JSON'],
    ['invalid YAML', 'PYSEC-1.yaml', 'id: PYSEC-1\nmodified: [unclosed', 'invalid YAML'],
    ['record without id', 'x.json', '{"modified": "2024-01-01T00:00:00Z", "affected": []}', 'not an OSV record'],
    ['id of the wrong type', 'x.json', '{"id": 42, "modified": "2024-01-01T00:00:00Z"}', 'not an OSV record'],
    ['only unknown ecosystems', 'x.json', '{"id": "X-1", "modified": "2024-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "SwiftURL", "name": "a"}, "versions": ["1.0"]}]}', 'no affected package in a supported ecosystem'],
  ])('skips and counts a bad record: %s', (_name, path, text, reason) => {
    const sink = collect();
    osvFormat.parseFile(path, Buffer.from(text), sink);
    expect(sink.advisories).toEqual([]);
    expect(sink.skips.map(([r]) => r)).toContain(reason);
  });
});
