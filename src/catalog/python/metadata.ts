import type { CatalogFile } from '../types.js';
import { locationOf, splitLines, type ParseOutcome } from '../generic.js';
import { isPythonName, isPythonVersion, pythonPackage } from './common.js';

/** Core-metadata header fields (RFC 822 style, continuation lines start with whitespace). */
export function readMetadataHeaders(text: string): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  let lastKey: string | undefined;
  for (const line of splitLines(text)) {
    if (line === '') break; // the description body follows the first blank line
    if ((line[0] === ' ' || line[0] === '\t') && lastKey !== undefined) {
      const values = headers.get(lastKey);
      if (values && values.length > 0) values[values.length - 1] += `\n${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    lastKey = line.slice(0, colon).trim().toLowerCase();
    const values = headers.get(lastKey) ?? [];
    values.push(line.slice(colon + 1).trim());
    headers.set(lastKey, values);
  }
  return headers;
}

/**
 * Licenses of a distribution: `License-Expression` (PEP 639) if present, else a short one-line
 * `License`, else the names of `License ::` classifiers.
 */
function licensesOf(headers: Map<string, string[]>): string[] {
  const expression = headers.get('license-expression')?.[0];
  if (expression) return [expression];
  const license = headers.get('license')?.[0];
  if (license && license.length <= 100 && !license.includes('\n') && license.toUpperCase() !== 'UNKNOWN') return [license];
  return (headers.get('classifier') ?? [])
    .filter((c) => c.startsWith('License ::'))
    .map((c) => c.split('::').pop()?.trim() ?? '')
    .filter((c) => c !== '' && c !== 'OSI Approved');
}

/** `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, an `*.egg-info` file, `EGG-INFO/PKG-INFO`. */
export function parseMetadata(file: CatalogFile): ParseOutcome {
  const headers = readMetadataHeaders(file.bytes.toString('utf8'));
  const name = headers.get('name')?.[0] ?? '';
  const version = headers.get('version')?.[0] ?? '';
  if (!isPythonName(name) || !isPythonVersion(version)) return { packages: [], skipped: 1 };
  return { packages: [pythonPackage(name, version, locationOf(file), licensesOf(headers))], skipped: 0 };
}
