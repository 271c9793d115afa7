import Database from 'better-sqlite3';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AppError, errorMessage, type Clock, type Logger } from '../core/index.js';
import type { DownloadRecord } from './builder.js';
import { importFeeds, type ImportProgress, type ImportResult } from './import.js';

const feedList = z.object({
  feeds: z.array(z.object({ id: z.string(), group: z.string(), base: z.string().url(), path: z.string() })),
});
export type FeedDownload = z.infer<typeof feedList>['feeds'][number];

/** The live feeds and their official URLs, from feeds.json beside this file (sources noted there). */
export function loadFeedDownloads(): FeedDownload[] {
  const file = join(dirname(fileURLToPath(import.meta.url)), 'feeds.json');
  return feedList.parse(JSON.parse(readFileSync(file, 'utf8'))).feeds;
}

export type UpdateProgress =
  | { phase: 'download'; feed: string; bytes: number; total: number | undefined; status: 'fetching' | 'not-modified' | 'downloaded' | 'retrying' }
  | ({ phase: 'import' } & ImportProgress);

export interface UpdateOptions {
  dbPath: string;
  clock: Clock;
  log: Logger;
  /** Replaces the base of every URL: feeds are fetched from `<mirror>/<group>/<path>`. */
  mirror?: string;
  /** Feed groups ('osv', 'alpine-secdb', 'kev', 'epss') or feed ids ('osv:Debian') to download; default all. */
  sources?: readonly string[];
  feeds?: readonly FeedDownload[];
  /** Where raw downloads are kept between runs (default: `<dbPath>.feeds`). */
  cacheDir?: string;
  attempts?: number;
  retryDelayMs?: number;
  /** Largest download accepted, in bytes. */
  maxDownloadBytes?: number;
  onProgress?: (progress: UpdateProgress) => void;
}

export interface UpdateResult extends ImportResult {
  downloaded: string[];
  notModified: string[];
}

export function feedUrl(feed: FeedDownload, mirror: string | undefined): string {
  const path = feed.path.split('/').map(encodeURIComponent).join('/');
  if (mirror) return `${mirror.replace(/\/+$/, '')}/${encodeURIComponent(feed.group)}/${path}`;
  return `${feed.base.replace(/\/+$/, '')}/${path}`;
}

function cachePath(cacheDir: string, feed: FeedDownload): string {
  return join(cacheDir, feed.group, ...feed.path.split('/'));
}

function previousDownloads(dbPath: string): Map<string, DownloadRecord> {
  const out = new Map<string, DownloadRecord>();
  if (!existsSync(dbPath)) return out;
  try {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      const rows = db
        .prepare<[], { url: string; etag: string | null; last_modified: string | null; fetched_at: string }>('SELECT url, etag, last_modified, fetched_at FROM downloads')
        .all();
      for (const r of rows) {
        const rec: DownloadRecord = { url: r.url, fetchedAt: r.fetched_at };
        if (r.etag) rec.etag = r.etag;
        if (r.last_modified) rec.lastModified = r.last_modified;
        out.set(r.url, rec);
      }
    } finally {
      db.close();
    }
  } catch {
    // An unreadable old DB only costs unconditional downloads.
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class RetryableError extends Error {}

async function fetchOnce(
  url: string,
  previous: DownloadRecord | undefined,
  target: string,
  maxBytes: number,
  onBytes: (bytes: number, total: number | undefined) => void,
): Promise<{ status: 'not-modified' } | { status: 'downloaded'; etag?: string; lastModified?: string }> {
  const headers: Record<string, string> = {};
  if (previous?.etag) headers['if-none-match'] = previous.etag;
  if (previous?.lastModified) headers['if-modified-since'] = previous.lastModified;
  let response: Response;
  try {
    response = await fetch(url, { headers, redirect: 'follow' });
  } catch (error) {
    throw new RetryableError(`cannot reach ${url}: ${errorMessage(error)}`);
  }
  if (response.status === 304 && previous) return { status: 'not-modified' };
  if (response.status >= 500 || response.status === 429) {
    await response.body?.cancel();
    throw new RetryableError(`${url} answered HTTP ${response.status}`);
  }
  if (response.status !== 200 || !response.body) {
    await response.body?.cancel();
    throw new AppError('UPSTREAM', `${url} answered HTTP ${response.status}; check the URL or the --mirror layout`, { details: { url } });
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  const total = Number.isFinite(declared) ? declared : undefined;
  if (total !== undefined && total > maxBytes) {
    await response.body.cancel();
    throw new AppError('TOO_LARGE', `${url} is ${total} bytes, more than the ${maxBytes} accepted`, { details: { url } });
  }
  mkdirSync(dirname(target), { recursive: true });
  let bytes = 0;
  const body = Readable.fromWeb(response.body);
  body.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes > maxBytes) body.destroy(new AppError('TOO_LARGE', `${url} sent more than the ${maxBytes} bytes accepted`, { details: { url } }));
    onBytes(bytes, total);
  });
  try {
    await pipeline(body, createWriteStream(target));
  } catch (error) {
    rmSync(target, { force: true });
    if (error instanceof AppError) throw error;
    throw new RetryableError(`download of ${url} broke off after ${bytes} bytes: ${errorMessage(error)}`);
  }
  if (total !== undefined && bytes !== total) {
    rmSync(target, { force: true });
    throw new RetryableError(`download of ${url} is truncated: ${bytes} of ${total} bytes`);
  }
  const result: { status: 'downloaded'; etag?: string; lastModified?: string } = { status: 'downloaded' };
  const etag = response.headers.get('etag');
  const lastModified = response.headers.get('last-modified');
  if (etag) result.etag = etag;
  if (lastModified) result.lastModified = lastModified;
  return result;
}

/**
 * Download the live feeds (conditional requests, retries with backoff), then rebuild the advisory
 * DB from every cached feed and swap it in atomically. Any failure — unreachable feed, truncated
 * download, broken archive — leaves the existing DB and the cached feeds as they were.
 */
export async function updateFeeds(options: UpdateOptions): Promise<UpdateResult> {
  const dbPath = resolve(options.dbPath);
  const cacheDir = resolve(options.cacheDir ?? `${dbPath}.feeds`);
  const all = options.feeds ?? loadFeedDownloads();
  const wanted = options.sources && options.sources.length > 0 ? new Set(options.sources) : undefined;
  if (wanted) {
    const known = new Set(all.flatMap((f) => [f.group, f.id]));
    const unknown = [...wanted].filter((s) => !known.has(s));
    if (unknown.length > 0) {
      throw new AppError('BAD_INPUT', `unknown source(s) ${unknown.join(', ')}; choose from ${[...new Set(all.map((f) => f.group))].join(', ')} or a feed id such as ${all[0]?.id ?? 'osv:Debian'}`);
    }
  }
  const selected = all.filter((f) => !wanted || wanted.has(f.group) || wanted.has(f.id));
  const attempts = options.attempts ?? 4;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const maxBytes = options.maxDownloadBytes ?? 4 * 1024 * 1024 * 1024;
  const previous = previousDownloads(dbPath);
  const state = new Map(previous);
  const staged: { part: string; final: string }[] = [];
  const downloaded: string[] = [];
  const notModified: string[] = [];
  const progress = options.onProgress;

  try {
    for (const feed of selected) {
      const url = feedUrl(feed, options.mirror);
      const final = cachePath(cacheDir, feed);
      // Staged under the same relative path (formats detect by file and folder names) until the
      // new DB is in place.
      const part = cachePath(join(cacheDir, '.staging'), feed);
      const prev = existsSync(final) ? previous.get(url) : undefined;
      progress?.({ phase: 'download', feed: feed.id, bytes: 0, total: undefined, status: 'fetching' });
      for (let attempt = 1; ; attempt++) {
        try {
          const result = await fetchOnce(url, prev, part, maxBytes, (bytes, total) =>
            progress?.({ phase: 'download', feed: feed.id, bytes, total, status: 'fetching' }),
          );
          const fetchedAt = options.clock.now().toISOString();
          if (result.status === 'not-modified') {
            notModified.push(feed.id);
            progress?.({ phase: 'download', feed: feed.id, bytes: 0, total: undefined, status: 'not-modified' });
          } else {
            staged.push({ part, final });
            downloaded.push(feed.id);
            const rec: DownloadRecord = { url, fetchedAt };
            if (result.etag) rec.etag = result.etag;
            if (result.lastModified) rec.lastModified = result.lastModified;
            state.set(url, rec);
            progress?.({ phase: 'download', feed: feed.id, bytes: 0, total: undefined, status: 'downloaded' });
          }
          break;
        } catch (error) {
          if (!(error instanceof RetryableError)) throw error;
          if (attempt >= attempts) {
            throw new AppError('UPSTREAM', `${error.message} (gave up after ${attempts} attempts); the advisory DB was left unchanged`, {
              details: { url },
            });
          }
          options.log.warn({ url, attempt, error: error.message }, 'feed download failed, retrying');
          progress?.({ phase: 'download', feed: feed.id, bytes: 0, total: undefined, status: 'retrying' });
          await sleep(retryDelayMs * 2 ** (attempt - 1));
        }
      }
    }

    // Build from the fresh downloads plus every cached feed that was not re-downloaded.
    const stagedFinals = new Set(staged.map((s) => s.final));
    const inputs = [
      ...staged.map((s) => s.part),
      ...all.map((f) => cachePath(cacheDir, f)).filter((p) => !stagedFinals.has(p) && existsSync(p)),
    ];
    const result = await importFeeds({
      inputs,
      dbPath,
      clock: options.clock,
      log: options.log,
      downloads: [...state.values()],
      onProgress: (p) => progress?.({ phase: 'import', ...p }),
    });
    for (const s of staged) {
      mkdirSync(dirname(s.final), { recursive: true });
      renameSync(s.part, s.final);
    }
    return { ...result, downloaded, notModified };
  } finally {
    rmSync(join(cacheDir, '.staging'), { recursive: true, force: true });
  }
}
