import { readdirSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { archiveExists, forEachHead, VULNDATA_DIR } from './__fixtures__/archive.js';
import { DISTRO_FEED_FORMATS } from './registry.js';

const here = new URL('./', import.meta.url);

describe('DISTRO_FEED_FORMATS', () => {
  it('lists one format per folder, under the folder name', () => {
    const folders = readdirSync(here)
      .filter((name) => !name.startsWith('__') && statSync(new URL(name, here)).isDirectory())
      .sort();
    expect(DISTRO_FEED_FORMATS.map((f) => f.id).sort()).toEqual(folders);
  });

  it.each([
    ['alpine-secdb', 'alpine-secdb/__fixtures__/3.19/main.json', 'alpine-secdb/3.19/main.json'],
    ['ubuntu-tracker', 'ubuntu-tracker/__fixtures__/2023/CVE-2023-38545.json', 'ubuntu-cve-tracker-json/2023/CVE-2023-38545.json'],
    ['redhat-api', 'redhat-api/__fixtures__/2024/CVE-2024-2511.json', 'redhat-cve-api/2024/CVE-2024-2511.json'],
    ['amazon-alas', 'amazon-alas/__fixtures__/2023/core/2024/ALAS2023-2024-512.json', 'amazon-alas/2023/core/2024/ALAS2023-2024-512.json'],
  ])('only %s claims its own fixture', (id, fixture, feedPath) => {
    const head = readFileSync(new URL(fixture, here)).subarray(0, 4096);
    expect(DISTRO_FEED_FORMATS.filter((f) => f.detect(feedPath, head)).map((f) => f.id)).toEqual([id]);
  });
});

/** Which format must claim the files of each snapshot archive; undefined = none of ours (OSV, KEV, EPSS). */
const OWNER: Record<string, string | undefined> = {
  'alpine-secdb.tar.gz': 'alpine-secdb',
  'ubuntu-cve-tracker-json.tar.gz': 'ubuntu-tracker',
  'redhat-cve-api.tar.gz': 'redhat-api',
  'amazon-alas.tar.gz': 'amazon-alas',
  'k8s-vuln-list.tar.gz': undefined,
  'cisa-kev.tar.gz': undefined,
  'epss.tar.gz': undefined,
  'osvdev-alpine.tar.gz': undefined,
  'osvdev-debian.tar.gz': undefined,
  'osvdev-redhat.tar.gz': undefined,
  'almalinux-osv.tar.gz': undefined,
  'osvdev-rocky.tar.gz': undefined,
  'osvdev-suse.tar.gz': undefined,
  'osvdev-npm.tar.gz': undefined,
  'osvdev-go.tar.gz': undefined,
};

const haveData = archiveExists('alpine-secdb.tar.gz');
if (!haveData) console.warn(`skipping the cross-detection test: ${VULNDATA_DIR} is absent`);

describe.skipIf(!haveData)('detect on the real snapshots', () => {
  it.each(Object.entries(OWNER).filter(([name]) => archiveExists(name)).map(([name, owner]) => [name, owner ?? 'none']))(
    'files of %s are claimed by %s only',
    async (name, owner) => {
      const wrong = new Map<string, number>();
      const unclaimed: string[] = [];
      const seen = await forEachHead(name, 3000, (path, head) => {
        const claimed = DISTRO_FEED_FORMATS.filter((f) => f.detect(path, head)).map((f) => f.id);
        const expected = owner === 'none' || !path.endsWith('.json') ? [] : [owner];
        if (claimed.join() !== expected.join()) {
          if (claimed.length === 0) unclaimed.push(path);
          else wrong.set(claimed.join(), (wrong.get(claimed.join()) ?? 0) + 1);
        }
      });
      expect(seen).toBeGreaterThan(0);
      expect(Object.fromEntries(wrong)).toEqual({});
      expect(unclaimed).toEqual([]);
    },
    120_000,
  );
});
