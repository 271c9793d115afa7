import { createHash } from 'node:crypto';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import tar from 'tar-stream';
import { AppError, isAppError, silentLogger, type Logger } from '../core/index.js';
import type { CatalogFile, CatalogResult, Cataloger, FileInfo } from '../catalog/types.js';
import type { ImageManifestInfo, LayerInfo } from './oci.js';
import type { ImageSource } from './sources/types.js';

/**
 * The layer walker. Streams each layer once (gzip, zstd or plain tar, told by its magic bytes), applies
 * whiteouts and opaque directories, offers every regular file to the catalogers' `matches` and reads
 * only the files some cataloger asked for; the bodies of all other entries are drained, never
 * buffered. Results are keyed by path, so a later layer that rewrites or deletes a file replaces or
 * drops its result. Nothing is written to disk.
 *
 * Hard links: a link whose path a cataloger wants gets the bytes of its target when the target was
 * itself read (because it matched) in this or a lower layer; otherwise it is skipped and counted
 * ('hardlink-target-not-read'): the stream has moved past the target and cannot re-read it.
 * Symlinks are recorded (`symlinks`), never followed; resolve them with `resolveSymlink`.
 */

export interface WalkLimits {
  /** Tar entries per layer (default 1,000,000). */
  maxEntriesPerLayer: number;
  /** Uncompressed bytes over all layers (default 32 GiB): a decompression bomb stops here. */
  maxImageBytes: number;
  /** Largest file handed to a cataloger (default 512 MiB); larger wanted files are skipped and counted. */
  maxFileSize: number;
  /** Bytes of read files kept for hard links (default 64 MiB). */
  maxKeptBytes: number;
}

export const DEFAULT_WALK_LIMITS: WalkLimits = {
  maxEntriesPerLayer: 1_000_000,
  maxImageBytes: 32 * 1024 ** 3,
  maxFileSize: 512 * 1024 ** 2,
  maxKeptBytes: 64 * 1024 ** 2,
};

export interface WalkProgress {
  /** 0-based index of the layer being read. */
  layer: number;
  layers: number;
  digest: string;
  /** Uncompressed bytes of this layer read so far. */
  bytes: number;
  /** Uncompressed bytes of the whole image read so far. */
  totalBytes: number;
  done: boolean;
}

export interface WalkOptions {
  limits?: Partial<WalkLimits>;
  onProgress?: (progress: WalkProgress) => void;
  log?: Logger;
  /** Already described image (saves a second describe()). */
  info?: ImageManifestInfo;
}

export interface FileResult {
  /** Absolute normalised path ('/var/lib/dpkg/status'). */
  path: string;
  /** Digest of the layer the file came from ('' for a rootfs directory). */
  layer: string;
  layerIndex: number;
  cataloger: string;
  result: CatalogResult;
}

export type SkipReason = 'escaping-path' | 'escaping-link' | 'too-large' | 'hardlink-target-not-read' | 'parse-error';

export interface WalkSkip {
  reason: SkipReason;
  path: string;
  layer: string;
  detail?: string;
}

export interface WalkStats {
  layers: number;
  entries: number;
  /** Regular files (and hard links) offered to `matches`. */
  filesOffered: number;
  /** Files whose bytes were read for a cataloger. */
  filesRead: number;
  bytesRead: number;
  compressedBytes: number;
  uncompressedBytes: number;
  whiteouts: number;
  opaqueDirs: number;
  skipCounts: Record<SkipReason, number>;
  /** The first 1000 skips with their paths. */
  skips: WalkSkip[];
}

export interface WalkOutput {
  info: ImageManifestInfo;
  /** path → one result per cataloger that parsed the file, for the files visible in the final image. */
  results: Map<string, FileResult[]>;
  /** Symlinks of the final image: absolute path → target as written in the tar. */
  symlinks: Map<string, string>;
  stats: WalkStats;
}

const MAX_SKIPS_LISTED = 1000;
const PROGRESS_STEP = 8 * 1024 * 1024;
const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** Normalises a tar entry name to '/a/b'; undefined when '..' climbs above the root. '' is the root. */
export function normaliseEntryPath(name: string, base: string[] = []): string | undefined {
  const parts = [...base];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return '/' + parts.join('/');
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

/**
 * Follows symlinks of the final image from `path` to a path that is not a symlink (any component).
 * Returns undefined for a loop (more than 40 hops, as Linux's ELOOP).
 */
export function resolveSymlink(symlinks: ReadonlyMap<string, string>, path: string): string | undefined {
  let current = path;
  for (let hops = 0; hops <= 40; hops++) {
    const parts = current.split('/').filter((p) => p !== '');
    let changed = false;
    for (let i = 1; i <= parts.length; i++) {
      const prefix = '/' + parts.slice(0, i).join('/');
      const target = symlinks.get(prefix);
      if (target === undefined) continue;
      const base = target.startsWith('/') ? [] : parts.slice(0, i - 1);
      // A relative target climbing above '/' stays at '/', as the kernel does at the root.
      const resolved = normaliseEntryPath(target, base) ?? normaliseEntryPath(target.replace(/^(\.\.\/)+/, ''), []) ?? '/';
      const rest = parts.slice(i).join('/');
      current = rest ? `${resolved === '/' ? '' : resolved}/${rest}` : resolved;
      changed = true;
      break;
    }
    if (!changed) return current;
  }
  return undefined;
}

/** Decompresses by magic bytes: gzip (1f 8b), zstd (28 b5 2f fd), anything else is taken as a plain tar. */
export function compressionOf(head: Buffer): 'gzip' | 'zstd' | 'none' {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

class ZstdStream extends Transform {
  private readonly decoder: ZstdDecompress;
  bytesIn = 0;
  constructor() {
    super();
    this.decoder = new ZstdDecompress((chunk) => {
      if (chunk.length > 0) this.push(Buffer.from(chunk));
    });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.bytesIn += chunk.length;
    try {
      this.decoder.push(chunk);
      callback();
    } catch (error) {
      callback(error instanceof Error ? error : new Error(String(error)));
    }
  }
  override _flush(callback: TransformCallback): void {
    try {
      this.decoder.push(new Uint8Array(0), true);
      callback();
    } catch (error) {
      callback(error instanceof Error ? error : new Error(String(error)));
    }
  }
}

/** Waits for the first bytes of a stream and puts them back, to look at the magic number. */
async function peek(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const onReadable = (): void => {
      const chunk: unknown = stream.read();
      cleanup();
      if (chunk === null) return resolve(Buffer.alloc(0));
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      stream.unshift(buf);
      resolve(buf);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.alloc(0));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const cleanup = (): void => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    stream.once('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}

const ignore = (): void => {};

interface Stored {
  path: string;
  layerIndex: number;
}

/** Walks every layer of `source` in order and returns what the catalogers found in the final image. */
export async function walkImage(source: ImageSource, catalogers: readonly Cataloger[], options: WalkOptions = {}): Promise<WalkOutput> {
  const limits: WalkLimits = { ...DEFAULT_WALK_LIMITS, ...options.limits };
  const log = options.log ?? silentLogger;
  const info = options.info ?? (await source.describe());
  const results = new Map<string, FileResult[]>();
  const symlinks = new Map<string, string>();
  const symlinkLayer = new Map<string, number>();
  /** Bytes of files read for a cataloger, kept for hard links to them. */
  const kept = new Map<string, { bytes: Buffer; layerIndex: number }>();
  let keptBytes = 0;
  /**
   * Directory → number of things recorded below it (results, kept bytes, symlinks), so that a file
   * replacing a path learns in O(1) that nothing lies under it; only then are the maps scanned.
   */
  const recordedBelow = new Map<string, number>();
  const stats: WalkStats = {
    layers: info.layers.length,
    entries: 0,
    filesOffered: 0,
    filesRead: 0,
    bytesRead: 0,
    compressedBytes: 0,
    uncompressedBytes: 0,
    whiteouts: 0,
    opaqueDirs: 0,
    skipCounts: { 'escaping-path': 0, 'escaping-link': 0, 'too-large': 0, 'hardlink-target-not-read': 0, 'parse-error': 0 },
    skips: [],
  };

  const skip = (reason: SkipReason, path: string, layer: string, detail?: string): void => {
    stats.skipCounts[reason]++;
    if (stats.skips.length < MAX_SKIPS_LISTED) stats.skips.push(detail === undefined ? { reason, path, layer } : { reason, path, layer, detail });
  };

  const countBelow = (path: string, delta: number): void => {
    for (let dir = parentOf(path); ; dir = parentOf(dir)) {
      const n = (recordedBelow.get(dir) ?? 0) + delta;
      if (n <= 0) recordedBelow.delete(dir);
      else recordedBelow.set(dir, n);
      if (dir === '/') break;
    }
  };

  const dropResult = (path: string, keep: (r: Stored) => boolean): void => {
    const list = results.get(path);
    if (!list) return;
    const left = list.filter(keep);
    if (left.length === list.length) return;
    countBelow(path, left.length - list.length);
    if (left.length === 0) results.delete(path);
    else results.set(path, left);
  };

  const unkeep = (path: string, k: { bytes: Buffer }): void => {
    keptBytes -= k.bytes.length;
    kept.delete(path);
    countBelow(path, -1);
  };

  const unlink = (path: string): void => {
    symlinks.delete(path);
    symlinkLayer.delete(path);
    countBelow(path, -1);
  };

  const dropExact = (path: string, belowLayer: number, includeSameLayer: boolean): void => {
    const lower = (layerIndex: number): boolean => layerIndex < belowLayer || (includeSameLayer && layerIndex === belowLayer);
    dropResult(path, (r) => !lower(r.layerIndex));
    const k = kept.get(path);
    if (k && lower(k.layerIndex)) unkeep(path, k);
    const s = symlinkLayer.get(path);
    if (s !== undefined && lower(s)) unlink(path);
  };

  /** Drops lower-layer content strictly under `dir` (whiteouts, opaque dirs, a file replacing a dir). */
  const dropUnder = (dir: string, belowLayer: number): void => {
    if ((recordedBelow.get(dir) ?? 0) === 0) return;
    const prefix = dir === '/' ? '/' : `${dir}/`;
    for (const path of [...results.keys()]) if (path.startsWith(prefix)) dropResult(path, (r) => r.layerIndex >= belowLayer);
    for (const [path, k] of [...kept]) if (path.startsWith(prefix) && k.layerIndex < belowLayer) unkeep(path, k);
    for (const [path, layerIndex] of [...symlinkLayer]) if (path.startsWith(prefix) && layerIndex < belowLayer) unlink(path);
  };

  const store = (path: string, layer: LayerInfo, layerIndex: number, cataloger: Cataloger, result: CatalogResult): void => {
    const entry: FileResult = { path, layer: layer.digest, layerIndex, cataloger: cataloger.id, result };
    const list = results.get(path);
    if (list) {
      const at = list.findIndex((r) => r.cataloger === cataloger.id);
      if (at >= 0) list[at] = entry;
      else {
        list.push(entry);
        countBelow(path, 1);
      }
    } else {
      results.set(path, [entry]);
      countBelow(path, 1);
    }
  };

  const parseWith = async (wanted: Cataloger[], file: CatalogFile, layer: LayerInfo, layerIndex: number): Promise<void> => {
    for (const cataloger of wanted) {
      try {
        const out = cataloger.parse(file);
        store(file.path, layer, layerIndex, cataloger, out instanceof Promise ? await out : out);
      } catch (error) {
        const detail = `${cataloger.id}: ${error instanceof Error ? error.message : String(error)}`;
        log.warn({ path: file.path, layer: layer.digest, cataloger: cataloger.id, error: detail }, 'cataloger could not parse file; skipped');
        skip('parse-error', file.path, layer.digest, detail);
      }
    }
  };

  const layerError = (layer: LayerInfo, error: unknown): AppError => {
    if (isAppError(error)) {
      if (layer.digest === '' || error.message.includes(layer.digest)) return error;
      return new AppError(error.code, `layer ${layer.digest}: ${error.message}`, { cause: error, details: { ...error.details, layer: layer.digest } });
    }
    const message = error instanceof Error ? error.message : String(error);
    const truncated = /unexpected end|end of data|truncated/i.test(message);
    const what = truncated ? 'is truncated' : 'is corrupt';
    return new AppError('BAD_INPUT', `layer ${layer.digest || '(rootfs)'} ${what} (${message}); the image is damaged: pull or export it again`, {
      cause: error,
      details: { layer: layer.digest },
    });
  };

  for (const [layerIndex, layer] of info.layers.entries()) {
    let layerBytes = 0;
    let nextProgress = PROGRESS_STEP;
    let entries = 0;
    const diffHash = layer.diffId ? createHash('sha256') : undefined;
    const progress = (done: boolean): void =>
      options.onProgress?.({ layer: layerIndex, layers: info.layers.length, digest: layer.digest, bytes: layerBytes, totalBytes: stats.uncompressedBytes, done });

    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      const finish = (error?: unknown): void => {
        if (error === undefined) next();
        else next(error instanceof Error ? error : new Error(String(error)));
      };
      const drain = (): void => {
        stream.on('end', () => finish());
        stream.resume();
      };
      // Errors of an entry also fail the whole extract, which is where they are handled.
      stream.on('error', ignore);
      entries++;
      stats.entries++;
      if (entries > limits.maxEntriesPerLayer) {
        stream.resume();
        finish(new AppError('TOO_LARGE', `layer ${layer.digest} has more than ${limits.maxEntriesPerLayer} entries; refusing it (raise the entry limit if the image is genuine)`, { details: { layer: layer.digest } }));
        return;
      }
      const path = normaliseEntryPath(header.name);
      if (path === undefined) {
        skip('escaping-path', header.name, layer.digest);
        return drain();
      }
      if (path === '/') return drain();
      const slash = path.lastIndexOf('/');
      const base = path.slice(slash + 1);
      const dir = parentOf(path);

      if (base.startsWith(WHITEOUT)) {
        if (base === OPAQUE) {
          stats.opaqueDirs++;
          dropUnder(dir, layerIndex);
        } else {
          stats.whiteouts++;
          const target = `${dir === '/' ? '' : dir}/${base.slice(WHITEOUT.length)}`;
          dropExact(target, layerIndex, false);
          dropUnder(target, layerIndex);
        }
        return drain();
      }

      // Whatever this entry is, it replaces what lower layers (or an earlier duplicate) had at this path.
      dropExact(path, layerIndex, true);
      if (header.type !== 'directory') dropUnder(path, layerIndex);

      switch (header.type) {
        case 'file':
        case 'contiguous-file': {
          stats.filesOffered++;
          const fileInfo: FileInfo = { size: header.size, mode: header.mode & 0o7777 };
          const wanted = catalogers.filter((c) => c.matches(path, fileInfo));
          if (wanted.length === 0) return drain();
          if (header.size > limits.maxFileSize) {
            skip('too-large', path, layer.digest, `${header.size} bytes > ${limits.maxFileSize}`);
            return drain();
          }
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: unknown) => {
            if (Buffer.isBuffer(chunk)) chunks.push(chunk);
          });
          stream.on('end', () => {
            const bytes = chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks);
            stats.filesRead++;
            stats.bytesRead += bytes.length;
            if (keptBytes + bytes.length <= limits.maxKeptBytes) {
              kept.set(path, { bytes, layerIndex });
              keptBytes += bytes.length;
              countBelow(path, 1);
            }
            parseWith(wanted, { path, layer: layer.digest, size: bytes.length, mode: fileInfo.mode, bytes }, layer, layerIndex).then(() => finish(), finish);
          });
          return;
        }
        case 'link': {
          const target = normaliseEntryPath(header.linkname ?? '');
          if (target === undefined) {
            skip('escaping-link', path, layer.digest, `hard link to ${header.linkname ?? ''}`);
            return drain();
          }
          stats.filesOffered++;
          const source = kept.get(target);
          const fileInfo: FileInfo = { size: source?.bytes.length ?? header.size, mode: header.mode & 0o7777 };
          const wanted = catalogers.filter((c) => c.matches(path, fileInfo));
          if (wanted.length === 0) return drain();
          if (!source) {
            skip('hardlink-target-not-read', path, layer.digest, `hard link to ${target}`);
            return drain();
          }
          stream.resume();
          stats.filesRead++;
          parseWith(wanted, { path, layer: layer.digest, size: source.bytes.length, mode: fileInfo.mode, bytes: source.bytes }, layer, layerIndex).then(() => finish(), finish);
          return;
        }
        case 'symlink': {
          const linkname = header.linkname ?? '';
          const base = linkname.startsWith('/') ? [] : dir.split('/').filter((p) => p !== '');
          if (normaliseEntryPath(linkname, base) === undefined) {
            skip('escaping-link', path, layer.digest, `symlink to ${linkname}`);
            return drain();
          }
          symlinks.set(path, linkname);
          symlinkLayer.set(path, layerIndex);
          countBelow(path, 1);
          return drain();
        }
        default:
          return drain();
      }
    });

    /** Hashes the uncompressed tar (diff_id), counts it against the cap and feeds it to the tar parser. */
    const feeder = new Writable({
      highWaterMark: 1024 * 1024,
      write(chunk: Buffer, _enc, callback) {
        layerBytes += chunk.length;
        stats.uncompressedBytes += chunk.length;
        if (stats.uncompressedBytes > limits.maxImageBytes) {
          callback(
            new AppError('TOO_LARGE', `layer ${layer.digest} decompresses past the ${limits.maxImageBytes}-byte limit for the whole image; it may be a decompression bomb (raise the limit if the image is genuine)`, {
              details: { layer: layer.digest, limit: limits.maxImageBytes },
            }),
          );
          return;
        }
        diffHash?.update(chunk);
        if (layerBytes >= nextProgress) {
          nextProgress += PROGRESS_STEP;
          progress(false);
        }
        if (extract.write(chunk)) callback();
        else extract.once('drain', () => callback());
      },
      final(callback) {
        extract.once('finish', () => callback());
        extract.end(undefined);
      },
    });
    extract.on('error', (error: Error) => feeder.destroy(error));

    let raw: Readable | undefined;
    try {
      raw = await source.openLayer(layer.digest);
      const head = await peek(raw);
      const kind = compressionOf(head);
      if (kind === 'gzip') {
        const gunzip = createGunzip({ chunkSize: 256 * 1024 });
        await pipeline(raw, gunzip, feeder);
        stats.compressedBytes += gunzip.bytesWritten;
      } else if (kind === 'zstd') {
        const unzstd = new ZstdStream();
        await pipeline(raw, unzstd, feeder);
        stats.compressedBytes += unzstd.bytesIn;
      } else {
        await pipeline(raw, feeder);
        stats.compressedBytes += layerBytes;
      }
    } catch (error) {
      raw?.destroy();
      extract.destroy();
      throw layerError(layer, error);
    }
    if (diffHash && layer.diffId) {
      const actual = `sha256:${diffHash.digest('hex')}`;
      if (actual !== layer.diffId) {
        throw new AppError('BAD_INPUT', `layer ${layer.digest} decompresses to content with digest ${actual}, not the diff_id ${layer.diffId} in the image config; the image is corrupt or was tampered with`, {
          details: { layer: layer.digest, expected: layer.diffId, actual },
        });
      }
    }
    progress(true);
  }

  return { info, results, symlinks, stats };
}
