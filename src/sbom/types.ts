import type { Distro, Package } from '../core/index.js';

export type SbomFormat = 'palisade' | 'cyclonedx' | 'spdx';

export interface SkippedEntry {
  /** Which entry: a JSON path such as `components[3].components[0]` or `packages[12]`, with its name when known. */
  ref: string;
  reason: string;
}

export interface PackageDocument {
  format: SbomFormat;
  packages: Package[];
  /** The distro the document names for the whole image (Palisade `distro`, an operating-system component), if any. */
  distro?: Distro;
  /** Entries that could not be turned into packages; the rest of the document is still used. */
  skipped: SkippedEntry[];
}
