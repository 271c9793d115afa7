import { posix } from 'node:path';
import { AppError, type Package } from '../../core/index.js';
import { buildPurl } from '../purl.js';
import type { CatalogFile, CatalogResult, Cataloger } from '../types.js';

/**
 * Alpine (and Wolfi / Chainguard) packages from apk's database `/lib/apk/db/installed`: one record per
 * package, records separated by blank lines, each line `X:value` with a one-letter key:
 * P name, V version, A arch, o origin (source package), L license, F folder (relative to /), R file in
 * the last F folder (both become `ownedFiles`). Other keys (t build time, c commit, m maintainer,
 * checksums, dependencies) are not needed.
 *
 * Purls use the namespace `alpine`; the scan pipeline replaces it with the distro id (wolfi,
 * chainguard) once the distro is known.
 */
export const MAX_APK_DB_BYTES = 64 * 1024 * 1024;

const INSTALLED_DB = '/lib/apk/db/installed';

interface ApkRecord {
  name?: string;
  version?: string;
  arch?: string;
  origin?: string;
  license?: string;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toPackage(record: ApkRecord, file: CatalogFile): Package | undefined {
  const { name, version, arch, origin, license } = record;
  if (!name || !version) return undefined;
  return {
    type: 'apk',
    name,
    version,
    purl: buildPurl({ type: 'apk', namespace: 'alpine', name, version, qualifiers: { arch } }),
    source: { name: origin || name, version },
    ...(arch ? { arch } : {}),
    ...(license ? { licenses: [license] } : {}),
    locations: [{ path: file.path, layer: file.layer }],
  };
}

function ownedPath(folder: string, name: string): string {
  return posix.normalize(`/${folder === '' ? '' : `${folder}/`}${name}`);
}

export function parseInstalledDb(text: string, file: CatalogFile): CatalogResult {
  const packages: Package[] = [];
  const owned = new Set<string>();
  let record: ApkRecord = {};
  let folder = '';

  const flush = (): void => {
    const pkg = toPackage(record, file);
    if (pkg) packages.push(pkg);
    record = {};
    folder = '';
  };

  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (line.length < 2 || line[1] !== ':') continue;
    const value = line.slice(2);
    switch (line[0]) {
      case 'P':
        record.name = value.trim();
        break;
      case 'V':
        record.version = value.trim();
        break;
      case 'A':
        record.arch = value.trim();
        break;
      case 'o':
        record.origin = value.trim();
        break;
      case 'L':
        record.license = value.trim();
        break;
      case 'F':
        folder = value.replace(/^\/+|\/+$/g, '');
        if (folder !== '') owned.add(ownedPath('', folder));
        break;
      case 'R':
        if (value !== '') owned.add(ownedPath(folder, value));
        break;
      default:
        break;
    }
  }
  flush();
  packages.sort((a, b) => compareText(a.name, b.name) || compareText(a.version, b.version));
  return { packages, ownedFiles: [...owned].sort(compareText) };
}

export const apkCataloger = {
  id: 'apk',
  version: 1,
  matches(path: string): boolean {
    return path === INSTALLED_DB;
  },
  parse(file: CatalogFile): CatalogResult {
    const size = Math.max(file.size, file.bytes.length);
    if (size > MAX_APK_DB_BYTES) {
      throw new AppError(
        'TOO_LARGE',
        `apk database ${file.path} is ${size} bytes, over the ${MAX_APK_DB_BYTES}-byte limit; it was skipped`,
        { details: { path: file.path, layer: file.layer, size } },
      );
    }
    return parseInstalledDb(file.bytes.toString('utf8'), file);
  },
} satisfies Cataloger;
