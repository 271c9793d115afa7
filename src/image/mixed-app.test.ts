import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Cataloger } from '../catalog/types.js';
import { osReleaseCataloger, resolveDistro } from './os/index.js';
import { openOciArchive } from './sources/oci-layout.js';
import { resolveSymlink, walkImage } from './walker.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const archive = path.resolve(repoRoot, '../shared/images/mixed-app.oci.tar');
const present = existsSync(archive);
if (!present) console.warn(`skipping mixed-app walk: ${archive} is absent (it lives in ../shared/images beside the repo)`);

/** Matches the dpkg status file, npm manifests of /app/node_modules and the PyYAML files that layer 2 deletes. */
const probe: Cataloger = {
  id: 'probe',
  version: 1,
  matches: (p) =>
    p === '/var/lib/dpkg/status' ||
    /^\/app\/node_modules\/(?:@[^/]+\/)?[^/]+\/package\.json$/.test(p) ||
    p.startsWith('/usr/lib/python3/dist-packages/yaml/') ||
    p.startsWith('/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/') ||
    p === '/usr/bin/rackup',
  parse: (file) => ({ packages: [], ownedFiles: [`${file.size}`] }),
};

describe.skipIf(!present)('walking mixed-app.oci.tar', () => {
  it('applies the whiteouts of layer 2, keeps the dpkg status and finds the OS', async () => {
    const source = await openOciArchive(archive, { platform: { os: 'linux', architecture: 'amd64' } });
    const progress: number[] = [];
    const out = await walkImage(source, [probe, osReleaseCataloger], { onProgress: (p) => p.done && progress.push(p.layer) });
    await source.close();

    expect(out.info.digest).toBe('sha256:ddb22e1f457197b1c4eb21fa236fac7ec289f0f3b6d219a58747801af45efebf');
    expect(out.info.layers).toHaveLength(3);
    expect(out.info.repoTags).toEqual(['apps/mixed:1.0']);
    expect(progress).toEqual([0, 1, 2]);
    expect(out.stats.uncompressedBytes).toBe(160_249_856 + 65_291_776 + 4_096);
    expect(out.stats.whiteouts).toBe(4);

    const paths = [...out.results.keys()];
    expect(out.results.get('/var/lib/dpkg/status')?.[0]?.layer).toMatch(/^sha256:cd396edd7ed8/);
    expect(paths.filter((p) => p.startsWith('/usr/lib/python3/dist-packages/yaml/'))).toEqual([]);
    expect(paths.filter((p) => p.includes('PyYAML-6.0.dist-info'))).toEqual([]);
    expect(out.results.has('/usr/bin/rackup')).toBe(false);
    expect(paths.filter((p) => p.startsWith('/app/node_modules/')).length).toBeGreaterThan(10);
    expect(out.stats.skipCounts['escaping-path']).toBe(0);

    expect(resolveDistro(out.results)).toMatchObject({ id: 'debian', versionId: '12', codename: 'bookworm' });
    expect(resolveSymlink(out.symlinks, '/etc/os-release')).toBe('/usr/lib/os-release');
  });
});
