import { describe, expect, it } from 'vitest';
import type { CatalogFile, Cataloger } from '../types.js';
import { parseComposerLock, parseInstalledJson } from './composer.js';
import { composerInstalledCataloger, composerLockCataloger } from './index.js';

function file(path: string, text: string): CatalogFile {
  const bytes = Buffer.from(text, 'utf8');
  return { path, layer: 'sha256:0123', bytes, size: bytes.length, mode: 0o644 };
}

const MONOLOG = {
  name: 'monolog/monolog',
  version: '2.9.1',
  version_normalized: '2.9.1.0',
  source: { type: 'git', url: 'https://github.com/Seldaek/monolog.git', reference: 'f259e2b15fb95494c83f52d3caad003bbf5ffaa1' },
  type: 'library',
  license: ['MIT'],
};
const CONSOLE = { name: 'symfony/console', version: 'v5.4.21', license: ['MIT'], type: 'library' };
const BRANCH = { name: 'acme/tools', version: 'dev-main', type: 'library' };
const PHPUNIT = { name: 'phpunit/phpunit', version: '9.6.7', license: ['BSD-3-Clause'] };

const EXPECTED = [
  'monolog/monolog@2.9.1 pkg:composer/monolog/monolog@2.9.1 MIT',
  'symfony/console@v5.4.21 pkg:composer/symfony/console@v5.4.21 MIT',
];

function summary(packages: { name: string; version: string; purl: string; licenses?: string[] }[]): string[] {
  return packages.map((p) => `${p.name}@${p.version} ${p.purl} ${(p.licenses ?? []).join(',')}`);
}

describe('composer', () => {
  it.each([
    ['installed.json v1 (array)', () => parseInstalledJson(file('/app/vendor/composer/installed.json', JSON.stringify([MONOLOG, CONSOLE, BRANCH]))), EXPECTED, 1],
    [
      'installed.json v2 ({packages})',
      () => parseInstalledJson(file('/app/vendor/composer/installed.json', JSON.stringify({ packages: [MONOLOG, CONSOLE], dev: true, 'dev-package-names': [] }))),
      EXPECTED,
      0,
    ],
    [
      'composer.lock packages + packages-dev',
      () =>
        parseComposerLock(
          file('/app/composer.lock', JSON.stringify({ 'content-hash': 'e3b0c442', packages: [MONOLOG, CONSOLE], 'packages-dev': [PHPUNIT] })),
        ),
      [...EXPECTED, 'phpunit/phpunit@9.6.7 pkg:composer/phpunit/phpunit@9.6.7 BSD-3-Clause'],
      0,
    ],
  ])('%s', (_label, run, expected, skipped) => {
    const out = run();
    expect(summary(out.packages)).toEqual(expected);
    expect(out.skipped).toBe(skipped);
  });

  it('rejects an installed.json of another shape', () => {
    expect(() => parseInstalledJson(file('/app/vendor/composer/installed.json', '{"foo":1}'))).toThrow('is not a Composer installed.json');
  });

  it.each<[Cataloger, string, boolean]>([
    [composerInstalledCataloger, '/var/www/vendor/composer/installed.json', true],
    [composerInstalledCataloger, '/var/www/installed.json', false],
    [composerLockCataloger, '/var/www/composer.lock', true],
    [composerLockCataloger, '/var/www/vendor/acme/x/composer.lock', false],
  ])('%#: $0.id %s → %s', (cataloger, path, expected) => {
    expect(cataloger.matches(path, { size: 10, mode: 0o644 })).toBe(expected);
  });
});
