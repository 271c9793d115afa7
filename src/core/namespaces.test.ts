import { describe, expect, it } from 'vitest';
import { distroNamespace, packageNamespace } from './namespaces.js';

describe('distroNamespace', () => {
  it.each([
    [{ id: 'debian', versionId: '12' }, 'debian:12'],
    [{ id: 'debian', versionId: '12.5' }, 'debian:12'],
    [{ id: 'ubuntu', versionId: '22.04' }, 'ubuntu:22.04'],
    [{ id: 'alpine', versionId: '3.19.1' }, 'alpine:3.19'],
    [{ id: 'rhel', versionId: '9.4' }, 'rhel:9'],
    [{ id: 'centos', versionId: '7' }, 'rhel:7'],
    [{ id: 'rocky', versionId: '9.3' }, 'rocky:9'],
    [{ id: 'almalinux', versionId: '8.10' }, 'almalinux:8'],
    [{ id: 'amzn', versionId: '2023' }, 'amzn:2023'],
    [{ id: 'amzn', versionId: '2' }, 'amzn:2'],
    [{ id: 'amzn', versionId: '2018.03' }, 'amzn:1'],
    [{ id: 'sles', versionId: '15.5' }, 'sles:15.5'],
    [{ id: 'opensuse-tumbleweed', versionId: '20240101' }, 'opensuse-tumbleweed'],
    [{ id: 'wolfi', versionId: '20230201' }, 'wolfi'],
  ])('%o → %s', (distro, expected) => {
    expect(distroNamespace(distro)).toBe(expected);
  });
});

describe('packageNamespace', () => {
  it('maps language package types to their advisory ecosystems', () => {
    expect(packageNamespace({ type: 'golang' })).toBe('go');
    expect(packageNamespace({ type: 'cargo' })).toBe('crates.io');
    expect(packageNamespace({ type: 'composer' })).toBe('packagist');
  });
  it('has no namespace for an OS package without a distro', () => {
    expect(packageNamespace({ type: 'deb' })).toBeUndefined();
  });
});
