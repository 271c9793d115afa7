import type { Distro, Package } from '../core/index.js';

/** What the walker knows of a file before reading it. */
export interface FileInfo {
  /** Size in bytes of the regular file. */
  size: number;
  /** Unix permission bits (e.g. 0o755). */
  mode: number;
}

/** A file a cataloger asked for, with its bytes. */
export interface CatalogFile extends FileInfo {
  /** Absolute, normalised path inside the image root: always starts with '/', no '.' or '..' parts. */
  path: string;
  /** Digest of the layer the file came from ('' for a rootfs directory). */
  layer: string;
  bytes: Buffer;
}

/** Where a distro was learnt from (/etc/os-release, /etc/alpine-release …), for OS detection. */
export interface DistroHint {
  distro: Distro;
  /** Higher wins when several files name a distro (os-release over the lesser files). */
  priority: number;
}

/**
 * What one file yields. Results are keyed by the file's path: a later layer that replaces or deletes
 * the file replaces or drops its result, so whiteouts never leak packages.
 */
export interface CatalogResult {
  packages: Package[];
  /** Paths owned by the OS package manager (dpkg .list files, apk db, rpm file lists). Language packages found at these paths are not reported. */
  ownedFiles?: string[];
  distro?: DistroHint;
}

/**
 * A cataloger declares the files it wants and parses one file at a time; it never sees tar files or
 * layers. OS packages come back without `distro`: the scan pipeline sets it (and the purl's `distro`
 * qualifier) once the whole image has been read.
 */
export interface Cataloger {
  readonly id: string;
  /** Bumped when parsing changes, so cached per-layer results are recomputed. */
  readonly version: number;
  matches(path: string, info: FileInfo): boolean;
  parse(file: CatalogFile): CatalogResult | Promise<CatalogResult>;
}

export const EMPTY_RESULT: CatalogResult = Object.freeze({ packages: [] }) as CatalogResult;
