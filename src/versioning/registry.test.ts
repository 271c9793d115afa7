import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LANGUAGE_NAMESPACE } from '../core/index.js';
import { SCHEMES, schemeForNamespace } from './registry.js';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('SCHEMES', () => {
  it('lists exactly the folders under src/versioning that have an index.ts', () => {
    const folders = readdirSync(here, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(path.join(here, d.name, 'index.ts')))
      .map((d) => d.name)
      .sort();
    expect(Object.keys(SCHEMES).sort()).toEqual(folders);
  });

  it.each(Object.entries(SCHEMES))('%s declares its own id', (id, scheme) => {
    expect(scheme.id).toBe(id);
  });

  it.each(Object.values(SCHEMES).map((s) => [s.id, s] as const))('%s compare never throws', (_id, scheme) => {
    const odd = ['', ' ', 'v', '-', '.', '~', '^', ':', '1:', 'abc', '1..2', '1.2.3-', '+', '_', '#', '999999999999999999999999.1', 'dev-master'];
    for (const a of odd) {
      for (const b of [...odd, '1.0.0']) {
        const x = scheme.compare(a, b);
        const y = scheme.compare(b, a);
        expect(Number.isFinite(x)).toBe(true);
        expect(Math.sign(x)).toBe(-Math.sign(y) || 0);
      }
    }
  });
});

describe('isValid', () => {
  it.each([
    ['dpkg', '1:2.39.2-1.1', true],
    ['dpkg', '7.88.1-10+deb12u5', true],
    ['dpkg', 'abc', false],
    ['rpm', '1:3.0.7-18.el9_2', true],
    ['rpm', '3.0.7 18', false],
    ['apk', '1.36.1-r29', true],
    ['apk', '1.2.3_rc1-r0', true],
    ['apk', '1.0bc', false],
    ['semver', 'v1.2.3', true],
    ['semver', '1.2', false],
    ['go', 'v0.0.0-20220715151400-c0bba94af5f8', true],
    ['go', 'v2.0.0+incompatible', true],
    ['go', 'go1.21rc2', true],
    ['go', 'v01.2.3', false],
    ['pep440', '2.0.0rc1', true],
    ['pep440', '1.0-foo-bar', false],
    ['maven', '2.15.0-rc1', true],
    ['maven', '', false],
    ['rubygems', '7.0.4.rc1', true],
    ['rubygems', '1..2', false],
    ['nuget', '4.3.0.1', true],
    ['nuget', '1.2.3.4.5', false],
    ['composer', 'v5.4.21', true],
    ['composer', '6.0.0-RC1', true],
    ['composer', 'not a version', false],
    ['pub', '2.0.0-nullsafety.0', true],
    ['pub', '1.0', false],
    ['cran', '1.4-10', true],
    ['cran', '1', false],
    ['hackage', '0.1.0.0', true],
    ['hackage', '1.0-2', false],
  ] as const)('%s isValid(%s) = %s', (id, version, valid) => {
    expect(SCHEMES[id].isValid(version)).toBe(valid);
  });
});

describe('schemeForNamespace', () => {
  it.each([
    ['npm', 'semver'],
    ['crates.io', 'semver'],
    ['hex', 'semver'],
    ['go', 'go'],
    ['pypi', 'pep440'],
    ['maven', 'maven'],
    ['rubygems', 'rubygems'],
    ['nuget', 'nuget'],
    ['packagist', 'composer'],
    ['pub', 'pub'],
    ['debian:12', 'dpkg'],
    ['ubuntu:22.04', 'dpkg'],
    ['alpine:3.19', 'apk'],
    ['wolfi', 'apk'],
    ['chainguard', 'apk'],
    ['rhel:9', 'rpm'],
    ['centos:7', 'rpm'],
    ['rocky:9', 'rpm'],
    ['almalinux:8', 'rpm'],
    ['ol:9', 'rpm'],
    ['amzn:2023', 'rpm'],
    ['fedora:40', 'rpm'],
    ['sles:15.5', 'rpm'],
    ['opensuse-leap:15.5', 'rpm'],
    ['opensuse-tumbleweed', 'rpm'],
    ['mariner:2.0', 'rpm'],
    ['azurelinux:3.0', 'rpm'],
  ])('%s → %s', (namespace, id) => {
    expect(schemeForNamespace(namespace)?.id).toBe(id);
  });

  it.each(['', 'arch', 'gentoo:2.14', 'cran', 'hackage', 'debian:', 'toString', 'constructor'])('%s → undefined', (namespace) => {
    expect(schemeForNamespace(namespace)).toBeUndefined();
  });

  it.each(Object.values(LANGUAGE_NAMESPACE))('language namespace %s has a scheme', (namespace) => {
    expect(schemeForNamespace(namespace)).toBeDefined();
  });
});
