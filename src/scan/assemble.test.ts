import { describe, expect, it } from 'vitest';
import type { Distro, Package } from '../core/index.js';
import { assembleSbom, type CatalogedFile } from './assemble.js';

const debian = { id: 'debian', versionId: '12', codename: 'bookworm' };
const ubuntu = { id: 'ubuntu', versionId: '22.04', codename: 'jammy' };

function pkg(partial: Partial<Package> & Pick<Package, 'type' | 'name' | 'version' | 'purl'>): Package {
  return { locations: [], ...partial };
}

const requestsDeb = pkg({
  type: 'deb',
  name: 'python3-requests',
  version: '2.28.1+dfsg-1',
  purl: 'pkg:deb/debian/python3-requests@2.28.1%2Bdfsg-1?arch=all',
  source: { name: 'requests', version: '2.28.1+dfsg-1' },
  locations: [{ path: '/var/lib/dpkg/status', layer: 'sha256:aa' }],
});
const requestsPypi = pkg({
  type: 'pypi',
  name: 'requests',
  version: '2.28.1',
  purl: 'pkg:pypi/requests@2.28.1',
  locations: [{ path: '/usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO', layer: 'sha256:aa' }],
});
const lodashInstalled = pkg({
  type: 'npm',
  name: 'lodash',
  version: '4.17.15',
  purl: 'pkg:npm/lodash@4.17.15',
  locations: [{ path: '/app/node_modules/lodash/package.json', layer: 'sha256:bb' }],
});
const lodashLocked = { ...lodashInstalled, locations: [{ path: '/app/package-lock.json', layer: 'sha256:bb' }] };

const osRelease = (distro: Distro, priority: number): CatalogedFile => ({ cataloger: 'os-release', result: { packages: [], distro: { distro, priority } } });

describe('assembleSbom', () => {
  it('gives OS packages the distro, in the purl namespace and distro qualifier', () => {
    const sbom = assembleSbom([osRelease(ubuntu, 100), { cataloger: 'dpkg', result: { packages: [requestsDeb] } }]);
    expect(sbom.distro).toEqual(ubuntu);
    expect(sbom.packages).toEqual([
      { ...requestsDeb, distro: ubuntu, purl: 'pkg:deb/ubuntu/python3-requests@2.28.1%2Bdfsg-1?arch=all&distro=ubuntu-22.04' },
    ]);
  });

  it('prefers the distro hint with the highest priority', () => {
    const sbom = assembleSbom([osRelease(ubuntu, 10), osRelease(debian, 100), osRelease({ id: 'debian', versionId: '11' }, 50)]);
    expect(sbom.distro).toEqual(debian);
  });

  it('marks language packages whose files dpkg owns, and keeps them in the SBOM', () => {
    const owned: CatalogedFile = {
      cataloger: 'dpkg',
      result: { packages: [], ownedFiles: ['/usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO'] },
    };
    const sbom = assembleSbom([osRelease(debian, 100), owned, { cataloger: 'python-installed', result: { packages: [requestsPypi] } }]);
    expect(sbom.ownedLanguagePackages).toBe(1);
    expect(sbom.packages.find((p) => p.type === 'pypi')).toEqual({ ...requestsPypi, managedBy: 'dpkg' });
  });

  it('leaves language packages outside the OS package manager unmarked', () => {
    const sbom = assembleSbom([{ cataloger: 'python-installed', result: { packages: [requestsPypi] } }]);
    expect(sbom.packages).toEqual([requestsPypi]);
    expect(sbom.ownedLanguagePackages).toBe(0);
  });

  it('merges the same package found installed and in a lockfile into one with both locations', () => {
    const sbom = assembleSbom([
      { cataloger: 'npm-lockfile', result: { packages: [lodashLocked] } },
      { cataloger: 'npm-installed', result: { packages: [lodashInstalled] } },
    ]);
    expect(sbom.packages).toEqual([
      { ...lodashInstalled, locations: [{ path: '/app/node_modules/lodash/package.json', layer: 'sha256:bb' }, { path: '/app/package-lock.json', layer: 'sha256:bb' }] },
    ]);
  });

  it('sorts packages by purl so two runs print the same bytes', () => {
    const a = assembleSbom([{ cataloger: 'x', result: { packages: [lodashInstalled, requestsPypi] } }]);
    const b = assembleSbom([{ cataloger: 'x', result: { packages: [requestsPypi, lodashInstalled] } }]);
    expect(a.packages.map((p) => p.purl)).toEqual(['pkg:npm/lodash@4.17.15', 'pkg:pypi/requests@2.28.1']);
    expect(b).toEqual(a);
  });
});
