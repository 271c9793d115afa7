import { open } from 'node:fs/promises';
import { AppError } from '../core/index.js';
import { readCycloneDx } from './cyclonedx.js';
import { DEFAULT_LIMITS, parseJsonDocument, type JsonLimits } from './json.js';
import { readPalisadeList } from './palisade.js';
import { readSpdx } from './spdx.js';
import type { PackageDocument, SbomFormat } from './types.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** CycloneDX by `bomFormat`, SPDX by `spdxVersion`, Palisade's list by a `packages` array. */
export function detectFormat(value: unknown): SbomFormat | undefined {
  if (!isObject(value)) return undefined;
  if (value.bomFormat === 'CycloneDX') return 'cyclonedx';
  if (typeof value.spdxVersion === 'string') return 'spdx';
  if (Array.isArray(value.packages)) return 'palisade';
  return undefined;
}

/** Reads a package list or SBOM (format detected) from bytes; `file` names it in errors. */
export function parsePackageDocument(bytes: Uint8Array, file: string, limits: JsonLimits = DEFAULT_LIMITS): PackageDocument {
  const value = parseJsonDocument(bytes, file, limits);
  switch (detectFormat(value)) {
    case 'cyclonedx':
      return readCycloneDx(value, file);
    case 'spdx':
      return readSpdx(value, file);
    case 'palisade':
      return readPalisadeList(value, file);
    case undefined:
      throw new AppError(
        'UNSUPPORTED',
        `${file}: not a Palisade package list ({"packages": [...]}), CycloneDX JSON ("bomFormat": "CycloneDX") or SPDX 2.3 JSON ("spdxVersion": "SPDX-2.3") document`,
        { details: { file } },
      );
  }
}

/** Reads a package list or SBOM file, refusing files above the size limit before reading them. */
export async function readPackageFile(path: string, limits: JsonLimits = DEFAULT_LIMITS): Promise<PackageDocument> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : '';
    throw new AppError(code === 'ENOENT' ? 'NOT_FOUND' : 'BAD_INPUT', `${path}: cannot read the package list: ${code || String(error)}`, {
      cause: error,
      details: { file: path },
    });
  }
  try {
    const { size } = await handle.stat();
    if (size > limits.maxBytes) {
      throw new AppError('TOO_LARGE', `${path}: ${size} bytes is more than the ${limits.maxBytes}-byte limit for package lists and SBOMs`, {
        details: { file: path, size },
      });
    }
    const bytes = await handle.readFile();
    return parsePackageDocument(bytes, path, limits);
  } finally {
    await handle.close();
  }
}
