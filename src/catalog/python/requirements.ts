import type { Package } from '../../core/index.js';
import type { CatalogFile } from '../types.js';
import { locationOf, splitLines, type ParseOutcome } from '../generic.js';
import { isPythonName, isPythonVersion, pythonPackage } from './common.js';

/** `name[extra1,extra2] == 1.2.3 ; markers` → name and pinned version. */
const PINNED = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*===?\s*([^\s;,]+)\s*(?:;.*)?$/;

/**
 * requirements.txt: only exactly pinned requirements (`==` / `===`) name an installed version; ranges,
 * URLs, editable installs and options (`-r`, `-c`, `--hash`, `--index-url`) are not packages. Lines
 * that look like requirements but are not pinned are skipped and counted.
 */
export function parseRequirements(file: CatalogFile): ParseOutcome {
  const location = locationOf(file);
  const packages: Package[] = [];
  let skipped = 0;
  let pending = '';
  for (const raw of splitLines(file.bytes.toString('utf8'))) {
    let line = pending + raw;
    pending = '';
    if (line.endsWith('\\')) {
      pending = line.slice(0, -1) + ' ';
      continue;
    }
    const hash = line.search(/(^|\s)#/);
    if (hash >= 0) line = line.slice(0, hash);
    // per-requirement options (`--hash=…`) follow the requirement
    const option = line.search(/\s--?[a-z]/);
    if (option >= 0) line = line.slice(0, option);
    line = line.trim();
    if (line === '' || line.startsWith('-')) continue;
    const match = PINNED.exec(line);
    const name = match?.[1] ?? '';
    const version = match?.[2] ?? '';
    if (!isPythonName(name) || !isPythonVersion(version) || version.includes('*')) {
      skipped++;
      continue;
    }
    packages.push(pythonPackage(name, version, location));
  }
  return { packages, skipped };
}
