import type { Cataloger } from '../types.js';
import { parseDepsJson } from './deps-json.js';

/** .NET applications: `*.deps.json` next to the app's assemblies. */
export const dotnetDepsCataloger = {
  id: 'dotnet-deps-json',
  version: 1,
  matches: (path) => path.endsWith('.deps.json'),
  parse: (file) => ({ packages: parseDepsJson(file).packages }),
} satisfies Cataloger;
