import type { Cataloger } from '../types.js';
import { baseName, isInsideInstalledPackage } from '../generic.js';
import { parseComposerLock, parseInstalledJson } from './composer.js';

/** Installed Composer packages: `vendor/composer/installed.json`. */
export const composerInstalledCataloger = {
  id: 'php-composer-installed',
  version: 1,
  matches: (path) => path.endsWith('/vendor/composer/installed.json'),
  parse: (file) => ({ packages: parseInstalledJson(file).packages }),
} satisfies Cataloger;

export const composerLockCataloger = {
  id: 'php-composer-lock',
  version: 1,
  matches: (path) => baseName(path) === 'composer.lock' && !isInsideInstalledPackage(path),
  parse: (file) => ({ packages: parseComposerLock(file).packages }),
} satisfies Cataloger;
