import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import type { Advisory, EpssScore, KevEntry } from '../../../../core/types.js';
import type { FeedFormat, FeedSink } from '../../../types.js';

/** Test helper: runs one feed format over every file of a real archive in ../shared/vulndata. */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../..');
export const VULNDATA_DIR = path.resolve(repoRoot, '../shared/vulndata');

export function archivePath(name: string): string {
  return path.join(VULNDATA_DIR, name);
}

export function archiveExists(name: string): boolean {
  return existsSync(archivePath(name));
}

export interface ArchiveRun {
  files: number;
  detected: number;
  advisories: number;
  affected: number;
  /** skip reason with the variable parts (numbers, quoted words) blanked → count */
  skipReasons: Map<string, number>;
  skips: number;
  parseMs: number;
  /** one sample advisory by id, for spot checks */
  sample: Map<string, Advisory>;
}

/** Streams the .tar.gz, offers every regular file to `format.detect` and parses the detected ones. */
export async function runArchive(name: string, format: FeedFormat, sampleIds: readonly string[] = []): Promise<ArchiveRun> {
  const run: ArchiveRun = {
    files: 0,
    detected: 0,
    advisories: 0,
    affected: 0,
    skipReasons: new Map(),
    skips: 0,
    parseMs: 0,
    sample: new Map(),
  };
  const wanted = new Set(sampleIds);
  const sink: FeedSink = {
    advisory(advisory: Advisory) {
      run.advisories++;
      run.affected += advisory.affected.length;
      if (wanted.has(advisory.id)) run.sample.set(advisory.id, advisory);
    },
    kev(_entry: KevEntry) {
      throw new Error('a distro feed produced a KEV entry');
    },
    epss(_entry: EpssScore) {
      throw new Error('a distro feed produced an EPSS score');
    },
    skip(reason: string) {
      run.skips++;
      const key = reason.replace(/'[^']*'|"[^"]*"|\d+/g, '…');
      run.skipReasons.set(key, (run.skipReasons.get(key) ?? 0) + 1);
    },
  };
  const tar = extract();
  const done = new Promise<void>((resolve, reject) => {
    tar.on('entry', (header, stream, next) => {
      if (header.type !== 'file') {
        stream.resume();
        stream.on('end', next);
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => {
        if (Buffer.isBuffer(chunk)) chunks.push(chunk);
      });
      stream.on('error', reject);
      stream.on('end', () => {
        run.files++;
        const data = Buffer.concat(chunks);
        const started = performance.now();
        try {
          if (format.detect(header.name, data.subarray(0, 4096))) {
            run.detected++;
            format.parseFile(header.name, data, sink);
          }
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        run.parseMs += performance.now() - started;
        next();
      });
    });
    tar.on('finish', resolve);
    tar.on('error', reject);
  });
  const input = createReadStream(archivePath(name)).pipe(createGunzip());
  input.on('error', (error) => tar.destroy(error));
  input.pipe(tar);
  await done;
  return run;
}

/** Calls `visit(path, head)` for the first `limit` regular files of an archive (head = first 4 KiB). */
export async function forEachHead(name: string, limit: number, visit: (path: string, head: Buffer) => void): Promise<number> {
  let seen = 0;
  const tar = extract();
  const input = createReadStream(archivePath(name));
  const gunzip = createGunzip();
  await new Promise<void>((resolve, reject) => {
    const stop = () => {
      input.destroy();
      gunzip.destroy();
      tar.destroy();
      resolve();
    };
    tar.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: unknown) => {
        if (Buffer.isBuffer(chunk) && size < 4096) {
          chunks.push(chunk);
          size += chunk.length;
        }
      });
      stream.on('error', reject);
      stream.on('end', () => {
        if (header.type === 'file') {
          seen++;
          visit(header.name, Buffer.concat(chunks).subarray(0, 4096));
        }
        if (seen >= limit) stop();
        else next();
      });
    });
    tar.on('finish', resolve);
    tar.on('error', reject);
    gunzip.on('error', reject);
    input.pipe(gunzip).pipe(tar);
  });
  return seen;
}
