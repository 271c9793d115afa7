import { constants } from 'node:fs';
import { lstat, open, readdir, readlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { AppError } from '../../core/index.js';
import { MEDIA, type ImageManifestInfo, type Platform } from '../oci.js';
import type { ImageSource } from './types.js';

/**
 * A directory holding an unpacked root filesystem (`dir:ROOTFS`), served as one uncompressed "layer"
 * so the walker treats it like any image. Entries are read with lstat and opened with O_NOFOLLOW:
 * symlinks become symlink entries and are never followed, so nothing outside the root is read.
 */

export interface RootfsOptions {
  platform: Platform;
}

const MAX_DEPTH = 256;

async function packDirectory(root: string, pack: tar.Pack): Promise<void> {
  const visit = async (rel: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) return;
    const names = (await readdir(join(root, rel))).sort();
    for (const name of names) {
      const relPath = rel ? `${rel}/${name}` : name;
      const full = join(root, relPath);
      const st = await lstat(full);
      const base = { name: relPath, mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid };
      if (st.isDirectory()) {
        await entry(pack, { ...base, type: 'directory' });
        await visit(relPath, depth + 1);
      } else if (st.isSymbolicLink()) {
        await entry(pack, { ...base, type: 'symlink', linkname: await readlink(full) });
      } else if (st.isFile()) {
        // O_NOFOLLOW: if the file was swapped for a symlink since lstat, opening fails instead of escaping.
        const handle = await open(full, constants.O_RDONLY | constants.O_NOFOLLOW);
        try {
          await streamFile(pack, { ...base, type: 'file', size: st.size }, handle, st.size);
        } finally {
          await handle.close();
        }
      }
      // devices, fifos and sockets carry no package data: left out
    }
  };
  await visit('', 0);
}

type PackHeader = Parameters<tar.Pack['entry']>[0];

function entry(pack: tar.Pack, header: PackHeader, body?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error | null): void => (error ? reject(error) : resolve());
    if (body) pack.entry(header, body, done);
    else pack.entry(header, done);
  });
}

/**
 * Streams a file of the size lstat gave into a tar entry, in 1 MiB pieces with backpressure; a file
 * that shrank meanwhile is padded with zeros, one that grew is cut, so the tar stays well formed.
 */
async function streamFile(pack: tar.Pack, header: PackHeader, handle: FileHandle, size: number): Promise<void> {
  if (size === 0) return entry(pack, header, Buffer.alloc(0));
  const callbacks: { resolve: () => void; reject: (error: Error) => void }[] = [];
  const done = new Promise<void>((resolve, reject) => callbacks.push({ resolve, reject }));
  const sink = pack.entry(header, (error) => {
    for (const c of callbacks) {
      if (error) c.reject(error);
      else c.resolve();
    }
  });
  let at = 0;
  while (at < size) {
    const piece = Buffer.alloc(Math.min(1024 * 1024, size - at));
    const { bytesRead } = await handle.read(piece, 0, piece.length, at);
    at += piece.length;
    const body = bytesRead === piece.length ? piece : piece.fill(0, bytesRead);
    if (at >= size) sink.end(body);
    else if (!sink.write(body)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
  }
  await done;
}

export async function openRootfs(dir: string, options: RootfsOptions): Promise<ImageSource> {
  const st = await lstat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new AppError('NOT_FOUND', `dir:${dir} is not a directory; pass the root directory of an unpacked image`);
  const info: ImageManifestInfo = {
    digest: '',
    configDigest: '',
    config: { architecture: options.platform.architecture, os: options.platform.os },
    layers: [{ digest: '', mediaType: MEDIA.ociLayer, size: -1 }],
    platform: options.platform,
    repoTags: [],
  };
  return {
    kind: 'dir',
    describe: async () => info,
    openLayer: async (digest): Promise<Readable> => {
      if (digest !== '') throw new AppError('NOT_FOUND', `dir:${dir} has one layer, named ''; asked for ${digest}`);
      const pack = tar.pack();
      packDirectory(dir, pack).then(
        () => pack.finalize(),
        (error: unknown) =>
          pack.destroy(new AppError('BAD_INPUT', `cannot read dir:${dir}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })),
      );
      return Readable.from(pack);
    },
    close: async () => {},
  };
}
