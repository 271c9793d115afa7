import type { Readable } from 'node:stream';
import type { ImageManifestInfo } from '../oci.js';

/**
 * Where an image comes from. `describe` reads manifest and config (small, validated); `openLayer` gives
 * one layer blob as stored (compressed), already wrapped in digest and size verification when the
 * source knows them. The walker decompresses it.
 */
export interface ImageSource {
  /** 'registry' | 'oci-archive' | 'oci-layout' | 'docker-archive' | 'dir', for messages and logs. */
  readonly kind: string;
  describe(): Promise<ImageManifestInfo>;
  openLayer(digest: string): Promise<Readable>;
  /** Releases file handles and temp files; safe to call twice. */
  close(): Promise<void>;
}

/** Read access to the files of an OCI image layout, whether a directory or entries of a tar archive. */
export interface LayoutFiles {
  /** A human name for messages ('oci-archive:app.tar'). */
  readonly label: string;
  exists(path: string): Promise<boolean>;
  /** Size in bytes of a file, or undefined when absent. */
  size(path: string): Promise<number | undefined>;
  readFile(path: string, maxBytes: number): Promise<Buffer>;
  open(path: string): Readable;
  close(): Promise<void>;
}
