import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import yauzl from 'yauzl';
import { AppError, errorMessage } from '../core/index.js';

/** Bounds on what one input may expand to (zip bombs, runaway archives). */
export interface ArchiveLimits {
  /** Largest single file read whole (bytes); larger entries are skipped and counted. */
  maxEntryBytes: number;
  /** Most bytes one archive may decompress to in total; beyond it the archive is refused. */
  maxArchiveBytes: number;
  /** Most entries one archive may hold. */
  maxEntries: number;
}

export const DEFAULT_LIMITS: ArchiveLimits = {
  maxEntryBytes: 256 * 1024 * 1024,
  maxArchiveBytes: 16 * 1024 * 1024 * 1024,
  maxEntries: 2_000_000,
};

/** One file found in an input: its path (archive-relative) and a stream of its bytes. */
export interface InputEntry {
  path: string;
  /** Declared size when the container knows it (tar header, zip directory, file system). */
  size: number | undefined;
  stream: Readable;
}

/** Called for each file; must consume or destroy the stream before resolving. */
export type EntryHandler = (entry: InputEntry) => Promise<void>;

export type InputKind = 'dir' | 'zip' | 'tar.gz' | 'tar' | 'gz' | 'file';

export function inputKind(path: string, isDirectory: boolean): InputKind {
  if (isDirectory) return 'dir';
  const lower = path.toLowerCase();
  if (lower.endsWith('.zip')) return 'zip';
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) return 'tar.gz';
  if (lower.endsWith('.tar')) return 'tar';
  if (lower.endsWith('.gz')) return 'gz';
  return 'file';
}

function badArchive(file: string, why: string, cause?: unknown): AppError {
  return new AppError('BAD_INPUT', `cannot read ${file}: ${why}; check the file is complete (download it again) and in a supported format (.zip, .tar.gz, .gz, directory, single file)`, {
    cause,
    details: { file },
  });
}

/** Counts the bytes of one archive against its total cap. */
class Budget {
  private total = 0;
  private entries = 0;
  constructor(
    private readonly file: string,
    private readonly limits: ArchiveLimits,
  ) {}
  entry(): void {
    if (++this.entries > this.limits.maxEntries) {
      throw new AppError('TOO_LARGE', `${this.file} holds more than ${this.limits.maxEntries} entries; refusing it as a possible archive bomb`, {
        details: { file: this.file },
      });
    }
  }
  bytes(n: number): void {
    this.total += n;
    if (this.total > this.limits.maxArchiveBytes) {
      throw new AppError('TOO_LARGE', `${this.file} expands to more than ${this.limits.maxArchiveBytes} bytes; refusing it as a possible archive bomb`, {
        details: { file: this.file },
      });
    }
  }
}

/** A pass-through that charges every chunk to the archive budget. */
async function* metered(source: AsyncIterable<unknown>, budget: Budget): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    budget.bytes(buf.length);
    yield buf;
  }
}

/** Make sure an entry's bytes were read to the end, so the archive can move on. */
async function drain(stream: Readable): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return;
  stream.resume();
  await finished(stream);
}

async function walkTar(file: string, gz: boolean, limits: ArchiveLimits, onEntry: EntryHandler): Promise<void> {
  const extract = tar.extract();
  const budget = new Budget(file, limits);
  const source = createReadStream(file, { highWaterMark: 1024 * 1024 });
  const consume = (async () => {
    for await (const entry of extract) {
      budget.entry();
      if (entry.header.type !== 'file' && entry.header.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      const stream = Readable.from(metered(entry, budget), { objectMode: false });
      await onEntry({ path: entry.header.name, size: entry.header.size, stream });
      await drain(stream);
    }
  })();
  // When the consumer fails (a cap was hit) nobody drains the archive any more: tear it down.
  consume.catch(() => {
    source.destroy();
    extract.destroy();
  });
  const piped = gz ? pipeline(source, createGunzip({ chunkSize: 256 * 1024 }), extract) : pipeline(source, extract);
  const [pipeResult, consumeResult] = await Promise.allSettled([piped, consume]);
  // Prefer the error of our own budget, then the decompression error (the root cause) over the
  // premature-close error the consumer sees when the pipeline tears down.
  const errors: unknown[] = [];
  if (consumeResult.status === 'rejected') errors.push(consumeResult.reason);
  if (pipeResult.status === 'rejected') errors.push(pipeResult.reason);
  const own = errors.find((e) => e instanceof AppError);
  if (own) throw own;
  if (pipeResult.status === 'rejected') throw badArchive(file, describe(pipeResult.reason), pipeResult.reason);
  if (consumeResult.status === 'rejected') throw badArchive(file, describe(consumeResult.reason), consumeResult.reason);
}

function describe(error: unknown): string {
  const message = errorMessage(error);
  if (/unexpected end of file/i.test(message)) return 'the gzip stream is truncated';
  if (/incorrect header check|invalid (?:stored )?block|invalid distance|invalid code/i.test(message)) return `the gzip data is corrupt (${message})`;
  if (/Unexpected end of data|Invalid tar header|unexpected end/i.test(message)) return 'the tar archive is truncated or corrupt';
  return message;
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: true, validateEntrySizes: true, strictFileNames: false }, (err, zip) => {
      if (err) reject(err);
      else resolve(zip);
    });
  });
}

function openZipEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err) reject(err);
      else resolve(stream);
    });
  });
}

async function walkZip(file: string, limits: ArchiveLimits, onEntry: EntryHandler, onOversize: (path: string, size: number) => void): Promise<void> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(file);
  } catch (error) {
    throw badArchive(file, `not a valid zip archive (${errorMessage(error)})`, error);
  }
  const budget = new Budget(file, limits);
  await new Promise<void>((resolve, reject) => {
    const fail = (error: unknown): void => {
      zip.close();
      reject(error instanceof AppError ? error : badArchive(file, `the zip archive is corrupt (${errorMessage(error)})`, error));
    };
    zip.on('error', fail);
    zip.on('end', () => resolve());
    zip.on('entry', (entry: yauzl.Entry) => {
      void (async () => {
        budget.entry();
        if (entry.fileName.endsWith('/')) return;
        if (entry.uncompressedSize > limits.maxEntryBytes) {
          onOversize(entry.fileName, entry.uncompressedSize);
          return;
        }
        const raw = await openZipEntry(zip, entry);
          const stream = Readable.from(metered(raw, budget), { objectMode: false });
        await onEntry({ path: entry.fileName, size: entry.uncompressedSize, stream });
        await drain(stream);
      })().then(() => zip.readEntry(), fail);
    });
    zip.readEntry();
  });
}

async function walkDir(dir: string, limits: ArchiveLimits, onEntry: EntryHandler, onOversize: (path: string, size: number) => void): Promise<void> {
  const names = (await readdir(dir)).sort();
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path);
    if (info.isDirectory()) {
      await walkDir(path, limits, onEntry, onOversize);
      continue;
    }
    if (!info.isFile()) continue;
    const kind = inputKind(path, false);
    if (kind !== 'file') {
      await walkInput(path, limits, onEntry, onOversize);
      continue;
    }
    if (info.size > limits.maxEntryBytes) {
      onOversize(path, info.size);
      continue;
    }
    await onEntry({ path, size: info.size, stream: createReadStream(path) });
  }
}

/**
 * Offer every file of an input (directory, .zip, .tar.gz/.tgz, .tar, .gz, single file) to
 * `onEntry`, streaming: a tar entry is never held beyond what the handler keeps. Archives inside a
 * directory are opened too. A broken archive throws an AppError that names the file and the fault.
 */
export async function walkInput(
  path: string,
  limits: ArchiveLimits,
  onEntry: EntryHandler,
  onOversize: (path: string, size: number) => void,
): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new AppError('NOT_FOUND', `cannot read ${path}: no such file or directory`, { cause: error, details: { file: path } });
  }
  const kind = inputKind(path, info.isDirectory());
  switch (kind) {
    case 'dir':
      return walkDir(path, limits, onEntry, onOversize);
    case 'zip':
      return walkZip(path, limits, onEntry, onOversize);
    case 'tar.gz':
      return walkTar(path, true, limits, onEntry);
    case 'tar':
      return walkTar(path, false, limits, onEntry);
    case 'gz': {
      const budget = new Budget(path, limits);
      const gunzip = createReadStream(path).pipe(createGunzip());
      const stream = Readable.from(metered(gunzip, budget), { objectMode: false });
      try {
        await onEntry({ path: basename(path).replace(/\.gz$/i, ''), size: undefined, stream });
      } catch (error) {
        if (error instanceof AppError) throw error;
        throw badArchive(path, describe(error), error);
      }
      return;
    }
    case 'file':
      if (info.size > limits.maxEntryBytes) {
        onOversize(path, info.size);
        return;
      }
      return onEntry({ path, size: info.size, stream: createReadStream(path) });
  }
}
