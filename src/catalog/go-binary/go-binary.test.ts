import { describe, expect, it } from 'vitest';
import type { CatalogFile } from '../types.js';
import { readGoBuildInfo } from './buildinfo.js';
import { goBinaryCataloger } from './index.js';
import { goToolchainVersion, parseGoBinary } from './packages.js';
import { buildElf, sectionAddress } from './__fixtures__/elf-writer.js';

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const SENTINEL_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const SENTINEL_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');

function uvarint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

function wrappedModinfo(text: string): Buffer {
  return Buffer.concat([SENTINEL_START, Buffer.from(text, 'utf8'), SENTINEL_END]);
}

/** Go ≥ 1.18 layout: 32-byte header with flags 0x2, then varint-prefixed version and modinfo. */
function inlineBuildInfo(goVersion: string, modinfo: string): Buffer {
  const header = Buffer.alloc(32);
  MAGIC.copy(header, 0);
  header[14] = 8;
  header[15] = 0x2;
  const mod = wrappedModinfo(modinfo);
  return Buffer.concat([header, uvarint(goVersion.length), Buffer.from(goVersion), uvarint(mod.length), mod]);
}

/** Go 1.13–1.17 layout: header with two pointers to Go string headers, followed here by the headers and data. */
function pointerElf(goVersion: string, modinfo: string): Buffer {
  const mod = wrappedModinfo(modinfo);
  const base = BigInt(sectionAddress([], 0));
  const section = Buffer.alloc(32 + 32 + goVersion.length + mod.length);
  MAGIC.copy(section, 0);
  section[14] = 8;
  section[15] = 0;
  section.writeBigUInt64LE(base + 32n, 16); // -> version string header
  section.writeBigUInt64LE(base + 48n, 24); // -> modinfo string header
  section.writeBigUInt64LE(base + 64n, 32);
  section.writeBigUInt64LE(BigInt(goVersion.length), 40);
  section.writeBigUInt64LE(base + 64n + BigInt(goVersion.length), 48);
  section.writeBigUInt64LE(BigInt(mod.length), 56);
  Buffer.from(goVersion).copy(section, 64);
  mod.copy(section, 64 + goVersion.length);
  return buildElf([{ name: '.go.buildinfo', data: section }]);
}

function file(path: string, bytes: Buffer): CatalogFile {
  return { path, layer: 'sha256:d67930f6463d', bytes, size: bytes.length, mode: 0o755 };
}

const ESBUILD_MODINFO = [
  'path\tgithub.com/evanw/esbuild/cmd/esbuild',
  'mod\tgithub.com/evanw/esbuild\t(devel)\t',
  'dep\tgolang.org/x/sys\tv0.0.0-20220715151400-c0bba94af5f8\th1:0A+M6Uqn+Eje4kHMK80dtF3JCXC4ykBgQG4Fe06QRhQ=',
  'build\t-buildmode=exe',
  'build\t-compiler=gc',
  'build\tCGO_ENABLED=0',
  'build\tvcs.revision=d47ab43980c457db27d2671ab618cd5c40a618a7',
  '',
].join('\n');

const EXPORTER_MODINFO = [
  'path\tgithub.com/prometheus/node_exporter',
  'mod\tgithub.com/prometheus/node_exporter\tv1.6.1\th1:Srnb4WUrWiL3PvVlZfcDjNGIe8SBDS3l1wmAz+Xa6vE=',
  'dep\tgithub.com/beorn7/perks\tv1.0.1\th1:VlbKKnNfV8bJzeqoa4cOKqO6bYr3WgKZxO8Z16+hsOM=',
  'dep\tgithub.com/hashicorp/go-envparse\tv0.1.0',
  '=>\tgithub.com/example/go-envparse\tv0.1.1\th1:4Zx3z0hAFZNBHxWTgzp4r5oB4yFw9Aqw7U2FcX6JmJU=',
  'dep\tgithub.com/example/local\tv0.0.0-00010101000000-000000000000',
  '=>\t../local\t',
  'dep\tgopkg.in/yaml.v2\tv2.4.0\th1:D8xgwECY7CYvx+Y2n4sBz93Jn9JRvxdiyyo8CTfuKaY=',
  '',
].join('\n');

function summary(packages: { name: string; version: string; purl: string }[]): string[] {
  return packages.map((p) => `${p.name}@${p.version} ${p.purl}`);
}

describe('parseGoBinary', () => {
  it.each([
    [
      'Go ≥ 1.18 inline format in an ELF .go.buildinfo section, (devel) main module',
      buildElf([
        { name: '.text', data: Buffer.alloc(64, 0x90) },
        { name: '.go.buildinfo', data: inlineBuildInfo('go1.20.4', ESBUILD_MODINFO) },
      ]),
      [
        'golang.org/x/sys@v0.0.0-20220715151400-c0bba94af5f8 pkg:golang/golang.org/x/sys@v0.0.0-20220715151400-c0bba94af5f8',
        'stdlib@1.20.4 pkg:golang/stdlib@1.20.4',
      ],
      0,
    ],
    [
      'inline format found by search (Mach-O bytes), replacements honoured',
      Buffer.concat([Buffer.from('cffaedfe07000001', 'hex'), Buffer.alloc(56), inlineBuildInfo('go1.21rc2', EXPORTER_MODINFO)]),
      [
        'github.com/prometheus/node_exporter@v1.6.1 pkg:golang/github.com/prometheus/node_exporter@v1.6.1',
        'github.com/beorn7/perks@v1.0.1 pkg:golang/github.com/beorn7/perks@v1.0.1',
        'github.com/example/go-envparse@v0.1.1 pkg:golang/github.com/example/go-envparse@v0.1.1',
        'gopkg.in/yaml.v2@v2.4.0 pkg:golang/gopkg.in/yaml.v2@v2.4.0',
        'stdlib@1.21.0-rc.2 pkg:golang/stdlib@1.21.0-rc.2',
      ],
      1,
    ],
    [
      'Go < 1.18 pointer format (ELF)',
      pointerElf('go1.16.15', ESBUILD_MODINFO),
      [
        'golang.org/x/sys@v0.0.0-20220715151400-c0bba94af5f8 pkg:golang/golang.org/x/sys@v0.0.0-20220715151400-c0bba94af5f8',
        'stdlib@1.16.15 pkg:golang/stdlib@1.16.15',
      ],
      0,
    ],
  ])('%s', (_label, bytes, expected, skipped) => {
    const out = parseGoBinary(file('/usr/local/bin/tool', bytes));
    expect(summary(out.packages)).toEqual(expected);
    expect(out.skipped).toBe(skipped);
    expect(out.packages[0]?.locations).toEqual([{ path: '/usr/local/bin/tool', layer: 'sha256:d67930f6463d' }]);
  });

  it('keeps the build settings and the main package path', () => {
    const info = readGoBuildInfo(buildElf([{ name: '.go.buildinfo', data: inlineBuildInfo('go1.20.4', ESBUILD_MODINFO) }]));
    expect(info?.path).toBe('github.com/evanw/esbuild/cmd/esbuild');
    expect(info?.main).toEqual({ path: 'github.com/evanw/esbuild', version: '(devel)' });
    expect(info?.settings.get('vcs.revision')).toBe('d47ab43980c457db27d2671ab618cd5c40a618a7');
  });

  it.each([
    ['a shell script', Buffer.from('#!/bin/sh\nexec /usr/bin/env node "$@"\n')],
    ['an ELF without .go.buildinfo', buildElf([{ name: '.text', data: Buffer.concat([Buffer.alloc(16), MAGIC]) }])],
    ['a truncated header', Buffer.concat([Buffer.from('cffaedfe', 'hex'), MAGIC])],
  ])('yields nothing for %s', (_label, bytes) => {
    expect(parseGoBinary(file('/usr/bin/x', bytes))).toEqual({ packages: [], skipped: 0 });
  });
});

describe('goToolchainVersion', () => {
  it.each([
    ['go1.20.4', '1.20.4'],
    ['go1.20', '1.20.0'],
    ['go1.21rc2', '1.21.0-rc.2'],
    ['go1.19beta1', '1.19.0-beta.1'],
    ['go1.22.1 X:boringcrypto', '1.22.1'],
    ['devel go1.23-abcdef Tue', undefined],
  ])('%s → %s', (input, expected) => expect(goToolchainVersion(input)).toBe(expected));
});

describe('goBinaryCataloger.matches', () => {
  it.each([
    [0o755, 4_000_000, true],
    [0o744, 10, true],
    [0o644, 4_000_000, false],
    [0o755, 0, false],
    [0o755, 300 * 1024 * 1024, false],
  ])('mode %o size %d → %s', (mode, size, expected) => {
    expect(goBinaryCataloger.matches('/usr/bin/x', { mode, size })).toBe(expected);
  });
});
