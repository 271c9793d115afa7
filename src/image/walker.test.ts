import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Cataloger } from '../catalog/types.js';
import { AppError } from '../core/index.js';
import { buildImage, gzip, makeTar, writeOciLayout, sha256, type LayerSpec, type TarEntry } from './__fixtures__/build.js';
import { osReleaseCataloger, resolveDistro } from './os/index.js';
import { openOciLayout } from './sources/oci-layout.js';
import { compressionOf, normaliseEntryPath, resolveSymlink, walkImage, type WalkOptions, type WalkProgress } from './walker.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const temps: string[] = [];
afterEach(() => {
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

/** Records the content of every pkg.json and of the dpkg status file as a package version. */
const recorder: Cataloger = {
  id: 'recorder',
  version: 1,
  matches: (p) => p === '/var/lib/dpkg/status' || p.endsWith('/pkg.json'),
  parse: (file) => ({
    packages: [{ type: 'npm', name: file.path, version: file.bytes.toString('utf8'), purl: '', locations: [{ path: file.path, layer: file.layer }] }],
  }),
};

async function layer(entries: TarEntry[]): Promise<LayerSpec> {
  const t = await makeTar(entries);
  return { blob: gzip(t), tar: t };
}

async function walkLayers(layers: LayerSpec[], catalogers: Cataloger[] = [recorder], options: WalkOptions = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'palisade-walk-'));
  temps.push(dir);
  const image = buildImage({ layers });
  writeOciLayout(path.join(dir, 'layout'), [{ image }]);
  const source = await openOciLayout(path.join(dir, 'layout'), { platform: { os: 'linux', architecture: 'amd64' } });
  return { dir, image, out: await walkImage(source, catalogers, options) };
}

function versions(results: Map<string, { result: { packages: { version: string }[] }; layerIndex: number }[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [p, list] of results) for (const r of list) for (const pkg of r.result.packages) out[p] = `${pkg.version}@${r.layerIndex}`;
  return out;
}

const DEBIAN_OS_RELEASE = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`;

describe('walkImage over layers', () => {
  it('applies whiteouts, opaque dirs, rewrites, hard links and symlinks across three layers', async () => {
    const l0 = await layer([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
      { name: 'usr/lib/os-release', body: DEBIAN_OS_RELEASE },
      { name: './var/lib/dpkg/status', body: 'v1' },
      { name: 'app/a/pkg.json', body: 'a' },
      { name: 'app/b/pkg.json', body: 'b' },
      { name: 'app/b/sub/pkg.json', body: 'bsub' },
      { name: 'opq/x/pkg.json', body: 'x' },
      { name: 'gone/pkg.json', body: 'gone' },
      { name: 'old/pkg.json', body: 'old' },
      { name: 'usr/share/unwanted.txt', body: 'not read' },
      { name: 'app/hl/pkg.json', type: 'link', linkname: 'app/a/pkg.json' },
      { name: 'app/hl2/pkg.json', type: 'link', linkname: 'usr/share/unwanted.txt' },
      { name: 'app/hl3/pkg.json', type: 'link', linkname: '../../etc/passwd' },
      { name: '../escape/pkg.json', body: 'escaped' },
      { name: 'app/../../escape2/pkg.json', body: 'escaped' },
      { name: '/abs/pkg.json', body: 'abs' },
      { name: 'loop/a', type: 'symlink', linkname: 'b' },
      { name: 'loop/b', type: 'symlink', linkname: 'a' },
      { name: 'app/out', type: 'symlink', linkname: '../../../../../etc/shadow' },
    ]);
    const l1 = await layer([
      { name: 'var/lib/dpkg/status', body: 'v2' },
      { name: 'app/b/.wh.sub', body: '' },
      { name: 'opq/y/pkg.json', body: 'y' },
      { name: 'opq/.wh..wh..opq', body: '' },
      { name: '.wh.gone', body: '' },
      { name: 'old', body: 'now a file' },
      { name: 'app/c/pkg.json', type: 'link', linkname: 'app/a/pkg.json' },
    ]);
    const l2 = await layer([{ name: 'app/a/.wh.pkg.json', body: '' }]);

    const { dir, out } = await walkLayers([l0, l1, l2], [recorder, osReleaseCataloger]);

    expect(versions(out.results)).toEqual({
      '/var/lib/dpkg/status': 'v2@1',
      '/app/b/pkg.json': 'b@0',
      '/app/hl/pkg.json': 'a@0',
      '/opq/y/pkg.json': 'y@1',
      '/app/c/pkg.json': 'a@1',
      '/abs/pkg.json': 'abs@0',
    });
    expect(out.results.get('/usr/lib/os-release')?.map((r) => r.cataloger)).toEqual(['os-release']);
    expect(resolveDistro(out.results)).toEqual({ id: 'debian', versionId: '12', codename: 'bookworm', prettyName: 'Debian GNU/Linux 12 (bookworm)' });
    expect(out.stats.skipCounts).toEqual({ 'escaping-path': 2, 'escaping-link': 2, 'too-large': 0, 'hardlink-target-not-read': 1, 'parse-error': 0 });
    expect(out.stats.skips.map((s) => `${s.reason} ${s.path}`).sort()).toEqual([
      'escaping-link /app/hl3/pkg.json',
      'escaping-link /app/out',
      'escaping-path ../escape/pkg.json',
      'escaping-path app/../../escape2/pkg.json',
      'hardlink-target-not-read /app/hl2/pkg.json',
    ]);
    expect(out.stats.whiteouts).toBe(3);
    expect(out.stats.opaqueDirs).toBe(1);
    expect(out.stats.layers).toBe(3);
    expect(out.stats.entries).toBe(28);
    expect(out.symlinks).toEqual(new Map([['/etc/os-release', '../usr/lib/os-release'], ['/loop/a', 'b'], ['/loop/b', 'a']]));
    expect(resolveSymlink(out.symlinks, '/etc/os-release')).toBe('/usr/lib/os-release');
    expect(resolveSymlink(out.symlinks, '/loop/a')).toBeUndefined();
    expect(existsSync(path.resolve(dir, '../escape'))).toBe(false);
    expect(existsSync(path.resolve(dir, 'escape'))).toBe(false);
  });

  it('keeps same-layer content of an opaque dir whatever the entry order, and drops lower content', async () => {
    const l0 = await layer([{ name: 'd/old/pkg.json', body: 'old' }, { name: 'd/keep-not/pkg.json', body: 'k' }]);
    const l1 = await layer([{ name: 'd/.wh..wh..opq', body: '' }, { name: 'd/new/pkg.json', body: 'new' }]);
    const { out } = await walkLayers([l0, l1]);
    expect(versions(out.results)).toEqual({ '/d/new/pkg.json': 'new@1' });
  });

  it('drops results of a file when a later layer replaces it with a symlink, and of a dir replaced by a file', async () => {
    const l0 = await layer([{ name: 'var/lib/dpkg/status', body: 'v1' }, { name: 'x/y/pkg.json', body: 'y' }]);
    const l1 = await layer([{ name: 'var/lib/dpkg/status', type: 'symlink', linkname: 'status-old' }, { name: 'x', body: 'file' }]);
    const { out } = await walkLayers([l0, l1]);
    expect(versions(out.results)).toEqual({});
    expect(out.symlinks.get('/var/lib/dpkg/status')).toBe('status-old');
  });

  it('reports progress per layer and counts bytes', async () => {
    const l0 = await layer([{ name: 'a/pkg.json', body: 'a' }]);
    const l1 = await layer([{ name: 'b/pkg.json', body: 'bb' }]);
    const seen: WalkProgress[] = [];
    const { out } = await walkLayers([l0, l1], [recorder], { onProgress: (p) => seen.push(p) });
    expect(seen.map((p) => [p.layer, p.layers, p.done])).toEqual([
      [0, 2, true],
      [1, 2, true],
    ]);
    expect(seen[1]?.totalBytes).toBe((l0.tar?.length ?? 0) + (l1.tar?.length ?? 0));
    expect(out.stats.uncompressedBytes).toBe((l0.tar?.length ?? 0) + (l1.tar?.length ?? 0));
    expect(out.stats.compressedBytes).toBe(l0.blob.length + l1.blob.length);
    expect(out.stats.filesRead).toBe(2);
    expect(out.stats.bytesRead).toBe(3);
  });

  it('skips and counts a wanted file over the size cap and a file its cataloger cannot parse', async () => {
    const failing: Cataloger = {
      id: 'failing',
      version: 1,
      matches: (p) => p === '/bad.json',
      parse: () => {
        throw new Error('Unexpected token } in JSON');
      },
    };
    const l0 = await layer([{ name: 'big/pkg.json', body: Buffer.alloc(2000, 0x61) }, { name: 'small/pkg.json', body: 's' }, { name: 'bad.json', body: '{' }]);
    const { out } = await walkLayers([l0], [recorder, failing], { limits: { maxFileSize: 1000 } });
    expect(versions(out.results)).toEqual({ '/small/pkg.json': 's@0' });
    expect(out.stats.skips).toEqual([
      { reason: 'too-large', path: '/big/pkg.json', layer: expect.stringMatching(/^sha256:/), detail: '2000 bytes > 1000' },
      { reason: 'parse-error', path: '/bad.json', layer: expect.stringMatching(/^sha256:/), detail: 'failing: Unexpected token } in JSON' },
    ]);
  });

  it('reads a zstd layer (fixture made once with `zstd -19`)', async () => {
    const blob = readFileSync(path.join(here, '__fixtures__', 'layer.tar.zst'));
    expect(compressionOf(blob)).toBe('zstd');
    const tarBytes = readFileSync(path.join(here, '__fixtures__', 'layer.tar'));
    const { out } = await walkLayers([{ blob, tar: tarBytes, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }], [recorder, osReleaseCataloger]);
    expect(versions(out.results)).toEqual({ '/var/lib/dpkg/status': 'Package: zlib1g\n@0' });
    expect(resolveDistro(out.results)).toMatchObject({ id: 'alpine', versionId: '3.19.1' });
  });

  it('reads an uncompressed layer', async () => {
    const t = await makeTar([{ name: 'p/pkg.json', body: 'plain' }]);
    const { out } = await walkLayers([{ blob: t, mediaType: 'application/vnd.oci.image.layer.v1.tar' }]);
    expect(versions(out.results)).toEqual({ '/p/pkg.json': 'plain@0' });
  });
});

describe('walkImage refuses damaged and hostile layers, naming the layer', () => {
  const failures: [string, () => Promise<{ layers: LayerSpec[]; options?: WalkOptions }>, string, RegExp][] = [
    [
      'a decompression bomb over the image cap',
      async () => {
        const t = await makeTar([{ name: 'zeros', body: Buffer.alloc(20 * 1024 * 1024) }]);
        return { layers: [{ blob: gzip(t), tar: t }], options: { limits: { maxImageBytes: 5 * 1024 * 1024 } } };
      },
      'TOO_LARGE',
      /decompresses past the 5242880-byte limit .*decompression bomb/,
    ],
    [
      'corrupt gzip',
      async () => {
        const t = await makeTar([{ name: 'a/pkg.json', body: 'x'.repeat(5000) }]);
        const blob = gzip(t);
        blob[4] = 0xff;
        blob.fill(0x55, 20, 60);
        return { layers: [{ blob, tar: t }] };
      },
      'BAD_INPUT',
      /is corrupt/,
    ],
    [
      'a truncated gzip layer',
      async () => {
        const t = await makeTar([{ name: 'a/pkg.json', body: Buffer.from(Array.from({ length: 30000 }, (_, i) => i % 251)) }]);
        const blob = gzip(t);
        return { layers: [{ blob: blob.subarray(0, Math.floor(blob.length / 2)), tar: t }] };
      },
      'BAD_INPUT',
      /is truncated/,
    ],
    [
      'a truncated plain tar',
      async () => {
        const t = await makeTar([{ name: 'a/pkg.json', body: 'x'.repeat(5000) }]);
        return { layers: [{ blob: t.subarray(0, 2048), tar: t, mediaType: 'application/vnd.oci.image.layer.v1.tar' }] };
      },
      'BAD_INPUT',
      /is truncated/,
    ],
    [
      'a diff_id mismatch',
      async () => {
        const t = await makeTar([{ name: 'a/pkg.json', body: 'x' }]);
        return { layers: [{ blob: gzip(t), tar: t, diffId: sha256('something else') }] };
      },
      'BAD_INPUT',
      /not the diff_id sha256:/,
    ],
    [
      'more entries than the per-layer cap',
      async () => {
        const t = await makeTar([{ name: 'a', body: '1' }, { name: 'b', body: '2' }, { name: 'c', body: '3' }]);
        return { layers: [{ blob: gzip(t), tar: t }], options: { limits: { maxEntriesPerLayer: 2 } } };
      },
      'TOO_LARGE',
      /has more than 2 entries/,
    ],
  ];

  it.each(failures)('%s', async (_name, make, code, message) => {
    const { layers, options } = await make();
    const digest = sha256(layers[0]?.blob ?? '');
    const error: unknown = await walkLayers(layers, [recorder], options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    if (!(error instanceof AppError)) return;
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.message).toContain(digest);
  });
});

describe('path helpers', () => {
  it.each([
    ['./etc/os-release', '/etc/os-release'],
    ['/usr/lib/os-release', '/usr/lib/os-release'],
    ['usr//lib/./x', '/usr/lib/x'],
    ['a/b/../c', '/a/c'],
    ['../etc/passwd', undefined],
    ['a/../../b', undefined],
    ['./', '/'],
  ])('normaliseEntryPath(%j) = %j', (input, expected) => {
    expect(normaliseEntryPath(input)).toBe(expected);
  });

  const links = new Map([
    ['/etc/os-release', '../usr/lib/os-release'],
    ['/lib', 'usr/lib'],
    ['/usr/lib/os-release', '/etc/alt/os-release'],
    ['/etc/alt', '/opt/alt'],
    ['/up', '../../../../tmp'],
    ['/a', '/b'],
    ['/b', '/a'],
  ]);
  it.each([
    ['/etc/os-release', '/opt/alt/os-release'],
    ['/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/x86_64-linux-gnu/libc.so.6'],
    ['/up/file', '/tmp/file'],
    ['/usr/bin/env', '/usr/bin/env'],
    ['/a', undefined],
    ['/a/b/c', undefined],
  ])('resolveSymlink(%j) = %j', (input, expected) => {
    expect(resolveSymlink(links, input)).toBe(expected);
  });
});
