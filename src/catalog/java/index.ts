import type { Cataloger } from '../types.js';
import { isJavaArchive, parseJavaArchive } from './archive.js';

/** Java archives by extension (jar, war, ear, par, jpi, hpi), nested archives included. */
export const javaArchiveCataloger = {
  id: 'java-archive',
  version: 1,
  matches: (path, info) => info.size > 0 && isJavaArchive(path),
  parse: async (file) => ({ packages: (await parseJavaArchive(file)).packages }),
} satisfies Cataloger;
