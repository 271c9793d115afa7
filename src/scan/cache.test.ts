import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Finding, Package } from '../core/index.js';
import { openSbomCache } from './cache.js';

const work = mkdtempSync(join(tmpdir(), 'palisade-scan-cache-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const CATALOGERS = [{ id: 'dpkg', version: 1 }];
const zlib: Package = {
  type: 'deb',
  name: 'zlib1g',
  version: '1:1.2.13.dfsg-1',
  purl: 'pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12',
  source: { name: 'zlib' },
  arch: 'amd64',
  distro: { id: 'debian', versionId: '12' },
  locations: [{ path: '/var/lib/dpkg/status', layer: 'sha256:aa' }],
};
const finding: Finding = {
  advisoryId: 'CVE-2023-45853',
  aliases: [],
  package: zlib,
  installedVersion: zlib.version,
  fixedVersions: [],
  fixState: 'unfixed',
  severity: 'critical',
  severitySource: 'advisory',
  dataSource: 'osv:Debian',
  namespace: 'debian:12',
};

describe('the scan cache', () => {
  it('gives back what was put, under the catalogers and DB it was put with', () => {
    const path = join(work, 'round-trip.sqlite');
    const cache = openSbomCache(path, CATALOGERS);
    cache.put('sha256:img', { distro: { id: 'debian', versionId: '12' }, packages: [zlib] });
    cache.putFindings('sha256:img', '2025-03-01T00:00:00.000Z', [finding]);
    cache.putDescribe('k', { reads: [{ op: 'read', path: 'index.json', maxBytes: 10, result: 'ab' }], info: { digest: 'sha256:img', configDigest: 'sha256:c', config: {}, layers: [{ digest: 'sha256:l', mediaType: 'x', size: 3 }], platform: { os: 'linux', architecture: 'amd64' }, repoTags: [] } });
    cache.putDbInfo('/db', 'id-1', { builtAt: '2025-03-01T00:00:00.000Z', sources: [{ id: 'osv', snapshot: '2025-02-28' }] });
    expect(cache.get('sha256:img')).toEqual({ distro: { id: 'debian', versionId: '12' }, packages: [zlib] });
    expect(cache.getFindings('sha256:img', '2025-03-01T00:00:00.000Z')).toEqual([finding]);
    expect(cache.getFindings('sha256:img', '2025-04-01T00:00:00.000Z')).toBeUndefined();
    expect(cache.getDescribe('k')?.info.digest).toBe('sha256:img');
    expect(cache.getDbInfo('/db', 'id-1')?.builtAt).toBe('2025-03-01T00:00:00.000Z');
    expect(cache.getDbInfo('/db', 'id-2')).toBeUndefined();
    cache.close();
    const otherCatalogers = openSbomCache(path, [{ id: 'dpkg', version: 2 }]);
    expect(otherCatalogers.get('sha256:img')).toBeUndefined();
    otherCatalogers.close();
  });

  it.each([
    ['not JSON', '{'],
    ['another shape', JSON.stringify({ packages: [{ name: 'zlib1g' }] })],
    ['packages not a list', JSON.stringify({ packages: {} })],
  ])('treats a row it cannot read (%s) as a miss', (_what, body) => {
    const path = join(work, `damaged-${body.length}.sqlite`);
    const cache = openSbomCache(path, CATALOGERS);
    cache.put('sha256:img', { packages: [zlib] });
    cache.putFindings('sha256:img', 'db', [finding]);
    const raw = new Database(path);
    raw.prepare('UPDATE sbom SET body = ?').run(body);
    raw.prepare('UPDATE findings SET body = ?').run(body);
    raw.close();
    expect(cache.get('sha256:img')).toBeUndefined();
    expect(cache.getFindings('sha256:img', 'db')).toBeUndefined();
    cache.close();
  });
});
