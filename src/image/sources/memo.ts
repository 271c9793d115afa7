import type { ImageManifestInfo } from '../oci.js';
import type { RegistryClient, RepositoryRef } from '../registry/client.js';
import type { ImageSource, LayoutFiles } from './types.js';

/**
 * A memo of `describe()`. Describing an image reads a few small documents (index.json, manifest,
 * config) and validates them; the result is a function of what those reads returned. So the memo
 * keeps the reads beside the result, and a later describe of the same image replays them: when
 * every one returns the same as before, the remembered result is the result, and neither the
 * manifest schemas nor the source's parser are loaded. When anything differs (the archive was
 * rebuilt, a blob is missing, the tag moved), the source describes as usual and the memo learns the
 * new answer.
 *
 * - Image files (oci-archive, oci-layout, docker-archive): every existence check, size and file read
 *   is replayed, and must give the same bytes.
 * - Registries: the first manifest request (the tag or digest asked for) is replayed; what follows is
 *   fetched by digest, so an unchanged top digest means unchanged content below it.
 */

/** Bumped when describe() of a source changes what it returns for the same documents: older records then miss. */
export const DESCRIBE_VERSION = 1;

/**
 * One read describe() made, with what it returned: a file's bytes (base64; these are small JSON
 * documents, and comparing them needs no hashing, so no crypto is loaded), a manifest's digest.
 */
export type SourceRead =
  | { op: 'exists'; path: string; result: boolean }
  | { op: 'size'; path: string; result: number | null }
  | { op: 'read'; path: string; maxBytes: number; result: string }
  | { op: 'manifest'; path: string; result: string };

export interface DescribeRecord {
  reads: SourceRead[];
  info: ImageManifestInfo;
}

/** Where records are kept (the scan cache); `key` names the image (archive path or reference, tag, platform). */
export interface DescribeMemo {
  getDescribe(key: string): DescribeRecord | undefined;
  putDescribe(key: string, record: DescribeRecord): void;
}

/** How to check a record against the image, and how to open the image for real. */
export interface MemoTarget {
  /** Whether every recorded read returns the same now (a failed file read is a difference; a registry error is thrown). */
  replay(reads: readonly SourceRead[]): Promise<boolean>;
  /** The real source; with `record`, the reads its describe() makes are told to it. */
  open(record?: (read: SourceRead) => void): Promise<ImageSource>;
  /** Releases what the target holds when no real source was opened. */
  close(): Promise<void>;
}

/** `files`, telling `record` each exists/size/readFile call and its result. */
export function recordingFiles(files: LayoutFiles, record: (read: SourceRead) => void): LayoutFiles {
  return {
    label: files.label,
    exists: async (path) => {
      const result = await files.exists(path);
      record({ op: 'exists', path, result });
      return result;
    },
    size: async (path) => {
      const result = await files.size(path);
      record({ op: 'size', path, result: result ?? null });
      return result;
    },
    readFile: async (path, maxBytes) => {
      const bytes = await files.readFile(path, maxBytes);
      record({ op: 'read', path, maxBytes, result: bytes.toString('base64') });
      return bytes;
    },
    open: (path) => files.open(path),
    close: () => files.close(),
  };
}

/** Whether every recorded call on `files` returns the same now. A read that fails is a difference, not an error. */
export async function replayReads(files: LayoutFiles, reads: readonly SourceRead[]): Promise<boolean> {
  try {
    for (const read of reads) {
      switch (read.op) {
        case 'exists':
          if ((await files.exists(read.path)) !== read.result) return false;
          break;
        case 'size':
          if (((await files.size(read.path)) ?? null) !== read.result) return false;
          break;
        case 'read':
          if ((await files.readFile(read.path, read.maxBytes)).toString('base64') !== read.result) return false;
          break;
        case 'manifest':
          return false;
      }
    }
    return true;
  } catch {
    return false;
  }
}

/** The target of an image read from files; `open` makes the real source over the files it is given. */
export function layoutTarget(files: LayoutFiles, open: (files: LayoutFiles) => Promise<ImageSource>): MemoTarget {
  return {
    replay: (reads) => replayReads(files, reads),
    open: (record) => open(record ? recordingFiles(files, record) : files),
    close: () => files.close(),
  };
}

/** The target of an image in a registry; `open` makes the real source with the client it is given. */
export function registryTarget(client: RegistryClient, repo: RepositoryRef, open: (client: RegistryClient) => Promise<ImageSource>): MemoTarget {
  return {
    replay: async (reads) => {
      const top = reads[0];
      if (top?.op !== 'manifest') return false;
      return (await client.getManifest(repo, top.path)).digest === top.result;
    },
    open: async (record) => {
      if (!record) return open(client);
      let first = true;
      return open({
        ...client,
        getManifest: async (r, reference) => {
          const fetched = await client.getManifest(r, reference);
          if (first) record({ op: 'manifest', path: reference, result: fetched.digest });
          first = false;
          return fetched;
        },
      });
    },
    close: async () => {},
  };
}

/**
 * An ImageSource whose describe() goes through `memo`. The real source is opened only when the memo
 * cannot answer, or when a layer is asked for.
 */
export function memoizedSource(kind: string, memo: DescribeMemo, key: string, target: MemoTarget): ImageSource {
  let source: ImageSource | undefined;
  let described: Promise<ImageManifestInfo> | undefined;

  const describeOnce = async (): Promise<ImageManifestInfo> => {
    const record = memo.getDescribe(key);
    if (record && (await target.replay(record.reads))) return record.info;
    const reads: SourceRead[] = [];
    let recording = true;
    source = await target.open((read) => {
      if (recording) reads.push(read);
    });
    const info = await source.describe();
    recording = false;
    memo.putDescribe(key, { reads, info });
    return info;
  };

  return {
    kind,
    describe: () => {
      described ??= describeOnce();
      return described;
    },
    openLayer: async (digest) => {
      source ??= await target.open();
      return source.openLayer(digest);
    },
    close: async () => {
      await (source ? source.close() : target.close());
    },
  };
}
