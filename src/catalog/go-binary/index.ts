import type { Cataloger } from '../types.js';
import { parseGoBinary } from './packages.js';

/** Largest executable read for build info. */
export const MAX_GO_BINARY_BYTES = 256 * 1024 * 1024;

/** Executables (any x bit) built by Go with module support: main module, deps, stdlib. */
export const goBinaryCataloger = {
  id: 'go-binary',
  version: 1,
  matches: (_path, info) => (info.mode & 0o111) !== 0 && info.size > 0 && info.size < MAX_GO_BINARY_BYTES,
  parse: (file) => ({ packages: parseGoBinary(file).packages }),
} satisfies Cataloger;
