import { statSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * `tail -F` for the sensor's event inputs: Falco's `file_output` and Tetragon's export log grow for
 * as long as the node runs and are rotated by size. The file is polled every `pollMs`:
 * - what was appended since the last read is passed on;
 * - a file replaced at the path (rotation: another inode) is read to its end, then the new file
 *   is read from its start;
 * - a file cut shorter than what was read (truncation, `copytruncate` rotation) is read again from
 *   its start;
 * - a path that does not exist yet (Tetragon not started) or was removed is waited for.
 * It ends when `signal` aborts. Polling, not inotify: a rotation that happens twice within one poll
 * loses what the middle file held (the counters of the shipping side do not see it either).
 */
export interface FollowOptions {
  signal: AbortSignal;
  /** Default 250 ms. */
  pollMs?: number;
  /** Read what the file already holds (default: start where it ends when followFile is called, so a restart does not replay old events). */
  fromStart?: boolean;
  /** Told each time the file was rotated or truncated, for the counters. */
  onReopen?: (why: 'rotated' | 'truncated' | 'appeared') => void;
}

const CHUNK = 64 * 1024;

export function followFile(path: string, options: FollowOptions): Readable {
  // Where "its end" is, taken now rather than when the stream is first read.
  const now = options.fromStart === true ? undefined : statSync(path, { throwIfNoEntry: false });
  const start = now === undefined ? undefined : { inode: now.ino, size: now.size };
  return Readable.from(follow(path, options, start), { objectMode: false });
}

async function* follow(path: string, options: FollowOptions, start: { inode: number; size: number } | undefined): AsyncGenerator<Buffer> {
  const pollMs = options.pollMs ?? 250;
  const buffer = Buffer.allocUnsafe(CHUNK);
  let handle: FileHandle | undefined;
  let inode = -1;
  let offset = 0;

  /** Opens the file at the path; reading starts at `start.size` when it is still the file `start` saw, else at 0. */
  const openFile = async (): Promise<boolean> => {
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    const info = await handle.stat();
    inode = info.ino;
    offset = start !== undefined && start.inode === inode ? Math.min(start.size, info.size) : 0;
    return true;
  };
  async function* drain(file: FileHandle): AsyncGenerator<Buffer> {
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, CHUNK, offset);
      if (bytesRead === 0) return;
      offset += bytesRead;
      yield Buffer.from(buffer.subarray(0, bytesRead));
    }
  }

  try {
    await openFile();
    while (!options.signal.aborted) {
      if (handle === undefined) {
        if (await openFile()) options.onReopen?.('appeared');
      }
      if (handle !== undefined) {
        yield* drain(handle);
        const now = await stat(path).catch(() => undefined);
        if (now !== undefined && now.ino !== inode) {
          // Rotated: what was written to the old file before the switch, then the new file from its start.
          yield* drain(handle);
          await handle.close();
          handle = undefined;
          if (await openFile()) {
            options.onReopen?.('rotated');
            continue;
          }
        } else if (now !== undefined && now.size < offset) {
          offset = 0;
          options.onReopen?.('truncated');
          continue;
        }
      }
      await sleep(pollMs, undefined, { signal: options.signal }).catch(() => undefined);
    }
  } finally {
    await handle?.close();
  }
}
