import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseNevra } from '../util.js';
import { archiveExists, runArchive } from '../__fixtures__/archive.js';
import { collectingSink } from '../__fixtures__/sink.js';
import { redhatApi, redhatFixState, rhelNamespace } from './index.js';

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url));
const fixedIn = (version: string) => [{ type: 'ECOSYSTEM' as const, events: [{ introduced: '0' }, { fixed: version }] }];

describe('redhat-api', () => {
  it.each([
    ['redhat-cve-api/2024/CVE-2024-2511.json', '{\n  "name": "CVE-2024-2511",\n  "threat_severity": "Low",', true],
    ['cve/CVE-2023-0001.json', '{"name":"CVE-2023-0001","public_date":"2023-01-01T00:00:00Z","bugzilla":{}}', true],
    ['ubuntu-cve-tracker-json/2024/CVE-2024-2511.json', '{"candidate": "CVE-2024-2511", "priority": "low"}', false],
    ['osvdev-redhat/RHSA-2024:9333.json', '{"schema_version":"1.6.3","id":"RHSA-2024:9333","affected":[]}', false],
    ['k8s-vuln-list/upstream/CVE-2023-2727.json', '{\n  "id": "CVE-2023-2727",\n  "affected": []', false],
    ['redhat-cve-api/2024/CVE-2024-2511.csv', '{"name":"CVE-2024-2511","threat_severity":"Low"}', false],
  ])('detect(%s) is %s', (path, head, expected) => {
    expect(redhatApi.detect(path, Buffer.from(head))).toBe(expected);
  });

  it.each([
    ['cpe:/o:redhat:enterprise_linux:9', 'rhel:9'],
    ['cpe:/a:redhat:enterprise_linux:9::appstream', 'rhel:9'],
    ['cpe:/a:redhat:enterprise_linux:8::crb', 'rhel:8'],
    ['cpe:/o:redhat:enterprise_linux:7::server', 'rhel:7'],
    ['cpe:/o:redhat:enterprise_linux:5', 'rhel:5'],
    ['cpe:/o:redhat:enterprise_linux:4', undefined],
    ['cpe:/o:redhat:enterprise_linux:9::hypervisor', undefined],
    ['cpe:/o:redhat:enterprise_linux:9::fastdatapath', undefined],
    ['cpe:/a:redhat:rhel_eus:9.2::baseos', undefined],
    ['cpe:/a:redhat:enterprise_linux_ai:1', undefined],
    ['cpe:/a:redhat:openshift:4.16::el9', undefined],
  ])('rhelNamespace(%s) = %s', (cpe, expected) => {
    expect(rhelNamespace(cpe)).toBe(expected);
  });

  it.each([
    ['Affected', 'unfixed'],
    ['Fix deferred', 'unfixed'],
    ['Will not fix', 'wont-fix'],
    ['Out of support scope', 'wont-fix'],
    ['Not affected', 'not-affected'],
    ['Under investigation', 'unknown'],
    ['New', undefined],
  ])('redhatFixState(%s) = %s', (state, expected) => {
    expect(redhatFixState(state)).toBe(expected);
  });

  it.each([
    ['openssl-1:3.0.7-27.el9', { name: 'openssl', evr: '1:3.0.7-27.el9' }],
    ['kernel-5.14.0-427.13.1.el9_4', { name: 'kernel', evr: '5.14.0-427.13.1.el9_4' }],
    ['java-17-openjdk-1:17.0.11.0.9-2.el9', { name: 'java-17-openjdk', evr: '1:17.0.11.0.9-2.el9' }],
    ['python3.11-3.11.7-1.el9.src', { name: 'python3.11', evr: '3.11.7-1.el9' }],
    ['tzdata-0:2024a-1.el9', { name: 'tzdata', evr: '2024a-1.el9' }],
    ['kpatch-patch', undefined],
    ['nodejs:18-9050020250206154514.rhel9', undefined],
  ])('parseNevra(%s)', (text, expected) => {
    expect(parseNevra(text)).toEqual(expected);
  });

  it('keeps the RHEL products of one CVE and skips the rest', () => {
    const sink = collectingSink();
    const path = 'redhat-cve-api/2024/CVE-2024-2511.json';
    redhatApi.parseFile(path, fixture('2024/CVE-2024-2511.json'), sink);
    expect(sink.advisories).toEqual([
      {
        id: 'CVE-2024-2511',
        aliases: ['RHSA-2024:6200', 'RHSA-2024:7848', 'RHSA-2024:9333'],
        source: 'redhat-api',
        summary: 'openssl: Unbounded memory growth with session handling in TLSv1.3',
        details:
          'Some non-default TLS server configurations can cause unbounded memory growth when processing TLSv1.3 sessions.\n\n' +
          "A flaw was found in OpenSSL's TLSv1.3 session handling. A remote client can make a server keep growing its session cache, which may lead to a denial of service.",
        published: '2024-04-08T00:00:00Z',
        severity: 'low',
        cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:L', baseScore: 3.7, source: 'redhat' }],
        references: ['https://nvd.nist.gov/vuln/detail/CVE-2024-2511', 'https://www.cve.org/CVERecord?id=CVE-2024-2511'],
        affected: [
          { namespace: 'rhel:6', name: 'openssl', ranges: [], versions: [], fixState: 'wont-fix', severity: 'low' },
          { namespace: 'rhel:7', name: 'openssl', ranges: [], versions: [], fixState: 'wont-fix', severity: 'low' },
          { namespace: 'rhel:8', name: 'compat-openssl10', ranges: [], versions: [], fixState: 'unfixed', severity: 'low' },
          // two errata for RHEL 8: the earlier build (-12.el8_9 < -14.el8_6 in rpm order) is the fix
          { namespace: 'rhel:8', name: 'openssl', ranges: fixedIn('1:1.1.1k-12.el8_9'), versions: [], fixState: 'fixed', severity: 'low' },
          { namespace: 'rhel:9', name: 'edk2', ranges: [], versions: [], fixState: 'unfixed', severity: 'medium' },
          { namespace: 'rhel:9', name: 'openssl', ranges: fixedIn('1:3.0.7-29.el9_4'), versions: [], fixState: 'fixed', severity: 'low' },
          { namespace: 'rhel:9', name: 'openssl-fips-provider', ranges: [], versions: [], fixState: 'unknown', severity: 'low' },
          { namespace: 'rhel:9', name: 'shim', ranges: [], versions: [], fixState: 'not-affected', severity: 'low' },
        ],
      },
    ]);
    expect(sink.skips).toEqual([
      { reason: "affected_release 'rhel9/toolbox:9.4-12' is a container image, not an RPM", ref: `${path}#affected_release[5]` },
      { reason: "package_name 'rhel9/ruby-33' is a container image or non-RPM component", ref: `${path}#package_state[6]` },
      { reason: "unknown fix_state 'Deferred to next release'", ref: `${path}#package_state[9]` },
      { reason: '2 module stream entries (no single RPM to match)', ref: `${path}#modules` },
    ]);
  });

  it.each([
    [
      'only layered products',
      '{"name":"CVE-2024-0001","package_state":[{"product_name":"Red Hat OpenShift Container Platform 4","fix_state":"Affected","package_name":"rhcos","cpe":"cpe:/a:redhat:openshift:4"}],"affected_release":[{"product_name":"Red Hat Satellite 6.15","advisory":"RHSA-2024:1000","cpe":"cpe:/a:redhat:satellite:6.15::el8","package":"foreman-0:3.9.1-1.el8sat"}]}',
      'no RHEL package (2 entries for other Red Hat products)',
    ],
    ['no products at all', '{"name":"CVE-2024-0002","threat_severity":"Low","details":[]}', 'no RHEL package'],
    ['no name', '{"threat_severity":"Low"}', 'not a Red Hat security data CVE record: name: Invalid input: expected string, received undefined'],
  ])('skips a CVE with %s', (_what, json, reason) => {
    const sink = collectingSink();
    redhatApi.parseFile('x.json', Buffer.from(json), sink);
    expect(sink.advisories).toEqual([]);
    expect(sink.skips).toEqual([{ reason, ref: 'x.json' }]);
  });
});

const ARCHIVE = 'redhat-cve-api.tar.gz';
if (!archiveExists(ARCHIVE)) console.warn(`skipping the real Red Hat API test: ../shared/vulndata/${ARCHIVE} is absent`);

/** Skips that are the feed's scope (other products, module streams, container images), not bad data. */
const OUT_OF_SCOPE = /^(?:no RHEL package|… module stream entries|affected_release … is a container image|package_name … is a container image)/;

describe.skipIf(!archiveExists(ARCHIVE))('redhat-api on the real feed snapshot', () => {
  it('parses every CVE file', async () => {
    const run = await runArchive(ARCHIVE, redhatApi);
    console.info(
      `redhat-api: ${run.advisories} advisories from ${run.detected} files in ${run.parseMs.toFixed(0)} ms (${Math.round(run.detected / (run.parseMs / 1000))} files/s)`,
    );
    expect(run).toMatchObject({ files: 36166, detected: 36166, advisories: 25711, affected: 120220, skips: 13100 });
    expect(Object.fromEntries(run.skipReasons)).toEqual({
      'no RHEL package (… entries for other Red Hat products)': 9219,
      'no RHEL package': 1236,
      '… module stream entries (no single RPM to match)': 2409,
      'affected_release without a package': 11,
      'affected_release package … is not name-[epoch:]version-release': 182,
      'affected_release … is a container image, not an RPM': 16,
      'package_name … is a container image or non-RPM component': 27,
    });
    const badData = [...run.skipReasons].filter(([reason]) => !OUT_OF_SCOPE.test(reason)).reduce((n, [, count]) => n + count, 0);
    expect(badData / run.advisories).toBeLessThan(0.01);
  }, 600_000);
});
