import type { Package } from '../../core/index.js';
import type { CatalogFile } from '../types.js';
import { locationOf, splitLines, type ParseOutcome } from '../generic.js';
import { gemPackage, isGemName, isGemVersion } from './common.js';

/** A spec line `    name (version)` or `    name (version-platform)` at four spaces. */
const SPEC = /^ {4}([^\s(]+) \(([^)\s]+)\)$/;

/**
 * Gemfile.lock: the `specs:` of the GEM (rubygems) and GIT sections. PATH specs are local gems (the
 * app itself or vendored code) and are not reported. A platform suffix (`1.13.10-x86_64-linux`) is
 * not part of the version.
 */
export function parseGemfileLock(file: CatalogFile): ParseOutcome {
  const location = locationOf(file);
  const packages: Package[] = [];
  let skipped = 0;
  let section = '';
  let inSpecs = false;
  for (const line of splitLines(file.bytes.toString('utf8'))) {
    if (line === '') continue;
    if (line[0] !== ' ') {
      section = line.trim();
      inSpecs = false;
      continue;
    }
    if (line === '  specs:') {
      inSpecs = true;
      continue;
    }
    if (!inSpecs || (section !== 'GEM' && section !== 'GIT') || line[4] === ' ') continue;
    const match = SPEC.exec(line);
    const name = match?.[1] ?? '';
    const version = (match?.[2] ?? '').split('-')[0] ?? '';
    if (!isGemName(name) || !isGemVersion(version)) {
      skipped++;
      continue;
    }
    packages.push(gemPackage(name, version, location));
  }
  return { packages, skipped };
}
