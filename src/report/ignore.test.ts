import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AppError, fixedClock } from '../core/index.js';
import { expiryInstant, ignoreMatches, isExpired, loadIgnoreFile, parseIgnoreFile, purlPrefixMatches } from './ignore.js';
import { lodashFinding, zlibFinding } from './__fixtures__/report.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__');

describe('loadIgnoreFile', () => {
  it('reads a YAML file with lines, optional purl and expiry', async () => {
    const file = join(fixtures, 'palisadeignore.yaml');
    expect(await loadIgnoreFile(file)).toEqual({
      file,
      entries: [
        { id: 'CVE-2023-45853', reason: "minizip is not built into Debian's zlib1g; only contrib/minizip is affected", purl: 'pkg:deb/debian/zlib1g', line: 3 },
        { id: 'CVE-2021-23337', reason: 'templates are compiled at build time from trusted sources only', expires: '2026-10-31', line: 6 },
      ],
    });
  });

  it('reads a JSON file', async () => {
    const file = join(fixtures, 'palisadeignore.json');
    expect((await loadIgnoreFile(file)).entries).toEqual([
      { id: 'GHSA-35jh-r3h4-6jhm', reason: 'lodash.template is never called', expires: '2027-03-31', purl: 'pkg:npm/lodash@4.17.20', line: 3 },
    ]);
  });

  it('names the file, line and problem of a malformed file', async () => {
    const file = join(fixtures, 'malformed-ignore.yaml');
    await expect(loadIgnoreFile(file)).rejects.toThrow(
      `ignore file ${file} is invalid: line 4: ignores[1].reason: Invalid input: expected string, received undefined; line 4: ignores[1]: Unrecognized key: "expire". Expected { ignores: [{ id, reason, expires?, purl? }] }`,
    );
  });

  it('names a missing file', async () => {
    const file = join(fixtures, 'no-such-ignore.yaml');
    await expect(loadIgnoreFile(file)).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining(`cannot read ignore file ${file}`) });
  });

  it('refuses a file over 1 MiB', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'palisade-ignore-')), 'big.yaml');
    writeFileSync(file, `ignores: []\n# ${'x'.repeat(1024 * 1024)}\n`);
    await expect(loadIgnoreFile(file)).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });
});

describe('parseIgnoreFile', () => {
  it.each([
    ['bad YAML', 'ignores:\n  - id: CVE-2024-3094\n    reason: [unclosed\n', /^ignore file x\.yaml line \d+: not valid YAML\/JSON \(.+\); fix the syntax$/],
    ['bad JSON', '{ "ignores": [ { "id": "CVE-2024-3094", } ', /^ignore file x\.yaml line 1: not valid YAML\/JSON \(Flow sequence in block collection must be sufficiently indented and end with a \]\); fix the syntax$/],
    ['a date that is not a date', 'ignores:\n  - id: CVE-2024-3094\n    reason: xz backdoor not in this image\n    expires: next year\n', /line 4: ignores\[0\]\.expires: expires must be a date like 2026-12-31/],
    ['an empty reason', 'ignores:\n  - id: CVE-2024-3094\n    reason: ""\n', /line 3: ignores\[0\]\.reason: reason must say why the finding is ignored/],
    ['a purl that is not one', 'ignores:\n  - id: CVE-2024-3094\n    reason: r\n    purl: xz-utils\n', /line 4: ignores\[0\]\.purl: purl must be a package URL/],
    ['a list at the top', '- id: CVE-2024-3094\n', /^ignore file x\.yaml is invalid: line 1: Invalid input: expected object, received array/],
  ])('rejects %s with the file and line', (_name, text, message) => {
    let caught: unknown;
    try {
      parseIgnoreFile(text, 'x.yaml');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect(caught instanceof AppError ? caught.message : '').toMatch(message);
  });

  it('treats an empty file as no ignores', () => {
    expect(parseIgnoreFile('# nothing ignored yet\n', 'x.yaml')).toEqual({ file: 'x.yaml', entries: [] });
  });
});

describe('matching and expiry', () => {
  it.each([
    ['the finding id', { id: 'CVE-2023-45853', reason: 'r', line: 1 }, zlibFinding, true],
    ['an alias, in any case', { id: 'cve-2021-23337', reason: 'r', line: 1 }, lodashFinding, true],
    ['another id', { id: 'CVE-2021-23337', reason: 'r', line: 1 }, zlibFinding, false],
    ['id and versionless purl', { id: 'GHSA-35jh-r3h4-6jhm', reason: 'r', purl: 'pkg:npm/lodash', line: 1 }, lodashFinding, true],
    ['id and another package', { id: 'GHSA-35jh-r3h4-6jhm', reason: 'r', purl: 'pkg:npm/lodash-es', line: 1 }, lodashFinding, false],
  ])('matches by %s', (_name, entry, finding, expected) => {
    expect(ignoreMatches(entry, finding)).toBe(expected);
  });

  it.each([
    ['pkg:npm/lodash', 'pkg:npm/lodash@4.17.20', true],
    ['pkg:npm/lodash', 'pkg:npm/lodash.merge@4.6.2', false],
    ['pkg:npm/lodash@4.17.20', 'pkg:npm/lodash@4.17.20', true],
    ['pkg:npm/lodash@4.17', 'pkg:npm/lodash@4.17.20', false],
    ['pkg:deb/debian/', 'pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64', true],
    ['pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1', 'pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12', true],
  ])('purl prefix %s matches %s: %s', (prefix, purl, expected) => {
    expect(purlPrefixMatches(prefix, purl)).toBe(expected);
  });

  it.each([
    ['2026-12-31', '2026-12-31T23:59:59Z', false],
    ['2026-12-31', '2027-01-01T00:00:00Z', true],
    ['2026-10-31', '2026-11-27T00:40:00Z', true],
    ['2026-11-27T00:00:00Z', '2026-11-26T23:59:59Z', false],
    [undefined, '2099-01-01T00:00:00Z', false],
  ])('an entry expiring %s is expired at %s: %s', (expires, now, expected) => {
    expect(isExpired({ id: 'CVE-2024-3094', reason: 'r', line: 1, ...(expires ? { expires } : {}) }, fixedClock(now))).toBe(expected);
  });

  it('ends a date-only expiry at the end of that UTC day', () => {
    expect(new Date(expiryInstant('2026-12-31')).toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });
});
