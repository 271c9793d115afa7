import type { Package, PackageLocation } from '../../core/index.js';
import { languagePackage } from '../generic.js';
import { buildPurl } from '../purl.js';

/** PEP 503 normalised name: lower case, runs of `-`, `_`, `.` become one `-`. */
export function normalizePythonName(name: string): string {
  return name.trim().toLowerCase().replace(/[-_.]+/g, '-');
}

/** A distribution name PEP 508 accepts. */
const PYTHON_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;

export function isPythonName(name: string): boolean {
  return PYTHON_NAME.test(name);
}

/** A plausible version: starts with a digit (or `v`/epoch), no spaces, no wildcards. */
const PYTHON_VERSION = /^[vV]?(\d+!)?\d+[0-9A-Za-z.+_-]*$/;

export function isPythonVersion(version: string): boolean {
  return PYTHON_VERSION.test(version);
}

/**
 * The package is named by its normalised name (`PyYAML` → `pyyaml`), the form advisories and the
 * matcher use; the purl is built from the same name.
 */
export function pythonPackage(
  name: string,
  version: string,
  location: PackageLocation,
  licenses?: readonly string[],
): Package {
  const normalized = normalizePythonName(name);
  const purl = buildPurl({ type: 'pypi', name: normalized, version });
  return languagePackage({ type: 'pypi', name: normalized, version, purl, licenses }, location);
}
