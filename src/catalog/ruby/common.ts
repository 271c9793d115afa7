import type { Package, PackageLocation } from '../../core/index.js';
import { languagePackage } from '../generic.js';
import { buildPurl } from '../purl.js';

const GEM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const GEM_VERSION = /^\d+(?:\.[0-9A-Za-z]+)*$/;

export function isGemName(name: string): boolean {
  return GEM_NAME.test(name);
}

export function isGemVersion(version: string): boolean {
  return GEM_VERSION.test(version);
}

export function gemPackage(name: string, version: string, location: PackageLocation, licenses?: readonly string[]): Package {
  const purl = buildPurl({ type: 'gem', name, version });
  return languagePackage({ type: 'gem', name, version, purl, licenses }, location);
}
