import type { Distro, Package, PackageType } from './types.js';

/**
 * Advisory namespaces: the key under which the advisory DB files an affected package and under
 * which the matcher looks a package up. Importers and the matcher both call these functions, so the
 * two sides always agree.
 *
 * Language ecosystems: 'npm', 'pypi', 'maven', 'go', 'crates.io', 'rubygems', 'nuget', 'packagist',
 * 'pub', 'hex'.
 * Distributions: '<id>:<release>' with the release cut to what the distro's advisories key on:
 * 'debian:12', 'ubuntu:22.04', 'alpine:3.19', 'rhel:9', 'rocky:9', 'almalinux:9', 'amzn:2023',
 * 'amzn:2', 'amzn:1', 'sles:15.5', 'opensuse-leap:15.5', 'opensuse-tumbleweed', 'fedora:40',
 * 'ol:9', 'wolfi', 'chainguard'.
 */
export const LANGUAGE_NAMESPACE: Record<Exclude<PackageType, 'deb' | 'apk' | 'rpm'>, string> = {
  npm: 'npm',
  pypi: 'pypi',
  maven: 'maven',
  golang: 'go',
  cargo: 'crates.io',
  gem: 'rubygems',
  nuget: 'nuget',
  composer: 'packagist',
  pub: 'pub',
  hex: 'hex',
};

/** Distro ids that share another's advisories (CentOS is judged by Red Hat's data). */
const DISTRO_ALIAS: Record<string, string> = {
  centos: 'rhel',
  redhat: 'rhel',
  'sle-micro': 'sles',
  sled: 'sles',
  amazon: 'amzn',
};

function major(versionId: string): string {
  return versionId.split('.')[0] ?? versionId;
}

function majorMinor(versionId: string): string {
  return versionId.split('.').slice(0, 2).join('.');
}

/** The namespace of a distro release, or undefined for an unknown distro. */
export function distroNamespace(distro: Distro): string {
  const id = DISTRO_ALIAS[distro.id] ?? distro.id;
  const v = distro.versionId.replace(/^v/, '');
  switch (id) {
    case 'debian':
    case 'rhel':
    case 'rocky':
    case 'almalinux':
    case 'ol':
    case 'fedora':
      return `${id}:${major(v)}`;
    case 'alpine':
    case 'ubuntu':
    case 'sles':
    case 'opensuse-leap':
      return `${id}:${majorMinor(v)}`;
    case 'amzn':
      // Amazon Linux 1 reports VERSION_ID like "2018.03".
      return `amzn:${/^20[01]\d\./.test(v) ? '1' : major(v)}`;
    case 'opensuse-tumbleweed':
    case 'wolfi':
    case 'chainguard':
      return id;
    default:
      return v ? `${id}:${v}` : id;
  }
}

/** The namespace a package is looked up in. OS packages need their distro. */
export function packageNamespace(pkg: Pick<Package, 'type' | 'distro'>): string | undefined {
  if (pkg.type === 'deb' || pkg.type === 'apk' || pkg.type === 'rpm') {
    return pkg.distro ? distroNamespace(pkg.distro) : undefined;
  }
  return LANGUAGE_NAMESPACE[pkg.type];
}
