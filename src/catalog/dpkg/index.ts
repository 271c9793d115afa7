import { posix } from 'node:path';
import { AppError, type Package } from '../../core/index.js';
import { buildPurl } from '../purl.js';
import type { CatalogFile, CatalogResult, Cataloger } from '../types.js';
import { parseStanzas, type Stanza } from './control.js';

/**
 * Debian packages from dpkg's database:
 * - `/var/lib/dpkg/status`: every package dpkg knows of; only those whose Status says `installed`;
 * - `/var/lib/dpkg/status.d/<name>`: distroless images, one stanza per file, usually without Status
 *   (taken as installed); the `*.md5sums` files beside them are ignored;
 * - `/var/lib/dpkg/info/<name>[:arch].list`: the files a package installed, returned as `ownedFiles` so
 *   that language catalogers do not report Debian's own python3-* or ruby-* files a second time.
 *
 * Purls use the namespace `debian`; the scan pipeline, once it knows the distro, replaces the namespace
 * with the distro id (e.g. `ubuntu`) and adds the `distro` qualifier.
 */
export const MAX_DPKG_FILE_BYTES = 64 * 1024 * 1024;

const STATUS_PATH = '/var/lib/dpkg/status';
const STATUS_D_DIR = '/var/lib/dpkg/status.d/';
const INFO_LIST = /^\/var\/lib\/dpkg\/info\/[^/]+\.list$/;
const SOURCE_FIELD = /^(\S+)(?:\s+\(([^)]+)\))?$/;

function isStatusDFile(path: string): boolean {
  if (!path.startsWith(STATUS_D_DIR)) return false;
  const name = path.slice(STATUS_D_DIR.length);
  return name !== '' && !name.includes('/') && !name.endsWith('.md5sums');
}

/** `install ok installed` and `hold ok installed` are installed; `deinstall ok config-files` is not. */
function isInstalled(stanza: Stanza, statusRequired: boolean): boolean {
  const status = stanza.get('status');
  if (status === undefined) return !statusRequired;
  const words = status.split(/\s+/);
  return words[words.length - 1] === 'installed';
}

function toPackage(stanza: Stanza, file: CatalogFile): Package | undefined {
  const name = stanza.get('package');
  const version = stanza.get('version');
  if (!name || !version) return undefined;
  const arch = stanza.get('architecture') || undefined;
  const sourceMatch = SOURCE_FIELD.exec(stanza.get('source') ?? '');
  const source = sourceMatch?.[1]
    ? { name: sourceMatch[1], version: sourceMatch[2]?.trim() || version }
    : { name, version };
  return {
    type: 'deb',
    name,
    version,
    purl: buildPurl({ type: 'deb', namespace: 'debian', name, version, qualifiers: { arch } }),
    source,
    ...(arch ? { arch } : {}),
    locations: [{ path: file.path, layer: file.layer }],
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparePackages(a: Package, b: Package): number {
  return compareText(a.name, b.name) || compareText(a.version, b.version) || compareText(a.arch ?? '', b.arch ?? '');
}

/** The paths of a `.list` file: absolute, normalised, without dpkg's `/.` root entry. */
export function parseListFile(text: string): string[] {
  const paths = new Set<string>();
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('/')) continue;
    const normalised = posix.normalize(trimmed);
    if (normalised === '/' || normalised === '/.') continue;
    paths.add(normalised.endsWith('/') ? normalised.slice(0, -1) : normalised);
  }
  return [...paths];
}

export const dpkgCataloger = {
  id: 'dpkg',
  version: 1,
  matches(path: string): boolean {
    return path === STATUS_PATH || isStatusDFile(path) || INFO_LIST.test(path);
  },
  parse(file: CatalogFile): CatalogResult {
    const size = Math.max(file.size, file.bytes.length);
    if (size > MAX_DPKG_FILE_BYTES) {
      throw new AppError(
        'TOO_LARGE',
        `dpkg database file ${file.path} is ${size} bytes, over the ${MAX_DPKG_FILE_BYTES}-byte limit; it was skipped`,
        { details: { path: file.path, layer: file.layer, size } },
      );
    }
    const text = file.bytes.toString('utf8');
    if (INFO_LIST.test(file.path)) return { packages: [], ownedFiles: parseListFile(text) };
    const statusRequired = file.path === STATUS_PATH;
    const packages: Package[] = [];
    for (const stanza of parseStanzas(text)) {
      if (!isInstalled(stanza, statusRequired)) continue;
      const pkg = toPackage(stanza, file);
      if (pkg) packages.push(pkg);
    }
    return { packages: packages.sort(comparePackages) };
  },
} satisfies Cataloger;
