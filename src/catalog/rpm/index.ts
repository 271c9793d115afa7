import { AppError, errorMessage, type Package } from '../../core/index.js';
import { buildPurl } from '../purl.js';
import type { CatalogFile, CatalogResult, Cataloger } from '../types.js';
import { isBdbHash, readBdbBlobs } from './bdb.js';
import type { BlobList } from './container.js';
import { parseRpmHeader, RpmHeaderError, type RpmHeader } from './header.js';
import { isNdb, readNdbBlobs } from './ndb.js';
import { readSqliteBlobs, SQLITE_MAGIC } from './sqlite.js';
import { vendorNamespace } from './vendor.js';

/**
 * Red Hat family and SUSE packages from the rpm database, in any of its three formats, told apart by
 * their first bytes rather than their names: SQLite (`rpmdb.sqlite`), Berkeley DB hash (`Packages`)
 * and ndb (`Packages.db`). Each record is an rpm header blob (see header.ts). `gpg-pubkey` pseudo
 * packages (imported signing keys) are left out. Every installed file is returned in `ownedFiles`.
 *
 * Package.version is `[epoch:]version-release` with the epoch only when it is above 0; the purl carries
 * `version-release` and the epoch as a qualifier, as the purl spec asks.
 */
export const MAX_RPM_DB_BYTES = 512 * 1024 * 1024;

const DB_PATHS = new Set(
  ['/var/lib/rpm', '/usr/lib/sysimage/rpm'].flatMap((dir) => [`${dir}/rpmdb.sqlite`, `${dir}/Packages`, `${dir}/Packages.db`]),
);

type Format = 'sqlite' | 'bdb' | 'ndb';

function detectFormat(bytes: Buffer): Format | undefined {
  if (bytes.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) return 'sqlite';
  if (isNdb(bytes)) return 'ndb';
  if (isBdbHash(bytes)) return 'bdb';
  return undefined;
}

function readBlobs(format: Format, bytes: Buffer): BlobList {
  switch (format) {
    case 'sqlite':
      return readSqliteBlobs(bytes);
    case 'bdb':
      return readBdbBlobs(bytes);
    case 'ndb':
      return readNdbBlobs(bytes);
  }
}

/** `openssl-3.0.7-27.el9.src.rpm` → { name: 'openssl', version: '3.0.7-27.el9' }. */
export function splitSourceRpm(sourceRpm: string): { name: string; version: string } | undefined {
  const base = sourceRpm.replace(/\.(?:no)?src\.rpm$/, '');
  const releaseDash = base.lastIndexOf('-');
  const versionDash = base.lastIndexOf('-', releaseDash - 1);
  if (releaseDash <= 0 || versionDash <= 0) return undefined;
  return { name: base.slice(0, versionDash), version: base.slice(versionDash + 1) };
}

function toPackage(header: RpmHeader, file: CatalogFile): Package {
  const { name, version, release, arch, license } = header;
  const epoch = header.epoch !== undefined && header.epoch > 0 ? header.epoch : undefined;
  const epochPrefix = epoch !== undefined ? `${epoch}:` : '';
  const source = header.sourceRpm ? splitSourceRpm(header.sourceRpm) : undefined;
  return {
    type: 'rpm',
    name,
    version: `${epochPrefix}${version}-${release}`,
    purl: buildPurl({
      type: 'rpm',
      namespace: vendorNamespace(header.vendor),
      name,
      version: `${version}-${release}`,
      qualifiers: { arch, epoch: epoch !== undefined ? String(epoch) : undefined },
    }),
    source: source ? { name: source.name, version: `${epochPrefix}${source.version}` } : { name, version: `${epochPrefix}${version}-${release}` },
    ...(arch ? { arch } : {}),
    ...(license ? { licenses: [license] } : {}),
    locations: [{ path: file.path, layer: file.layer }],
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export const rpmCataloger = {
  id: 'rpm',
  version: 1,
  matches(path: string): boolean {
    return DB_PATHS.has(path);
  },
  parse(file: CatalogFile): CatalogResult {
    const size = Math.max(file.size, file.bytes.length);
    const details = { path: file.path, layer: file.layer, size };
    if (size > MAX_RPM_DB_BYTES) {
      throw new AppError('TOO_LARGE', `rpm database ${file.path} is ${size} bytes, over the ${MAX_RPM_DB_BYTES}-byte limit; it was skipped`, { details });
    }
    const format = detectFormat(file.bytes);
    if (!format) {
      throw new AppError('UNSUPPORTED', `${file.path} is not an rpm database in a known format (SQLite, Berkeley DB hash or ndb); it was skipped`, { details });
    }
    let list: BlobList;
    try {
      list = readBlobs(format, file.bytes);
    } catch (error) {
      throw new AppError('BAD_INPUT', `rpm ${format} database ${file.path} could not be read: ${errorMessage(error)}`, { details, cause: error });
    }

    const packages: Package[] = [];
    const owned = new Set<string>();
    let bad = list.bad;
    let firstProblem: string | undefined;
    for (const blob of list.blobs) {
      let header: RpmHeader;
      try {
        header = parseRpmHeader(blob);
      } catch (error) {
        if (!(error instanceof RpmHeaderError)) throw error;
        bad++;
        firstProblem ??= error.message;
        continue;
      }
      if (header.name === 'gpg-pubkey') continue;
      packages.push(toPackage(header, file));
      for (const path of header.files) owned.add(path);
    }
    if (packages.length === 0 && bad > 0) {
      throw new AppError('BAD_INPUT', `rpm ${format} database ${file.path} has ${bad} unreadable records and no readable package${firstProblem ? ` (${firstProblem})` : ''}`, { details });
    }
    packages.sort((a, b) => compareText(a.name, b.name) || compareText(a.version, b.version) || compareText(a.arch ?? '', b.arch ?? ''));
    return { packages, ownedFiles: [...owned].sort(compareText) };
  },
} satisfies Cataloger;
