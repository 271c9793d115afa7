import type { Cataloger } from '../types.js';
import { baseName, isInsideInstalledPackage } from '../generic.js';
import { parseTomlLock, parsePipfileLock } from './lockfiles.js';
import { parseMetadata } from './metadata.js';
import { parseRequirements } from './requirements.js';

/** True for installed-distribution metadata files. */
export function isDistributionMetadata(path: string): boolean {
  return (
    path.endsWith('.dist-info/METADATA') ||
    path.endsWith('.egg-info/PKG-INFO') ||
    path.endsWith('.egg-info') ||
    path.endsWith('.egg/EGG-INFO/PKG-INFO')
  );
}

/** requirements.txt, requirements-dev.txt, requirements/prod.txt style names. */
export function isRequirementsFile(path: string): boolean {
  const name = baseName(path);
  if (!name.endsWith('.txt')) return false;
  return name.startsWith('requirements') || name.endsWith('-requirements.txt') || path.includes('/requirements/');
}

/** Installed distributions: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, `*.egg-info` files. */
export const pythonInstalledCataloger = {
  id: 'python-installed',
  version: 1,
  matches: (path) => isDistributionMetadata(path),
  parse: (file) => ({ packages: parseMetadata(file).packages }),
} satisfies Cataloger;

export const pythonRequirementsCataloger = {
  id: 'python-requirements',
  version: 1,
  matches: (path) => isRequirementsFile(path) && !isInsideInstalledPackage(path),
  parse: (file) => ({ packages: parseRequirements(file).packages }),
} satisfies Cataloger;

/** poetry.lock, uv.lock and Pipfile.lock. */
export const pythonLockfileCataloger = {
  id: 'python-lockfile',
  version: 1,
  matches: (path) => {
    const name = baseName(path);
    return (name === 'poetry.lock' || name === 'uv.lock' || name === 'Pipfile.lock') && !isInsideInstalledPackage(path);
  },
  parse: (file) => {
    const name = baseName(file.path);
    if (name === 'Pipfile.lock') return { packages: parsePipfileLock(file).packages };
    return { packages: parseTomlLock(file, name === 'uv.lock' ? 'uv' : 'poetry').packages };
  },
} satisfies Cataloger;
