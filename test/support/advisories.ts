import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A few OSV records written for the tests (not copied from any feed): enough for a scan of the
 * test images to have known findings, in the same native format `palisade db import` reads.
 */
export const TEST_ADVISORIES = {
  lodash: {
    schema_version: '1.6.0',
    id: 'GHSA-p6mc-m468-83gw',
    aliases: ['CVE-2020-8203'],
    modified: '2024-03-01T10:00:00Z',
    published: '2020-07-15T19:15:00Z',
    summary: 'Prototype pollution in lodash zipObjectDeep',
    affected: [
      {
        package: { ecosystem: 'npm', name: 'lodash', purl: 'pkg:npm/lodash' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '3.7.0' }, { fixed: '4.17.19' }] }],
      },
    ],
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H' }],
    database_specific: { severity: 'HIGH' },
  },
  openssl: {
    schema_version: '1.6.0',
    id: 'CVE-2023-5678',
    modified: '2024-05-01T10:00:00Z',
    published: '2023-11-06T16:15:00Z',
    details: 'Generating excessively long X9.42 DH keys or checking them may be very slow.',
    affected: [
      {
        package: { ecosystem: 'Debian:12', name: 'openssl', purl: 'pkg:deb/debian/openssl?arch=source' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.13-1~deb12u1' }] }],
        ecosystem_specific: { urgency: 'low' },
      },
    ],
  },
  zlibUnfixed: {
    schema_version: '1.6.0',
    id: 'CVE-2023-45853',
    modified: '2024-05-01T10:00:00Z',
    published: '2023-10-14T02:15:00Z',
    details: 'MiniZip in zlib through 1.3 has an integer overflow.',
    affected: [
      {
        package: { ecosystem: 'Debian:12', name: 'zlib', purl: 'pkg:deb/debian/zlib?arch=source' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }],
        ecosystem_specific: { urgency: 'unimportant' },
      },
    ],
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
  },
} as const;

/** Writes the test advisories as an OSV directory tree; returns the directory. */
export function writeTestFeed(dir: string): string {
  const feed = join(dir, 'osv');
  mkdirSync(feed, { recursive: true });
  for (const record of Object.values(TEST_ADVISORIES)) writeFileSync(join(feed, `${record.id}.json`), JSON.stringify(record, null, 2));
  return feed;
}
