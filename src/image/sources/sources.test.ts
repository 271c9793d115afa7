import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Cataloger } from '../../catalog/types.js';
import { AppError } from '../../core/index.js';
import { buildImage, gzip, makeDockerArchive, makeTar, sha256, tarDirectory, writeOciLayout, type BuiltImage } from '../__fixtures__/build.js';
import { parseImageSource } from '../reference.js';
import { walkImage } from '../walker.js';
import { openDockerArchive } from './docker-archive.js';
import { openImageSource } from './index.js';
import { openOciArchive, openOciLayout } from './oci-layout.js';
import { openRootfs } from './rootfs.js';

const temps: string[] = [];
afterEach(() => {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});
function temp(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'palisade-src-'));
  temps.push(dir);
  return dir;
}

const AMD64 = { os: 'linux', architecture: 'amd64' };

/** Every file's content, as the catalogers see it. */
const everything: Cataloger = {
  id: 'everything',
  version: 1,
  matches: () => true,
  parse: (file) => ({ packages: [{ type: 'npm', name: file.path, version: file.bytes.toString('utf8'), purl: '', locations: [{ path: file.path }] }] }),
};

async function contents(source: Parameters<typeof walkImage>[0]): Promise<Record<string, string>> {
  const out = await walkImage(source, [everything]);
  const seen: Record<string, string> = {};
  for (const [p, list] of out.results) for (const r of list) seen[p] = r.result.packages[0]?.version ?? '';
  return seen;
}

async function twoTagImages(): Promise<{ a: BuiltImage; b: BuiltImage; tarA: Buffer }> {
  const tarA = await makeTar([{ name: 'etc/alpine-release', body: '3.19.1\n' }]);
  const tarB = await makeTar([{ name: 'etc/alpine-release', body: '3.20.0\n' }]);
  return {
    a: buildImage({ layers: [{ blob: gzip(tarA), tar: tarA }] }),
    b: buildImage({ layers: [{ blob: gzip(tarB), tar: tarB }], architecture: 'arm64' }),
    tarA,
  };
}

describe('oci-layout and oci-archive', () => {
  it('selects the image by its ref.name tag, in a directory and inside an archive', async () => {
    const { a, b } = await twoTagImages();
    const dir = temp();
    writeOciLayout(path.join(dir, 'layout'), [
      { image: a, tag: '1.0' },
      { image: b, tag: '2.0' },
    ]);
    writeFileSync(path.join(dir, 'image.tar'), await tarDirectory(path.join(dir, 'layout')));

    const fromDir = await openOciLayout(path.join(dir, 'layout'), { platform: AMD64, tag: '2.0' });
    const info = await fromDir.describe();
    expect(info.digest).toBe(b.manifestDigest);
    expect(info.configDigest).toBe(b.configDigest);
    expect(info.repoTags).toEqual(['2.0']);
    expect(info.platform).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(info.layers).toEqual([{ digest: b.layerDigests[0], mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: expect.any(Number), diffId: expect.stringMatching(/^sha256:/) }]);
    expect(await contents(fromDir)).toEqual({ '/etc/alpine-release': '3.20.0\n' });

    const fromArchive = await openImageSource(parseImageSource(`oci-archive:${path.join(dir, 'image.tar')}:1.0`), { platform: AMD64 });
    expect(fromArchive.kind).toBe('oci-archive');
    expect((await fromArchive.describe()).digest).toBe(a.manifestDigest);
    expect(await contents(fromArchive)).toEqual({ '/etc/alpine-release': '3.19.1\n' });
  });

  it.each([
    ['an unknown tag', { tag: '9.9' }, /has no image tagged "9.9" \(tags: 1.0, 2.0\)/],
    ['no tag when there are two images', {}, /holds 2 images \(1.0, 2.0\); name one with/],
  ])('refuses %s', async (_name, extra, message) => {
    const { a, b } = await twoTagImages();
    const dir = temp();
    writeOciLayout(dir, [
      { image: a, tag: '1.0' },
      { image: b, tag: '2.0' },
    ]);
    const source = await openOciLayout(dir, { platform: AMD64, ...extra });
    await expect(source.describe()).rejects.toThrow(message);
  });

  it.each([
    [{ os: 'linux', architecture: 'amd64' }, 'a'],
    [{ os: 'linux', architecture: 'arm64' }, 'b'],
    [{ os: 'linux', architecture: 'arm64', variant: 'v8' }, 'b'],
  ])('chooses %j from a nested multi-platform index', async (platform, which) => {
    const { a, b } = await twoTagImages();
    const dir = temp();
    writeOciLayout(
      dir,
      [
        { image: a, platform: { os: 'linux', architecture: 'amd64' } },
        { image: b, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
      true,
    );
    const source = await openOciLayout(dir, { platform });
    expect((await source.describe()).digest).toBe((which === 'a' ? a : b).manifestDigest);
  });

  it('chooses by platform from a top-level index of per-platform images (buildx oci output)', async () => {
    const { a, b } = await twoTagImages();
    const dir = temp();
    writeOciLayout(dir, [
      { image: b, platform: { os: 'linux', architecture: 'arm64' } },
      { image: a, platform: { os: 'linux', architecture: 'amd64' } },
    ]);
    const source = await openOciLayout(dir, { platform: AMD64 });
    expect((await source.describe()).digest).toBe(a.manifestDigest);
  });

  it('names the platforms on offer when none fits', async () => {
    const { a } = await twoTagImages();
    const dir = temp();
    writeOciLayout(dir, [{ image: a, platform: { os: 'linux', architecture: 'amd64' } }], true);
    const source = await openOciLayout(dir, { platform: { os: 'linux', architecture: 's390x' } });
    await expect(source.describe()).rejects.toThrow(/has no image for platform linux\/s390x \(it offers: linux\/amd64\)/);
  });

  it('refuses a layer blob longer than its manifest says, naming the layer', async () => {
    const t = await makeTar([{ name: 'a', body: 'x' }]);
    const blob = gzip(t);
    const image = buildImage({ layers: [{ blob, tar: t, size: blob.length - 10 }] });
    const dir = temp();
    writeOciLayout(dir, [{ image }]);
    const source = await openOciLayout(dir, { platform: AMD64 });
    const error: unknown = await walkImage(source, [everything]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(String(error)).toContain(`layer ${sha256(blob)} in oci-layout:${dir} is ${blob.length} bytes, more than the ${blob.length - 10} bytes its manifest declares`);
  });

  it('refuses a blob whose content does not match its digest', async () => {
    const t = await makeTar([{ name: 'a', body: 'x' }]);
    const other = gzip(await makeTar([{ name: 'a', body: 'y' }]));
    // the manifest names the digest of `other` but the layout stores `t`'s gzip under that name
    const image = buildImage({ layers: [{ blob: gzip(t), tar: t, digest: sha256(other) }] });
    const dir = temp();
    writeOciLayout(dir, [{ image }]);
    const source = await openOciLayout(dir, { platform: AMD64 });
    await expect(walkImage(source, [everything])).rejects.toThrow(new RegExp(`layer ${sha256(other)} has digest ${sha256(gzip(t))}, not the ${sha256(other)}`));
  });

  it('refuses a directory that is not a layout', async () => {
    const dir = temp();
    const source = await openOciLayout(dir, { platform: AMD64 });
    await expect(source.describe()).rejects.toThrow(/has no index.json; it is not an OCI image layout/);
  });

  it('refuses a file that is not a tar', async () => {
    const dir = temp();
    writeFileSync(path.join(dir, 'x.tar'), Buffer.alloc(1024, 0x41));
    await expect(openOciArchive(path.join(dir, 'x.tar'), { platform: AMD64 })).rejects.toThrow(/is not a tar archive or is damaged/);
  });
});

describe('docker-archive', () => {
  it.each(['legacy', 'oci'] as const)('reads %s docker save output', async (style) => {
    const l0 = await makeTar([{ name: 'etc/debian_version', body: '12.5\n' }, { name: 'var/lib/dpkg/status', body: 'v1' }]);
    const l1 = await makeTar([{ name: 'var/lib/dpkg/status', body: 'v2' }, { name: 'etc/.wh.debian_version', body: '' }]);
    const dir = temp();
    const file = path.join(dir, 'save.tar');
    writeFileSync(file, await makeDockerArchive([l0, l1], ['apps/mixed:1.0', 'apps/mixed:latest'], style));
    const source = await openDockerArchive(file, { tag: 'apps/mixed:latest' });
    const info = await source.describe();
    expect(info.repoTags).toEqual(['apps/mixed:1.0', 'apps/mixed:latest']);
    expect(info.layers.map((l) => l.digest)).toEqual([sha256(l0), sha256(l1)]);
    expect(info.layers.map((l) => l.diffId)).toEqual([sha256(l0), sha256(l1)]);
    expect(await contents(source)).toEqual({ '/var/lib/dpkg/status': 'v2' });
  });

  it('names the tags when the one asked for is absent', async () => {
    const dir = temp();
    const file = path.join(dir, 'save.tar');
    writeFileSync(file, await makeDockerArchive([await makeTar([{ name: 'a', body: '1' }])], ['apps/mixed:1.0'], 'legacy'));
    await expect(openDockerArchive(file, { tag: 'apps/other:1' })).rejects.toThrow(/has no image tagged "apps\/other:1" \(tags: apps\/mixed:1.0\)/);
  });
});

describe('dir:ROOTFS', () => {
  it('walks a directory as one layer and never follows symlinks out of it', async () => {
    const dir = temp();
    const outside = path.join(dir, 'outside-secret.txt');
    writeFileSync(outside, 'SECRET');
    const root = path.join(dir, 'rootfs');
    mkdirSync(path.join(root, 'etc'), { recursive: true });
    mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
    writeFileSync(path.join(root, 'usr/lib/os-release'), 'ID=alpine\nVERSION_ID=3.19.1\n');
    symlinkSync('../usr/lib/os-release', path.join(root, 'etc/os-release'));
    symlinkSync(outside, path.join(root, 'etc/absolute-out'));
    symlinkSync('../../outside-secret.txt', path.join(root, 'etc/relative-out'));
    symlinkSync(dir, path.join(root, 'hostdir'));
    linkSync(path.join(root, 'usr/lib/os-release'), path.join(root, 'usr/lib/hardlinked'));
    writeFileSync(path.join(root, 'empty'), '');

    const source = await openRootfs(root, { platform: AMD64 });
    const out = await walkImage(source, [everything]);
    const seen: Record<string, string> = {};
    for (const [p, list] of out.results) for (const r of list) seen[p] = `${r.layer}|${r.result.packages[0]?.version ?? ''}`;
    expect(seen).toEqual({
      '/usr/lib/os-release': '|ID=alpine\nVERSION_ID=3.19.1\n',
      '/usr/lib/hardlinked': '|ID=alpine\nVERSION_ID=3.19.1\n',
      '/empty': '|',
    });
    expect(out.symlinks).toEqual(
      new Map([
        ['/etc/absolute-out', outside],
        ['/etc/os-release', '../usr/lib/os-release'],
        ['/hostdir', dir],
      ]),
    );
    expect(out.stats.skipCounts['escaping-link']).toBe(1);
    expect(JSON.stringify([...out.results.values()])).not.toContain('SECRET');
  });

  it('refuses a path that is not a directory', async () => {
    await expect(openRootfs('/nonexistent/rootfs', { platform: AMD64 })).rejects.toThrow(/dir:\/nonexistent\/rootfs is not a directory/);
  });
});
