import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { archiveExists, runArchive } from '../__fixtures__/archive.js';
import { collectingSink } from '../__fixtures__/sink.js';
import { ubuntuNamespace, ubuntuSeverity, ubuntuTracker } from './index.js';

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url));
const fixedIn = (version: string) => [{ type: 'ECOSYSTEM' as const, events: [{ introduced: '0' }, { fixed: version }] }];

describe('ubuntu-tracker', () => {
  it.each([
    ['ubuntu-cve-tracker-json/2023/CVE-2023-38545.json', '{\n\t"candidate": "CVE-2023-38545",\n\t"description": "x"', true],
    ['feeds/CVE-2024-3094.json', '{"candidate":"CVE-2024-3094","priority":"critical"}', true],
    ['ubuntu-cve-tracker-json/2023/CVE-2023-38545.yaml', '{"candidate": "CVE-2023-38545"}', false],
    // Red Hat security data and OSV files share the per-CVE layout but not the keys
    ['redhat-cve-api/2023/CVE-2023-38545.json', '{\n "name": "CVE-2023-38545",\n "threat_severity": "Important"', false],
    ['osv/UBUNTU-CVE-2023-38545.json', '{"schema_version":"1.6.3","id":"UBUNTU-CVE-2023-38545","affected":[]}', false],
    ['epss/EPSS_CVE_data/CVE_2023_EPSS.csv', 'CVE-2023-38545;0.26;0.97', false],
  ])('detect(%s) is %s', (path, head, expected) => {
    expect(ubuntuTracker.detect(path, Buffer.from(head))).toBe(expected);
  });

  it.each([
    ['jammy', 'ubuntu:22.04'],
    ['noble', 'ubuntu:24.04'],
    ['focal', 'ubuntu:20.04'],
    ['trusty', 'ubuntu:14.04'],
    ['trusty/esm', 'ubuntu:14.04'],
    ['esm-infra-legacy/trusty', 'ubuntu:14.04'],
    ['esm-infra/xenial', 'ubuntu:16.04'],
    ['esm-apps/bionic', 'ubuntu:18.04'],
    ['precise/esm', 'ubuntu:12.04'],
    ['upstream', undefined],
    ['fips/focal', undefined],
  ])('ubuntuNamespace(%s) = %s', (key, expected) => {
    expect(ubuntuNamespace(key)).toBe(expected);
  });

  it.each([
    ['negligible', 'negligible'],
    ['low', 'low'],
    ['medium', 'medium'],
    ['high', 'high'],
    ['critical', 'critical'],
    ['untriaged', undefined],
  ])('ubuntuSeverity(%s) = %s', (priority, expected) => {
    expect(ubuntuSeverity(priority)).toBe(expected);
  });

  it('parses one CVE across releases and ESM channels', () => {
    const sink = collectingSink();
    const path = 'ubuntu-cve-tracker-json/2023/CVE-2023-38545.json';
    ubuntuTracker.parseFile(path, fixture('2023/CVE-2023-38545.json'), sink);
    expect(sink.advisories).toEqual([
      {
        id: 'CVE-2023-38545',
        aliases: ['USN-6429-1'],
        source: 'ubuntu-tracker',
        details:
          'A heap buffer overflow in the SOCKS5 proxy handshake of libcurl lets a malicious proxy overwrite memory when the host name is too long.',
        published: '2023-10-18T04:15:00Z',
        severity: 'high',
        cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: 9.8, source: 'nvd' }],
        references: [
          'https://curl.se/docs/CVE-2023-38545.html',
          'https://ubuntu.com/security/notices/USN-6429-1',
          'https://www.cve.org/CVERecord?id=CVE-2023-38545',
        ],
        affected: [
          // xenial says "ignored" (end of standard support), esm-infra/xenial has the fix: the fix wins
          { namespace: 'ubuntu:16.04', name: 'curl', ranges: fixedIn('7.47.0-1ubuntu2.19+esm10'), versions: [], fixState: 'fixed', severity: 'high' },
          { namespace: 'ubuntu:18.04', name: 'curl', ranges: [], versions: [], fixState: 'unfixed', severity: 'high' },
          { namespace: 'ubuntu:20.04', name: 'curl', ranges: fixedIn('7.68.0-1ubuntu2.20'), versions: [], fixState: 'fixed', severity: 'high' },
          { namespace: 'ubuntu:22.04', name: 'curl', ranges: fixedIn('7.81.0-1ubuntu1.14'), versions: [], fixState: 'fixed', severity: 'high' },
          // the package line's own priority overrides the CVE's
          { namespace: 'ubuntu:23.10', name: 'curl', ranges: [], versions: [], fixState: 'unfixed', severity: 'low' },
          { namespace: 'ubuntu:24.04', name: 'curl', ranges: [], versions: [], fixState: 'not-affected', severity: 'high' },
        ],
      },
    ]);
    expect(sink.skips).toEqual([
      { reason: 'released without a single fixed version in note null', ref: `${path}#lunar/curl` },
      {
        reason: "unknown Ubuntu release 'esm-apps/questing' (add it to ubuntu-tracker/releases.json)",
        ref: `${path}#esm-apps/questing`,
      },
    ]);
  });

  it('skips a placeholder that has no CVE id', () => {
    const sink = collectingSink();
    const path = 'ubuntu-cve-tracker-json/2023/CVE-2023-NNN1.json';
    ubuntuTracker.parseFile(path, fixture('2023/CVE-2023-NNN1.json'), sink);
    expect(sink.advisories).toEqual([]);
    expect(sink.skips).toEqual([{ reason: "'CVE-2023-NNN1' is not a CVE id", ref: path }]);
  });

  it.each([
    [
      'a package line that is not an object',
      '{"candidate":"CVE-2024-0001","packages":{"jammy":{"zlib":"released"}}}',
      [{ reason: 'bad package line: status, note and priority must be strings', ref: 'x.json#jammy/zlib' }],
    ],
    [
      'an unknown status',
      '{"candidate":"CVE-2024-0001","packages":{"jammy":{"zlib":{"status":"in-progress"}}}}',
      [{ reason: "unknown status 'in-progress'", ref: 'x.json#jammy/zlib' }],
    ],
    [
      'a release that is not an object',
      '{"candidate":"CVE-2024-0001","packages":{"jammy":[]}}',
      [{ reason: "packages of release 'jammy' is not an object", ref: 'x.json#jammy' }],
    ],
  ])('skips %s and keeps the advisory', (_what, json, skips) => {
    const sink = collectingSink();
    ubuntuTracker.parseFile('x.json', Buffer.from(json), sink);
    expect(sink.advisories.map((a) => [a.id, a.affected.length])).toEqual([['CVE-2024-0001', 0]]);
    expect(sink.skips).toEqual(skips);
  });

  it('skips a record without packages', () => {
    const sink = collectingSink();
    ubuntuTracker.parseFile('x.json', Buffer.from('{"candidate":"CVE-2024-0001"}'), sink);
    expect(sink.skips).toEqual([
      { reason: 'not an Ubuntu CVE tracker record: packages: Invalid input: expected record, received undefined', ref: 'x.json' },
    ]);
  });
});

const ARCHIVE = 'ubuntu-cve-tracker-json.tar.gz';
if (!archiveExists(ARCHIVE)) console.warn(`skipping the real Ubuntu tracker test: ../shared/vulndata/${ARCHIVE} is absent`);

describe.skipIf(!archiveExists(ARCHIVE))('ubuntu-tracker on the real feed snapshot', () => {
  it('parses every CVE file', async () => {
    const run = await runArchive(ARCHIVE, ubuntuTracker);
    console.info(
      `ubuntu-tracker: ${run.advisories} advisories from ${run.detected} files in ${run.parseMs.toFixed(0)} ms (${Math.round(run.detected / (run.parseMs / 1000))} files/s)`,
    );
    expect(run).toMatchObject({ files: 51478, detected: 51478, advisories: 51469, affected: 1294906, skips: 119 });
    expect(Object.fromEntries(run.skipReasons)).toEqual({
      'released without a single fixed version in note null': 103,
      '… is not a CVE id': 9,
      'released without a single fixed version in note …': 7,
    });
    expect(run.skips / run.advisories).toBeLessThan(0.01);
  }, 600_000);
});
