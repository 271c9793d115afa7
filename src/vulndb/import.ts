import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AppError, errorMessage, type Clock, type Logger } from '../core/index.js';
import { DEFAULT_LIMITS, walkInput, type ArchiveLimits, type InputEntry } from './archive.js';
import { AdvisoryDbBuilder, type BuildSummary, type DownloadRecord } from './builder.js';
import { FEED_FORMATS } from './sources/registry.js';
import type { FeedFormat } from './types.js';

const HEAD_BYTES = 4096;
/** Feed id under which skips are counted that happen before a format is known. */
export const IMPORT_FEED = 'import';

export interface ImportProgress {
  /** The input being read (a path given to the import). */
  input: string;
  inputIndex: number;
  inputCount: number;
  /** Files offered to the feed formats so far, across inputs. */
  files: number;
  /** Bytes of those files. */
  bytes: number;
  done: boolean;
}

export interface ImportOptions {
  inputs: readonly string[];
  dbPath: string;
  clock: Clock;
  log: Logger;
  formats?: readonly FeedFormat[];
  limits?: Partial<ArchiveLimits>;
  onProgress?: (progress: ImportProgress) => void;
  /** Conditional-request state to carry into the new DB (set by `db update`). */
  downloads?: readonly DownloadRecord[];
}

export interface ImportResult extends BuildSummary {
  dbPath: string;
  dbBytes: number;
  files: number;
  bytes: number;
  /** Files no feed format recognised (READMEs, licences, schemas …). */
  unrecognised: number;
  elapsedMs: number;
}

interface ReadResult {
  format: FeedFormat | undefined;
  data: Buffer | undefined;
  oversize: boolean;
}

/** Read one entry: detect its format from the first bytes, then keep it whole only if a format wants it and it fits. */
async function readEntry(entry: InputEntry, formats: readonly FeedFormat[], maxBytes: number): Promise<ReadResult> {
  const chunks: Buffer[] = [];
  let length = 0;
  let decided = false;
  let format: FeedFormat | undefined;
  let keep = true;
  let oversize = false;
  const decide = (): void => {
    decided = true;
    const joined = Buffer.concat(chunks, length);
    const head = joined.subarray(0, HEAD_BYTES);
    format = formats.find((f) => f.detect(entry.path, head));
    if (!format) keep = false;
    chunks.length = 0;
    chunks.push(joined);
  };
  if (entry.size !== undefined && entry.size > maxBytes) {
    keep = false;
    oversize = true;
  }
  for await (const chunk of entry.stream) {
    if (!keep) continue;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    chunks.push(buf);
    length += buf.length;
    if (!decided && length >= HEAD_BYTES) decide();
    if (length > maxBytes) {
      keep = false;
      oversize = true;
      chunks.length = 0;
    }
  }
  if (!keep) return { format, data: undefined, oversize };
  if (!decided) decide();
  if (!format) return { format: undefined, data: undefined, oversize: false };
  return { format, data: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length), oversize: false };
}

/**
 * Build a fresh advisory DB at `dbPath` from the given inputs (directories, .zip, .tar.gz, .gz,
 * single files). The DB is written to a temporary file beside the target and renamed over it only
 * when every input was read: a broken input leaves the existing DB untouched. Bad records are
 * skipped and counted per feed; a broken archive is an AppError naming the file.
 */
export async function importFeeds(options: ImportOptions): Promise<ImportResult> {
  const started = performance.now();
  const formats = options.formats ?? FEED_FORMATS;
  const limits: ArchiveLimits = { ...DEFAULT_LIMITS, ...options.limits };
  if (options.inputs.length === 0) {
    throw new AppError('BAD_INPUT', 'no input given: name feed directories or archives (.zip, .tar.gz) to import');
  }
  const dbPath = resolve(options.dbPath);
  mkdirSync(dirname(dbPath), { recursive: true });
  const tmpPath = `${dbPath}.tmp-${randomBytes(6).toString('hex')}`;
  const builder = new AdvisoryDbBuilder(tmpPath, options.clock);
  let files = 0;
  let bytes = 0;
  let unrecognised = 0;
  try {
    for (const [index, input] of options.inputs.entries()) {
      const report = (done: boolean): void =>
        options.onProgress?.({ input, inputIndex: index, inputCount: options.inputs.length, files, bytes, done });
      report(false);
      await walkInput(
        input,
        limits,
        async (entry) => {
          const { format, data, oversize } = await readEntry(entry, formats, limits.maxEntryBytes);
          if (oversize) {
            builder.skip(format?.id ?? IMPORT_FEED, `file larger than ${limits.maxEntryBytes} bytes`, `${input}:${entry.path}`);
            return;
          }
          if (!format || !data) {
            unrecognised++;
            return;
          }
          files++;
          bytes += data.length;
          builder.fileSeen(format.id);
          try {
            format.parseFile(entry.path, data, builder.sinkFor(format.id));
          } catch (error) {
            builder.skip(format.id, `unusable file: ${errorMessage(error)}`, `${input}:${entry.path}`);
          }
          if (files % 2000 === 0) report(false);
        },
        (path, size) => builder.skip(IMPORT_FEED, `file larger than ${limits.maxEntryBytes} bytes`, `${input}:${path} (${size} bytes)`),
      );
      report(true);
    }
    if (files === 0) {
      // Replacing a DB with an empty one loses what was stored: refuse, and say what was read.
      throw new AppError(
        'BAD_INPUT',
        `none of ${options.inputs.join(', ')} holds a known advisory feed (${unrecognised} file(s) read, none recognised as OSV, ` +
          `Alpine secdb, Ubuntu tracker, Red Hat API, ALAS, KEV or EPSS); the advisory DB was left as it was`,
      );
    }
    builder.recordDownloads(options.downloads ?? []);
    const summary = builder.finish();
    renameSync(tmpPath, dbPath);
    const result: ImportResult = {
      ...summary,
      dbPath,
      dbBytes: statSync(dbPath).size,
      files,
      bytes,
      unrecognised,
      elapsedMs: Math.round(performance.now() - started),
    };
    options.log.info({ dbPath, files, elapsedMs: result.elapsedMs }, 'advisory DB built');
    return result;
  } catch (error) {
    builder.abort();
    rmSync(tmpPath, { force: true });
    throw error;
  }
}
