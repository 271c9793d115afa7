import type { Distro, Package } from '../core/index.js';
import { isOsType, packageFromPurl } from './purl.js';
import type { PackageDocument, SbomFormat, SkippedEntry } from './types.js';

/** What a format reader extracts from one entry before it becomes a Package. */
export interface EntryFields {
  ref: string;
  purl?: string;
  version?: string;
  source?: { name: string; version?: string };
}

/**
 * Turns entries into Packages the same way for every format: the purl decides type, name and
 * distro; the entry's source fields override the purl's `upstream`; OS packages without a distro
 * qualifier take the document's distro. Duplicate purls are kept once (CycloneDX may nest a component
 * in several places). Entries without a purl, or with one Palisade cannot match, are skipped and counted.
 */
export class PackageCollector {
  private readonly packages: Package[] = [];
  private readonly seen = new Set<string>();
  readonly skipped: SkippedEntry[] = [];

  constructor(private readonly file: string) {}

  skip(ref: string, reason: string): void {
    this.skipped.push({ ref, reason });
  }

  add(entry: EntryFields): void {
    if (!entry.purl) {
      this.skip(entry.ref, 'no purl');
      return;
    }
    const result = packageFromPurl(entry.purl, entry.version);
    if (!result.ok) {
      this.skip(entry.ref, result.reason);
      return;
    }
    const pkg: Package = { ...result.package, locations: [{ path: this.file }] };
    if (entry.source?.name) pkg.source = entry.source;
    this.push(pkg);
  }

  push(pkg: Package): void {
    if (this.seen.has(pkg.purl)) return;
    this.seen.add(pkg.purl);
    this.packages.push(pkg);
  }

  finish(format: SbomFormat, distro: Distro | undefined): PackageDocument {
    const packages = this.packages.map((pkg) => (isOsType(pkg.type) && !pkg.distro && distro ? { ...pkg, distro } : pkg));
    const doc: PackageDocument = { format, packages, skipped: this.skipped };
    if (distro) doc.distro = distro;
    return doc;
  }
}

/** Builds a source version from split fields (Trivy's SrcEpoch / SrcVersion / SrcRelease). */
export function joinVersion(epoch: string | undefined, version: string | undefined, release: string | undefined): string | undefined {
  if (!version) return undefined;
  const head = epoch && epoch !== '0' ? `${epoch}:${version}` : version;
  return release ? `${head}-${release}` : head;
}
