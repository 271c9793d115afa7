import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '../../core/errors.js';
import { readAllCapped } from '../digest.js';
import type { LayoutFiles } from './types.js';

/** LayoutFiles over a directory; paths never leave it (blob paths are built from validated digests). */
export function dirLayoutFiles(dir: string, label: string): LayoutFiles {
  const full = (p: string): string => join(dir, p);
  const sizeOf = async (p: string): Promise<number | undefined> => {
    try {
      const s = await stat(full(p));
      return s.isFile() ? s.size : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    label,
    exists: async (p) => (await sizeOf(p)) !== undefined,
    size: sizeOf,
    readFile: async (p, maxBytes) => {
      const size = await sizeOf(p);
      if (size === undefined) throw new AppError('NOT_FOUND', `${label} has no file ${p}`, { details: { file: p } });
      if (size > maxBytes) throw new AppError('TOO_LARGE', `${p} in ${label} is ${size} bytes, over the ${maxBytes}-byte limit`);
      return readAllCapped(createReadStream(full(p)), maxBytes, `${p} in ${label}`);
    },
    open: (p): Readable => createReadStream(full(p), { highWaterMark: 1024 * 1024 }),
    close: async () => {},
  };
}

/** The files of `oci-layout:DIR`; the directory must exist. */
export async function ociLayoutDirFiles(dir: string): Promise<LayoutFiles> {
  const s = await stat(dir).catch(() => undefined);
  if (!s?.isDirectory()) throw new AppError('NOT_FOUND', `oci-layout:${dir} is not a directory; pass the directory that holds index.json`);
  return dirLayoutFiles(dir, `oci-layout:${dir}`);
}
