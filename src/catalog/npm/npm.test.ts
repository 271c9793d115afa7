import { describe, expect, it } from 'vitest';
import type { CatalogFile, Cataloger } from '../types.js';
import { isInstalledManifest, parseInstalledManifest } from './installed.js';
import { parsePackageLock } from './package-lock.js';
import { parsePnpmLock } from './pnpm-lock.js';
import { parseYarnLock } from './yarn-lock.js';
import { npmInstalledCataloger, npmLockfileCataloger, pnpmLockCataloger, yarnLockCataloger } from './index.js';

const LAYER = 'sha256:d67930f6463d';

function file(path: string, text: string): CatalogFile {
  const bytes = Buffer.from(text, 'utf8');
  return { path, layer: LAYER, bytes, size: bytes.length, mode: 0o644 };
}

/** name@version purl per package, the form the assertions compare. */
function summary(packages: { name: string; version: string; purl: string }[]): string[] {
  return packages.map((p) => `${p.name}@${p.version} ${p.purl}`);
}

describe('isInstalledManifest', () => {
  it.each([
    ['/app/node_modules/express/package.json', true],
    ['/app/node_modules/@babel/code-frame/package.json', true],
    ['/app/node_modules/@babel/highlight/node_modules/chalk/package.json', true],
    ['/app/package.json', false],
    ['/app/node_modules/core-js/modules/package.json', false],
    ['/app/node_modules/resolve/test/resolver/baz/package.json', false],
    ['/app/node_modules/@babel/package.json', false],
    ['/app/node_modules/.package-lock.json', false],
    ['/app/node_modules/.bin/package.json', false],
    ['/app/node_modules/@scope/name/lib/package.json', false],
  ])('%s → %s', (path, expected) => {
    expect(isInstalledManifest(path)).toBe(expected);
    const cataloger: Cataloger = npmInstalledCataloger;
    expect(cataloger.matches(path, { size: 10, mode: 0o644 })).toBe(expected);
  });
});

describe('parseInstalledManifest', () => {
  it.each([
    [
      'scoped, SPDX license',
      '{"name":"@babel/code-frame","version":"7.12.11","license":"MIT","main":"lib/index.js"}',
      { name: '@babel/code-frame', version: '7.12.11', purl: 'pkg:npm/%40babel/code-frame@7.12.11', licenses: ['MIT'] },
    ],
    [
      'legacy license object',
      '{"name":"wordwrap","version":"0.0.3","license":{"type":"MIT","url":"x"}}',
      { name: 'wordwrap', version: '0.0.3', purl: 'pkg:npm/wordwrap@0.0.3', licenses: ['MIT'] },
    ],
    [
      'legacy licenses array',
      '{"name":"optimist","version":"0.6.1","licenses":[{"type":"MIT/X11"}]}',
      { name: 'optimist', version: '0.6.1', purl: 'pkg:npm/optimist@0.6.1', licenses: ['MIT/X11'] },
    ],
  ])('%s', (_label, text, expected) => {
    const out = parseInstalledManifest(file('/app/node_modules/x/package.json', text));
    expect(out.skipped).toBe(0);
    expect(out.packages).toEqual([{ type: 'npm', ...expected, locations: [{ path: '/app/node_modules/x/package.json', layer: LAYER }] }]);
  });

  it.each([
    ['no version', '{"name":"x"}'],
    ['no name', '{"version":"1.0.0"}'],
    ['range instead of version', '{"name":"x","version":"^1.0.0"}'],
    ['not an object', '[1,2]'],
  ])('skips and counts a manifest with %s', (_label, text) => {
    expect(parseInstalledManifest(file('/app/node_modules/x/package.json', text))).toEqual({ packages: [], skipped: 1 });
  });

  it('throws a BAD_INPUT AppError on invalid JSON', () => {
    expect(() => parseInstalledManifest(file('/app/node_modules/x/package.json', '{"name":'))).toThrow(
      '/app/node_modules/x/package.json is not valid JSON',
    );
  });
});

const LOCK_V3 = `{
  "name": "mixed-app",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": { "name": "mixed-app", "version": "1.0.0", "dependencies": { "express": "4.17.1" } },
    "node_modules/@babel/code-frame": {
      "version": "7.12.11",
      "resolved": "https://registry.npmjs.org/@babel/code-frame/-/code-frame-7.12.11.tgz",
      "integrity": "sha512-Zt1yodBx1UcyiePMSkWnU4hPqhwq7hGi2nFL1LeA3EUl+q2LQx16MISgJ0+z7dnmgvP9QtIleuETGOiOH1RcIw==",
      "license": "MIT",
      "peer": true
    },
    "node_modules/@babel/highlight/node_modules/chalk": { "version": "2.4.2", "license": "MIT", "peer": true },
    "node_modules/string-width-cjs": { "name": "string-width", "version": "4.2.3", "license": "MIT" },
    "node_modules/jest": { "version": "29.7.0", "dev": true },
    "node_modules/my-lib": { "resolved": "packages/my-lib", "link": true },
    "packages/my-lib": { "name": "my-lib", "version": "0.1.0" },
    "node_modules/from-git": { "version": "git+ssh://git@github.com/a/b.git#0123456789abcdef" }
  }
}`;

const LOCK_V1 = `{
  "name": "old-app",
  "version": "1.0.0",
  "lockfileVersion": 1,
  "requires": true,
  "dependencies": {
    "debug": {
      "version": "2.6.9",
      "resolved": "https://registry.npmjs.org/debug/-/debug-2.6.9.tgz",
      "requires": { "ms": "2.0.0" },
      "dependencies": { "ms": { "version": "2.0.0" } }
    },
    "@types/node": { "version": "14.14.31", "dev": true },
    "lodash4": { "version": "npm:lodash@4.17.21" },
    "local": { "version": "file:../local" }
  }
}`;

describe('parsePackageLock', () => {
  it.each([
    [
      'v3 packages map',
      LOCK_V3,
      [
        '@babel/code-frame@7.12.11 pkg:npm/%40babel/code-frame@7.12.11',
        'chalk@2.4.2 pkg:npm/chalk@2.4.2',
        'string-width@4.2.3 pkg:npm/string-width@4.2.3',
      ],
      1,
    ],
    ['v1 nested dependencies', LOCK_V1, ['ms@2.0.0 pkg:npm/ms@2.0.0', 'debug@2.6.9 pkg:npm/debug@2.6.9', 'lodash@4.17.21 pkg:npm/lodash@4.17.21'], 1],
  ])('%s', (_label, text, expected, skipped) => {
    const out = parsePackageLock(file('/app/package-lock.json', text));
    expect(summary(out.packages)).toEqual(expected);
    expect(out.skipped).toBe(skipped);
    expect(out.packages[0]?.locations).toEqual([{ path: '/app/package-lock.json', layer: LAYER }]);
  });

  it('reads v2 from packages and ignores the duplicated v1 section', () => {
    const v2 = `{"lockfileVersion":2,"packages":{"":{"name":"a"},"node_modules/ms":{"version":"2.1.3"}},"dependencies":{"ms":{"version":"2.1.3"}}}`;
    expect(summary(parsePackageLock(file('/app/package-lock.json', v2)).packages)).toEqual(['ms@2.1.3 pkg:npm/ms@2.1.3']);
  });

  it('rejects a file that is not a lockfile', () => {
    expect(() => parsePackageLock(file('/app/package-lock.json', '{"packages":[1]}'))).toThrow('is not an npm lockfile');
  });
});

const YARN_V1 = `# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":
  version "7.12.11"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.12.11.tgz#f4ad435aa263db935b8f10f2c552d23fb716a63f"
  integrity sha512-Zt1yodBx1UcyiePMSkWnU4hPqhwq7hGi2nFL1LeA3EUl+q2LQx16MISgJ0+z7dnmgvP9QtIleuETGOiOH1RcIw==
  dependencies:
    "@babel/highlight" "^7.10.4"

lodash@^4.17.15, lodash@^4.17.19:
  version "4.17.21"
  resolved "https://registry.yarnpkg.com/lodash/-/lodash-4.17.21.tgz#679591c564c3bffaae8454cf0b3df370c3d6911c"

"string-width-cjs@npm:string-width@^4.2.0":
  version "4.2.3"
  resolved "https://registry.yarnpkg.com/string-width/-/string-width-4.2.3.tgz"
`;

const YARN_BERRY = `# This file is generated by running "yarn install" inside your project.
# Manual changes might be lost - proceed with caution!

__metadata:
  version: 8
  cacheKey: 10c0

"@babel/code-frame@npm:^7.0.0, @babel/code-frame@npm:^7.10.4":
  version: 7.12.11
  resolution: "@babel/code-frame@npm:7.12.11"
  dependencies:
    "@babel/highlight": "npm:^7.10.4"
  checksum: 10c0/836ffd155506768e991d6dd8c51db37cad5958ed1c8e0a2329ccd9527165d5c752e943d66a5c3c92ffd45f343419f0742e7636629a529f4fbd5303e3637746b9
  languageName: node
  linkType: hard

"mixed-app@workspace:.":
  version: 0.0.0-use.local
  resolution: "mixed-app@workspace:."
  languageName: unknown
  linkType: soft

"resolve@patch:resolve@npm%3A^1.20.0#optional!builtin<compat/resolve>":
  version: 1.22.8
  resolution: "resolve@patch:resolve@npm%3A1.22.8#optional!builtin<compat/resolve>::version=1.22.8&hash=c3c19d"
  languageName: node
  linkType: hard

"string-width-cjs@npm:string-width@^4.2.0":
  version: 4.2.3
  resolution: "string-width@npm:4.2.3"
  languageName: node
  linkType: hard

"left-pad@https://github.com/stevemao/left-pad.git#commit=5d2b1a3":
  version: 1.3.0
  resolution: "left-pad@https://github.com/stevemao/left-pad.git#commit=5d2b1a3"
  languageName: node
  linkType: hard
`;

describe('parseYarnLock', () => {
  it.each([
    [
      'v1',
      YARN_V1,
      [
        '@babel/code-frame@7.12.11 pkg:npm/%40babel/code-frame@7.12.11',
        'lodash@4.17.21 pkg:npm/lodash@4.17.21',
        'string-width@4.2.3 pkg:npm/string-width@4.2.3',
      ],
      0,
    ],
    ['berry', YARN_BERRY, ['@babel/code-frame@7.12.11 pkg:npm/%40babel/code-frame@7.12.11', 'string-width@4.2.3 pkg:npm/string-width@4.2.3'], 1],
  ])('%s', (_label, text, expected, skipped) => {
    const out = parseYarnLock(file('/app/yarn.lock', text));
    expect(summary(out.packages)).toEqual(expected);
    expect(out.skipped).toBe(skipped);
  });
});

const PNPM_V5 = `lockfileVersion: 5.4

specifiers:
  express: 4.17.1

dependencies:
  express: 4.17.1

packages:

  /@babel/code-frame/7.12.11:
    resolution: {integrity: sha512-Zt1yodBx1UcyiePMSkWnU4hPqhwq7hGi2nFL1LeA3EUl+q2LQx16MISgJ0+z7dnmgvP9QtIleuETGOiOH1RcIw==}
    dev: false

  /ajv-keywords/3.5.2_ajv@6.12.6:
    resolution: {integrity: sha512-5p6WTN0DdTGVQk6VjcEju19IgaHudalcfabD7yhDGeA6bcQnmL+CpveLJq/3hvfwd1aof6L386Ougkx6RfyMIQ==}
    peerDependencies:
      ajv: ^6.9.1
    dev: false

  /typescript/4.9.5:
    resolution: {integrity: sha512-1FXk9E2Hm+QzZQ7z+McJiHL4NW1F2EzMu9Nq9i3zAaGqibafqYwCVU6WyWAuyQRRzOlxou8xZSyXLEN8oKj24g==}
    engines: {node: '>=4.2.0'}
    hasBin: true
    dev: true
`;

const PNPM_V6 = `lockfileVersion: '6.0'

dependencies:
  express:
    specifier: 4.17.1
    version: 4.17.1

packages:

  /@babel/code-frame@7.12.11:
    resolution: {integrity: sha512-Zt1yodBx1UcyiePMSkWnU4hPqhwq7hGi2nFL1LeA3EUl+q2LQx16MISgJ0+z7dnmgvP9QtIleuETGOiOH1RcIw==}
    dev: false

  /ajv-keywords@3.5.2(ajv@6.12.6):
    resolution: {integrity: sha512-5p6WTN0DdTGVQk6VjcEju19IgaHudalcfabD7yhDGeA6bcQnmL+CpveLJq/3hvfwd1aof6L386Ougkx6RfyMIQ==}
    dev: false
`;

const PNPM_V9 = `lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      express:
        specifier: 4.17.1
        version: 4.17.1

packages:

  '@babel/code-frame@7.12.11':
    resolution: {integrity: sha512-Zt1yodBx1UcyiePMSkWnU4hPqhwq7hGi2nFL1LeA3EUl+q2LQx16MISgJ0+z7dnmgvP9QtIleuETGOiOH1RcIw==}

  ajv-keywords@3.5.2:
    resolution: {integrity: sha512-5p6WTN0DdTGVQk6VjcEju19IgaHudalcfabD7yhDGeA6bcQnmL+CpveLJq/3hvfwd1aof6L386Ougkx6RfyMIQ==}
    peerDependencies:
      ajv: ^6.9.1

  left-pad@https://codeload.github.com/stevemao/left-pad/tar.gz/5d2b1a3:
    resolution: {tarball: https://codeload.github.com/stevemao/left-pad/tar.gz/5d2b1a3}
    version: 1.3.0

snapshots:

  '@babel/code-frame@7.12.11': {}

  ajv-keywords@3.5.2(ajv@6.12.6):
    dependencies:
      ajv: 6.12.6
`;

describe('parsePnpmLock', () => {
  const expected = ['@babel/code-frame@7.12.11 pkg:npm/%40babel/code-frame@7.12.11', 'ajv-keywords@3.5.2 pkg:npm/ajv-keywords@3.5.2'];
  it.each([
    ['v5 (dev entry skipped)', PNPM_V5, 0],
    ['v6', PNPM_V6, 0],
    ['v9 (snapshots not repeated, tarball counted)', PNPM_V9, 1],
  ])('%s', (_label, text, skipped) => {
    const out = parsePnpmLock(file('/app/pnpm-lock.yaml', text));
    expect(summary(out.packages)).toEqual(expected);
    expect(out.skipped).toBe(skipped);
  });

  it('rejects a YAML file without lockfileVersion', () => {
    expect(() => parsePnpmLock(file('/app/pnpm-lock.yaml', 'packages:\n'))).toThrow('has no lockfileVersion');
  });
});

describe('lockfile catalogers match', () => {
  it.each<[Cataloger, string, boolean]>([
    [npmLockfileCataloger, '/app/package-lock.json', true],
    [npmLockfileCataloger, '/app/npm-shrinkwrap.json', true],
    [npmLockfileCataloger, '/app/node_modules/foo/package-lock.json', false],
    [yarnLockCataloger, '/srv/yarn.lock', true],
    [yarnLockCataloger, '/srv/node_modules/x/yarn.lock', false],
    [pnpmLockCataloger, '/srv/pnpm-lock.yaml', true],
    [pnpmLockCataloger, '/srv/pnpm-lock.yml', false],
  ])('%#: $0.id %s', (cataloger, path, expected) => {
    expect(cataloger.matches(path, { size: 100, mode: 0o644 })).toBe(expected);
  });
});
