import type { Package } from '../../core/index.js';
import type { CatalogFile } from '../types.js';
import { locationOf, splitLines, type ParseOutcome } from '../generic.js';
import { isNpmName, isNpmVersion, npmPackage } from './common.js';

interface YarnEntry {
  key: string;
  fields: Map<string, string>;
}

function unquote(value: string): string {
  const v = value.trim();
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/** Splits a yarn.lock into top-level entries with their direct (two-space) scalar fields. */
function entries(text: string): YarnEntry[] {
  const out: YarnEntry[] = [];
  let current: YarnEntry | undefined;
  for (const line of splitLines(text)) {
    if (line === '' || line.startsWith('#')) continue;
    if (line[0] !== ' ') {
      current = line.endsWith(':') ? { key: line.slice(0, -1), fields: new Map() } : undefined;
      if (current) out.push(current);
      continue;
    }
    if (!current || !line.startsWith('  ') || line[2] === ' ') continue;
    const body = line.slice(2);
    // berry: `version: 1.2.3`; v1: `version "1.2.3"`
    const colon = body.indexOf(': ');
    const space = body.indexOf(' ');
    if (colon > 0 && (space < 0 || colon < space)) current.fields.set(unquote(body.slice(0, colon)), unquote(body.slice(colon + 2)));
    else if (space > 0) current.fields.set(body.slice(0, space), unquote(body.slice(space + 1)));
  }
  return out;
}

/** `"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4"` → the package name of the first spec. */
function nameOfV1Key(key: string): string {
  const first = unquote(key.split(',')[0] ?? '');
  const at = first.indexOf('@', 1);
  if (at < 0) return first;
  const range = first.slice(at + 1);
  if (range.startsWith('npm:')) {
    // aliased: "string-width-cjs@npm:string-width@^4.2.0"
    const spec = range.slice(4);
    const specAt = spec.indexOf('@', 1);
    return specAt < 0 ? spec : spec.slice(0, specAt);
  }
  return first.slice(0, at);
}

/**
 * yarn.lock, both the classic v1 format and berry (v2+, YAML with `__metadata`). Berry entries are
 * named by their `resolution`; only `npm:` resolutions are reported (workspace and patch entries are
 * the app itself or a patched copy of an npm entry that is listed anyway; git/file/link ones are
 * skipped and counted).
 */
export function parseYarnLock(file: CatalogFile): ParseOutcome {
  const location = locationOf(file);
  const list = entries(file.bytes.toString('utf8'));
  const berry = list.some((e) => e.key === '__metadata');
  const packages: Package[] = [];
  let skipped = 0;
  for (const entry of list) {
    if (entry.key === '__metadata') continue;
    let name: string;
    let version = entry.fields.get('version') ?? '';
    if (berry) {
      const resolution = entry.fields.get('resolution') ?? '';
      if (resolution.includes('@workspace:') || resolution.includes('@patch:')) continue;
      const at = resolution.lastIndexOf('@npm:');
      if (at <= 0) {
        skipped++;
        continue;
      }
      name = resolution.slice(0, at);
      version = resolution.slice(at + '@npm:'.length);
    } else {
      name = nameOfV1Key(entry.key);
    }
    if (!isNpmName(name) || !isNpmVersion(version)) {
      skipped++;
      continue;
    }
    packages.push(npmPackage(name, version, location));
  }
  return { packages, skipped };
}
