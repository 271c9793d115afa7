import { describe, expect, it } from 'vitest';
import { AppError } from '../core/index.js';
import { elfOffsetOf, elfSectionBytes, isInsideInstalledPackage, parseToml, readElf } from './generic.js';
import { buildElf, LOAD_ADDRESS, FIRST_SECTION_OFFSET } from './go-binary/__fixtures__/elf-writer.js';

describe('parseToml', () => {
  it.each([
    ['basic string', 'a = "x\\ty\\u00e9\\"z"', { a: 'x\tyé"z' }],
    ['literal string', "a = 'C:\\path'", { a: 'C:\\path' }],
    ['multi-line basic', 'a = """\nline1\nline2\\\n   cont"""', { a: 'line1\nline2cont' }],
    ['multi-line literal', "a = '''\nraw \\n'''", { a: 'raw \\n' }],
    ['integers, floats, booleans', 'i = 1_000\nh = 0xff\nf = -1.5e3\nt = true\nn = false', { i: 1000, h: 255, f: -1500, t: true, n: false }],
    ['date-time kept as text', 'd = 1979-05-27T07:32:00Z\ne = 1979-05-27 07:32:00', { d: '1979-05-27T07:32:00Z', e: '1979-05-27 07:32:00' }],
    ['multi-line array with comments', 'deps = [\n  "a 1.0", # first\n  "b",\n]', { deps: ['a 1.0', 'b'] }],
    ['inline table', 'source = { registry = "https://pypi.org/simple", n = 2 }', { source: { registry: 'https://pypi.org/simple', n: 2 } }],
    ['dotted and quoted keys', 'a.b = 1\n"c.d" = 2', { a: { b: 1 }, 'c.d': 2 }],
    [
      'array of tables with sub-tables',
      '[[package]]\nname = "a"\n[package.source]\ntype = "git"\n\n[[package]]\nname = "b"\n',
      { package: [{ name: 'a', source: { type: 'git' } }, { name: 'b' }] },
    ],
    ['CRLF line ends', '[metadata]\r\nversion = 3\r\n', { metadata: { version: 3 } }],
    ['__proto__ is a plain key', '__proto__ = 1', { ['__proto__']: 1 }],
  ])('%s', (_label, text, expected) => {
    expect(JSON.parse(JSON.stringify(parseToml(text)))).toEqual(expected);
  });

  it.each([
    ['unterminated string', 'a = "x', 1],
    ['missing value', 'a = ', 1],
    ['duplicate key', 'a = 1\na = 2', 2],
    ['duplicate table', '[a]\nx = 1\n[a]\ny = 2', 3],
    ['garbage after value', 'a = 1 2', 1],
    ['bad escape', 'a = "\\q"', 1],
    ['array of tables over a static array', 'p = [1]\n[[p]]', 2],
    ['unclosed array', 'a = [1,\n2', 2],
  ])('rejects %s with the line number', (_label, text, line) => {
    let error: unknown;
    try {
      parseToml(text, 'Cargo.lock');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect(error instanceof AppError && error.code).toBe('BAD_INPUT');
    expect(error instanceof Error && error.message).toContain(`Cargo.lock: TOML syntax error at line ${line}`);
  });
});

describe('readElf', () => {
  it('reads section names, bytes and address mapping', () => {
    const elf = buildElf([
      { name: '.text', data: Buffer.from('code') },
      { name: '.dep-v0', data: Buffer.from('payload') },
    ]);
    const parsed = readElf(elf);
    expect(parsed?.sections.map((s) => s.name)).toEqual(['', '.text', '.dep-v0', '.shstrtab']);
    expect(parsed && elfSectionBytes(parsed, elf, '.dep-v0')?.toString()).toBe('payload');
    expect(parsed && elfOffsetOf(parsed, BigInt(LOAD_ADDRESS + FIRST_SECTION_OFFSET))).toBe(FIRST_SECTION_OFFSET);
  });

  it.each([
    ['not ELF', Buffer.from('#!/bin/sh\necho hi\n'.repeat(4))],
    ['truncated ELF', buildElf([{ name: '.text', data: Buffer.from('x') }]).subarray(0, 60)],
  ])('returns no sections for %s', (_label, bytes) => {
    expect(readElf(bytes)?.sections ?? []).toEqual([]);
  });
});

describe('isInsideInstalledPackage', () => {
  it.each([
    ['/app/package-lock.json', false],
    ['/app/node_modules/uri-js/yarn.lock', true],
    ['/usr/lib/python3/dist-packages/foo/requirements.txt', true],
    ['/usr/local/lib/python3.11/site-packages/x/poetry.lock', true],
    ['/var/www/vendor/acme/lib/composer.lock', true],
    ['/usr/lib/ruby/gems/3.1.0/gems/typeprof-0.21.2/Gemfile.lock', true],
    ['/usr/lib/ruby/gems/3.1.0/gems/rbs-2.1.0/steep/Gemfile.lock', true],
    ['/srv/gems/Gemfile.lock', false],
    ['/root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/serde-1.0.171/Cargo.lock', true],
    ['/src/Cargo.lock', false],
  ])('%s → %s', (path, expected) => expect(isInsideInstalledPackage(path)).toBe(expected));
});
