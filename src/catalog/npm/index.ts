import type { Cataloger } from '../types.js';
import { baseName, isInsideInstalledPackage } from '../generic.js';
import { isInstalledManifest, parseInstalledManifest } from './installed.js';
import { parsePackageLock } from './package-lock.js';
import { parsePnpmLock } from './pnpm-lock.js';
import { parseYarnLock } from './yarn-lock.js';

/** Installed packages: `node_modules/<name>/package.json`. The app's own package.json is not reported. */
export const npmInstalledCataloger = {
  id: 'npm-installed',
  version: 1,
  matches: (path) => isInstalledManifest(path),
  parse: (file) => ({ packages: parseInstalledManifest(file).packages }),
} satisfies Cataloger;

/** package-lock.json and npm-shrinkwrap.json (v1–v3); packages are located at the lockfile. */
export const npmLockfileCataloger = {
  id: 'npm-lockfile',
  version: 1,
  matches: (path) =>
    (path.endsWith('/package-lock.json') || path.endsWith('/npm-shrinkwrap.json')) && !isInsideInstalledPackage(path),
  parse: (file) => ({ packages: parsePackageLock(file).packages }),
} satisfies Cataloger;

export const yarnLockCataloger = {
  id: 'yarn-lockfile',
  version: 1,
  matches: (path) => baseName(path) === 'yarn.lock' && !isInsideInstalledPackage(path),
  parse: (file) => ({ packages: parseYarnLock(file).packages }),
} satisfies Cataloger;

export const pnpmLockCataloger = {
  id: 'pnpm-lockfile',
  version: 1,
  matches: (path) => baseName(path) === 'pnpm-lock.yaml' && !isInsideInstalledPackage(path),
  parse: (file) => ({ packages: parsePnpmLock(file).packages }),
} satisfies Cataloger;
