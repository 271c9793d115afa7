import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { archiveExists, runArchive } from '../__fixtures__/archive.js';
import { collectingSink } from '../__fixtures__/sink.js';
import { amazonAlas, amazonNamespace } from './index.js';

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url));
const fixedIn = (version: string) => [{ type: 'ECOSYSTEM' as const, events: [{ introduced: '0' }, { fixed: version }] }];

describe('amazon-alas', () => {
  it.each([
    ['amazon-alas/2023/core/2024/ALAS2023-2024-512.json', '{\n\t"ID": "ALAS2023-2024-512",\n\t"Author": "linux-security@amazon.com"', true],
    ['amazon-alas/2/extras/docker/ALAS2DOCKER-2024-038.json', '{"ID":"ALAS2DOCKER-2024-038"}', true],
    ['alas/ALAS-2014-300.json', '{"ID": "ALAS-2014-300"}', true],
    ['amazon-alas/2023/core/2024/ALAS2023-2024-512.xml', '{"ID": "ALAS2023-2024-512"}', false],
    ['osv/ALAS-2014-300.json', '{"schema_version":"1.6.0","id":"ALAS-2014-300","affected":[]}', false],
    ['redhat-cve-api/2014/CVE-2014-0160.json', '{"name": "CVE-2014-0160", "threat_severity": "Important"}', false],
  ])('detect(%s) is %s', (path, head, expected) => {
    expect(amazonAlas.detect(path, Buffer.from(head))).toBe(expected);
  });

  it.each([
    ['ALAS-2014-300', 'amzn:1'],
    ['ALAS2-2024-2500', 'amzn:2'],
    ['ALAS2DOCKER-2024-038', 'amzn:2'],
    ['ALAS2KERNEL-5.10-2024-045', 'amzn:2'],
    ['ALAS2NITRO-ENCLAVES-2022-018', 'amzn:2'],
    ['ALAS2MATE-DESKTOP1.X-2023-007', 'amzn:2'],
    ['ALAS2022-2022-123', 'amzn:2022'],
    ['ALAS2023-2024-512', 'amzn:2023'],
    ['ALAS2023LIVEPATCH-2024-027', 'amzn:2023'],
    ['RHSA-2024:9333', undefined],
  ])('amazonNamespace(%s) = %s', (id, expected) => {
    expect(amazonNamespace(id)).toBe(expected);
  });

  it('parses an Amazon Linux 2023 advisory', () => {
    const sink = collectingSink();
    amazonAlas.parseFile('amazon-alas/2023/core/2024/ALAS2023-2024-512.json', fixture('2023/core/2024/ALAS2023-2024-512.json'), sink);
    expect(sink.advisories).toEqual([
      {
        id: 'ALAS2023-2024-512',
        aliases: ['CVE-2023-46218', 'CVE-2024-0853'],
        source: 'amazon-alas',
        summary: 'Amazon Linux 2023 - ALAS2023-2024-512: medium priority package update for curl',
        details:
          'Package updates are available for Amazon Linux 2023 that fix the following vulnerabilities:\nCVE-2024-0853:\n\tcurl skipped the OCSP status check when it reused a TLS session.\n\nCVE-2023-46218:\n\tA cookie set by one domain could be accepted for a mixed-case public suffix.',
        published: '2024-02-15T21:09:00Z',
        modified: '2024-02-21T22:47:00Z',
        severity: 'medium',
        cvss: [],
        references: ['https://www.cve.org/CVERecord?id=CVE-2023-46218', 'https://www.cve.org/CVERecord?id=CVE-2024-0853'],
        affected: [
          { namespace: 'amzn:2023', name: 'curl', ranges: fixedIn('8.5.0-1.amzn2023.0.2'), versions: [], fixState: 'fixed', severity: 'medium' },
          { namespace: 'amzn:2023', name: 'curl-debuginfo', ranges: fixedIn('8.5.0-1.amzn2023.0.2'), versions: [], fixState: 'fixed', severity: 'medium' },
          { namespace: 'amzn:2023', name: 'libcurl', ranges: fixedIn('8.5.0-1.amzn2023.0.2'), versions: [], fixState: 'fixed', severity: 'medium' },
        ],
      },
    ]);
    expect(sink.skips).toEqual([]);
  });

  it('parses an Amazon Linux AMI advisory with an epoch and no references', () => {
    const sink = collectingSink();
    const path = 'amazon-alas/1/updates/2014/ALAS-2014-300.json';
    amazonAlas.parseFile(path, fixture('1/updates/2014/ALAS-2014-300.json'), sink);
    expect(sink.advisories).toEqual([
      {
        id: 'ALAS-2014-300',
        aliases: [],
        source: 'amazon-alas',
        summary: 'Amazon Linux AMI 2014.03 - ALAS-2014-300: important priority package update for openssl',
        details: 'A flaw in the TLS heartbeat extension lets a remote peer read process memory.',
        published: '2014-03-10T14:11:00Z',
        modified: '2014-03-12T09:30:00Z',
        severity: 'high',
        cvss: [],
        references: [],
        affected: [
          { namespace: 'amzn:1', name: 'openssl', ranges: fixedIn('1:1.0.1e-37.66.amzn1'), versions: [], fixState: 'fixed', severity: 'high' },
        ],
      },
    ]);
    expect(sink.skips).toEqual([{ reason: '1 package entries without name, version or release', ref: `${path}#Pkglist` }]);
  });

  it.each([
    ['no Pkglist', '{"ID":"ALAS2-2024-1"}', 'not an ALAS updateinfo record: Pkglist: Invalid input: expected object, received undefined'],
    ['no packages', '{"ID":"ALAS2-2024-1","Pkglist":{"Collection":{"Package":[]}}}', 'advisory lists no package'],
    ['an id of no known release', '{"ID":"ALASX","Pkglist":{"Collection":{"Package":[]}}}', "cannot tell the Amazon Linux release of 'ALASX'"],
  ])('skips an advisory with %s', (_what, json, reason) => {
    const sink = collectingSink();
    amazonAlas.parseFile('x.json', Buffer.from(json), sink);
    expect(sink.advisories).toEqual([]);
    expect(sink.skips).toEqual([{ reason, ref: 'x.json' }]);
  });
});

const ARCHIVE = 'amazon-alas.tar.gz';
if (!archiveExists(ARCHIVE)) console.warn(`skipping the real ALAS test: ../shared/vulndata/${ARCHIVE} is absent`);

describe.skipIf(!archiveExists(ARCHIVE))('amazon-alas on the real feed snapshot', () => {
  it('parses every advisory', async () => {
    const run = await runArchive(ARCHIVE, amazonAlas);
    console.info(
      `amazon-alas: ${run.advisories} advisories from ${run.detected} files in ${run.parseMs.toFixed(0)} ms (${Math.round(run.detected / (run.parseMs / 1000))} files/s)`,
    );
    expect(run).toMatchObject({ files: 5393, detected: 5393, advisories: 5393, affected: 54308, skips: 0 });
  }, 120_000);
});
