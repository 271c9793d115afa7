import { createReadStream, existsSync, readdirSync, statSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { AppError } from '../../core/index.js';

/**
 * Reading audit logs: JSON lines, plain or gzip, one file or a directory of rotated files, read once
 * or followed like `tail -F` (across rotation). Lines longer than the cap are dropped without being
 * held in memory and reported to the caller, so memory stays bounded whatever the input.
 */

export const DEFAULT_MAX_LINE_BYTES = 4 * 1024 * 1024;

export type LineItem = { kind: 'line'; text: string } | { kind: 'oversize'; bytes: number };

const NEWLINE = 0x0a;

/** Splits a byte stream into lines; a line over `maxLineBytes` is reported as oversize and skipped. */
export async function* splitLines(chunks: AsyncIterable<Buffer | string>, maxLineBytes = DEFAULT_MAX_LINE_BYTES): AsyncGenerator<LineItem> {
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let discarding = false;
  let discarded = 0;
  for await (const raw of chunks) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl === -1) break;
      if (discarding) {
        yield { kind: 'oversize', bytes: discarded + nl - start };
        discarding = false;
        discarded = 0;
      } else if (carryBytes + nl - start > maxLineBytes) {
        yield { kind: 'oversize', bytes: carryBytes + nl - start };
        carry = [];
        carryBytes = 0;
      } else {
        let end = nl;
        let text: string;
        if (carryBytes === 0) {
          if (end > start && chunk[end - 1] === 0x0d) end -= 1;
          text = chunk.toString('utf8', start, end);
        } else {
          carry.push(chunk.subarray(start, end));
          const joined = Buffer.concat(carry);
          const stop = joined.length > 0 && joined[joined.length - 1] === 0x0d ? joined.length - 1 : joined.length;
          text = joined.toString('utf8', 0, stop);
          carry = [];
          carryBytes = 0;
        }
        if (text.length > 0) yield { kind: 'line', text };
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.length - start;
      if (discarding) discarded += rest;
      else if (carryBytes + rest > maxLineBytes) {
        discarding = true;
        discarded = carryBytes + rest;
        carry = [];
        carryBytes = 0;
      } else {
        // Copy: the stream may reuse its buffer.
        carry.push(Buffer.from(chunk.subarray(start)));
        carryBytes += rest;
      }
    }
  }
  if (discarding) yield { kind: 'oversize', bytes: discarded };
  else if (carryBytes > 0) {
    const text = Buffer.concat(carry).toString('utf8').replace(/\r$/, '');
    if (text.length > 0) yield { kind: 'line', text };
  }
}

const AUDIT_FILE = /\.(log|json|jsonl|ndjson)(\.gz)?$|\.log\.\d+(\.gz)?$|\.gz$/;

/**
 * Expands the paths given on the command line: a directory stands for its audit files (rotated
 * backups first, by modification time, then the live file), a file for itself.
 */
export function expandAuditPaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) throw new AppError('NOT_FOUND', `audit log ${path} does not exist: pass audit log files or a directory of them`);
    if (statSync(path).isDirectory()) {
      const files = readdirSync(path)
        .filter((name) => AUDIT_FILE.test(name))
        .map((name) => join(path, name))
        .filter((file) => statSync(file).isFile())
        .map((file) => ({ file, mtime: statSync(file).mtimeMs }))
        .sort((a, b) => a.mtime - b.mtime || (a.file < b.file ? -1 : 1))
        .map((f) => f.file);
      if (files.length === 0) throw new AppError('NOT_FOUND', `directory ${path} holds no audit log files (*.log, *.json, *.jsonl, *.gz)`);
      out.push(...files);
    } else {
      out.push(path);
    }
  }
  return out;
}

async function isGzip(path: string): Promise<boolean> {
  if (path.endsWith('.gz')) return true;
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const n = readSync(fd, head, 0, 2, 0);
    return n === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** The bytes of one file, gunzipped when it is gzip (by name or magic bytes). */
export async function* readFileChunks(path: string): AsyncGenerator<Buffer> {
  const stream = createReadStream(path, { highWaterMark: 256 * 1024 });
  const source: AsyncIterable<Buffer> = (await isGzip(path)) ? stream.pipe(createGunzip({ chunkSize: 256 * 1024 })) : stream;
  for await (const chunk of source) yield chunk;
}

export interface FollowOptions {
  signal: AbortSignal;
  /** Poll interval in ms. Default 500. */
  intervalMs?: number;
  /** Start at the end of the file (like `tail -f`) instead of the beginning. Default false. */
  fromEnd?: boolean;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Follows a plain (not gzip) file: yields what is appended, and when the file is rotated (a new
 * inode at the path) or truncated, reads the new file from its start. Ends when `signal` aborts.
 */
export async function* followFileChunks(path: string, options: FollowOptions): AsyncGenerator<Buffer> {
  const interval = options.intervalMs ?? 500;
  const sleep = options.sleep ?? defaultSleep;
  const buffer = Buffer.alloc(256 * 1024);
  let fd: number | undefined;
  let ino = -1;
  let pos = 0;
  let first = true;
  try {
    while (!options.signal.aborted) {
      if (fd === undefined && existsSync(path)) {
        fd = openSync(path, 'r');
        const st = fstatSync(fd);
        ino = st.ino;
        pos = first && options.fromEnd ? st.size : 0;
        first = false;
      }
      if (fd !== undefined) {
        const n = readSync(fd, buffer, 0, buffer.length, pos);
        if (n > 0) {
          pos += n;
          yield Buffer.from(buffer.subarray(0, n));
          continue;
        }
        const now = existsSync(path) ? statSync(path) : undefined;
        if (now === undefined || now.ino !== ino || now.size < pos) {
          closeSync(fd);
          fd = undefined;
          continue;
        }
      }
      await sleep(interval, options.signal);
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
