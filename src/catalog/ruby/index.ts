import type { Cataloger } from '../types.js';
import { baseName, isInsideInstalledPackage } from '../generic.js';
import { parseGemfileLock } from './gemfile-lock.js';
import { parseGemspec } from './gemspec.js';

/** Installed gems: `…/specifications/*.gemspec` and `…/specifications/default/*.gemspec`. */
export const gemspecCataloger = {
  id: 'ruby-gemspec',
  version: 1,
  matches: (path) => path.endsWith('.gemspec') && path.includes('/specifications/'),
  parse: (file) => ({ packages: parseGemspec(file).packages }),
} satisfies Cataloger;

export const gemfileLockCataloger = {
  id: 'ruby-gemfile-lock',
  version: 1,
  matches: (path) => {
    const name = baseName(path);
    return (name === 'Gemfile.lock' || name === 'gems.locked') && !isInsideInstalledPackage(path);
  },
  parse: (file) => ({ packages: parseGemfileLock(file).packages }),
} satisfies Cataloger;
