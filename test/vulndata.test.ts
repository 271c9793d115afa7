import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullDb, VULNDATA, vulndataPresent } from './support/full-db.js';
import { candidates } from '../src/vulndb/candidates.js';
import { openAdvisoryDb, type AdvisoryDb } from '../src/vulndb/db.js';
import type { ImportResult } from '../src/vulndb/import.js';

/**
 * One import of every frozen feed in ../shared/vulndata (the slow test of this folder: it runs
 * once). Counts are compared with the README table of that folder; lookups with records checked
 * by hand in the data.
 */
const present = vulndataPresent();
if (!present) console.warn(`skipping the full vulndata import: ${VULNDATA} is absent (it ships beside the repo in development and CI only)`);

describe.skipIf(!present)('import of all of ../shared/vulndata', () => {
  let result: ImportResult;
  let db: AdvisoryDb;

  beforeAll(async () => {
    const built = await fullDb();
    result = built.result;
    db = openAdvisoryDb(built.dbPath);
  }, 900_000);

  afterAll(() => {
    db?.close();
  });

  const records = (source: string): number => result.sources.find((s) => s.source === source)?.records ?? 0;

  // README table: records per archive. Language ecosystems keep nearly all records (a few list only
  // ecosystems Palisade does not match, e.g. SwiftURL); Debian loses CVE records that name no
  // Debian/Alpine package (GIT-only); Red Hat and SUSE exports also cover layered products
  // (JBoss, OpenStack, Live Patching …) that are not OS packages and are skipped.
  it.each([
    ['osv:npm', 23_224, 0.02],
    ['osv:PyPI', 15_555, 0.02],
    ['osv:Maven', 5_309, 0.03],
    ['osv:Go', 3_954, 0.02],
    ['osv:crates.io', 1_614, 0.02],
    ['osv:RubyGems', 1_699, 0.04],
    ['osv:NuGet', 1_427, 0.05],
    ['osv:Packagist', 4_288, 0.02],
    ['osv:AlmaLinux', 5_637, 0.01],
    ['osv:Rocky Linux', 1_491, 0.01],
    ['kev', 1_404, 0],
    ['epss', 360_142, 0],
  ])('%s has close to the %i records of the README', (source, expected, tolerance) => {
    expect(Math.abs(records(source) - expected)).toBeLessThanOrEqual(Math.ceil(expected * tolerance));
  });

  it('keeps most Debian, Alpine, Red Hat and SUSE records and every distro-native feed', () => {
    expect(records('osv:Debian') + records('osv:Alpine')).toBeGreaterThan(0.9 * (44_152 + 3_655) - 3_400);
    expect(records('osv:Red Hat')).toBeGreaterThan(0.4 * 15_175);
    expect(records('osv:SUSE') + records('osv:openSUSE')).toBeGreaterThan(0.5 * 23_188);
    for (const feed of ['alpine-secdb', 'ubuntu-tracker', 'redhat-api', 'amazon-alas']) {
      expect(result.feeds.find((f) => f.feed === feed)?.advisories ?? 0).toBeGreaterThan(1000);
    }
    expect(result.dbBytes).toBeLessThan(800 * 1024 * 1024);
  });

  it.each([
    ['npm', 'lodash', 'GHSA-35jh-r3h4-6jhm', 'CVE-2021-23337', '4.17.21'],
    ['pypi', 'django', 'GHSA-jh3w-4vvf-mjgr', 'CVE-2023-36053', '4.2.3'],
    ['maven', 'org.apache.logging.log4j:log4j-core', 'GHSA-jfh8-c2jp-5v3q', 'CVE-2021-44228', '2.15.0'],
    ['go', 'stdlib', 'GO-2023-2102', 'CVE-2023-39325', '1.21.3'],
    ['debian:12', 'openssl', 'CVE-2023-0286', 'ALAS-2023-1683', '3.0.8-1'],
    ['alpine:3.17', 'openssl', 'CVE-2023-0286', 'ALAS-2023-1683', '3.0.8-r0'],
    ['rhel:9', 'openssl', 'RHSA-2023:0946', 'CVE-2023-0286', '1:3.0.1-47.el9_1'],
  ])('%s %s → %s (alias %s), fixed in %s', (namespace, name, id, alias, fixed) => {
    const hits = candidates(db, namespace, name).filter((c) => c.advisory.id === id);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0]?.advisory.aliases).toContain(alias);
    const fixedVersions = hits.flatMap((c) => c.affected.ranges.flatMap((r) => r.events.flatMap((e) => ('fixed' in e ? [e.fixed] : []))));
    expect(fixedVersions).toContain(fixed);
  });

  it('enriches CVEs with KEV and EPSS', () => {
    expect(db.kev('CVE-2021-44228')).toEqual({ cveId: 'CVE-2021-44228', dateAdded: '2021-12-10', dueDate: '2021-12-24', knownRansomwareUse: true });
    expect(db.epss('CVE-2021-44228')?.percentile).toBeGreaterThan(0.99);
  });
});
