/**
 * Builds small images for the tests: tar layers (tar-stream), gzip (zlib), and the OCI layout,
 * oci-archive and docker-archive structures around them, written into temp dirs the tests remove.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  body?: string | Buffer;
  linkname?: string;
  mode?: number;
}

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pack.on('data', (c: unknown) => {
      if (Buffer.isBuffer(c)) chunks.push(c);
    });
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const mode = e.mode ?? (type === 'directory' ? 0o755 : 0o644);
    if (type === 'file') {
      const body = typeof e.body === 'string' ? Buffer.from(e.body) : (e.body ?? Buffer.alloc(0));
      await new Promise<void>((resolve, reject) => pack.entry({ name: e.name, type, mode, size: body.length }, body, (err) => (err ? reject(err) : resolve())));
    } else {
      await new Promise<void>((resolve, reject) =>
        pack.entry({ name: e.name, type, mode, ...(e.linkname !== undefined ? { linkname: e.linkname } : {}) }, (err) => (err ? reject(err) : resolve())),
      );
    }
  }
  pack.finalize();
  return done;
}

export const gzip = (buf: Buffer): Buffer => gzipSync(buf);

export interface LayerSpec {
  /** The blob as stored. */
  blob: Buffer;
  /** The uncompressed tar (for the diff_id); undefined = same as blob. */
  tar?: Buffer;
  mediaType?: string;
  /** Overrides the diff_id written to the config. */
  diffId?: string;
  /** Overrides the size written to the manifest. */
  size?: number;
  /** Overrides the digest written to the manifest (the blob is still stored under its true digest unless storeAs says). */
  digest?: string;
}

export interface ImageSpec {
  layers: LayerSpec[];
  architecture?: string;
  tag?: string;
}

export interface BuiltImage {
  manifest: Buffer;
  manifestDigest: string;
  config: Buffer;
  configDigest: string;
  layerDigests: string[];
  /** digest → bytes of every blob (manifest, config, layers). */
  blobs: Map<string, Buffer>;
}

export function buildImage(spec: ImageSpec): BuiltImage {
  const blobs = new Map<string, Buffer>();
  const layerDigests = spec.layers.map((l) => l.digest ?? sha256(l.blob));
  for (const l of spec.layers) blobs.set(l.digest ?? sha256(l.blob), l.blob);
  const config = Buffer.from(
    JSON.stringify({
      architecture: spec.architecture ?? 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/bin'], Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: spec.layers.map((l) => l.diffId ?? sha256(l.tar ?? l.blob)) },
    }),
  );
  const configDigest = sha256(config);
  blobs.set(configDigest, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: spec.layers.map((l, i) => ({
        mediaType: l.mediaType ?? 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: layerDigests[i],
        size: l.size ?? l.blob.length,
      })),
    }),
  );
  const manifestDigest = sha256(manifest);
  blobs.set(manifestDigest, manifest);
  return { manifest, manifestDigest, config, configDigest, layerDigests, blobs };
}

function writeBlob(dir: string, bytes: Buffer, digest = sha256(bytes)): void {
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
}

/** Writes an OCI layout; `images` become index.json entries (tag → ref.name annotation). */
export function writeOciLayout(dir: string, images: { image: BuiltImage; tag?: string; platform?: { architecture: string; os: string; variant?: string } }[], nestAsIndex = false): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const { image } of images) for (const [digest, bytes] of image.blobs) writeBlob(dir, bytes, digest);
  const descriptors = images.map(({ image, tag, platform }) => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: image.manifestDigest,
    size: image.manifest.length,
    ...(platform ? { platform } : {}),
    ...(tag ? { annotations: { 'org.opencontainers.image.ref.name': tag } } : {}),
  }));
  let top = descriptors;
  if (nestAsIndex) {
    const inner = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: descriptors }));
    writeBlob(dir, inner);
    top = [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(inner), size: inner.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }];
  }
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: top }));
  return dir;
}

/** Packs every file under `dir` into an uncompressed tar (an oci-archive when dir is a layout). */
export async function tarDirectory(dir: string): Promise<Buffer> {
  const entries: TarEntry[] = [];
  const visit = async (rel: string): Promise<void> => {
    for (const name of (await readdir(path.join(dir, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const s = await stat(path.join(dir, r));
      if (s.isDirectory()) {
        entries.push({ name: `${r}/`, type: 'directory' });
        await visit(r);
      } else entries.push({ name: r, body: await readFile(path.join(dir, r)) });
    }
  };
  await visit('');
  return makeTar(entries);
}

/** `docker save` output: old style (<id>/layer.tar, <hex>.json) or new style (OCI blobs inside). */
export async function makeDockerArchive(layerTars: Buffer[], repoTags: string[], style: 'legacy' | 'oci'): Promise<Buffer> {
  const diffIds = layerTars.map((t) => sha256(t));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } }));
  const configHex = sha256(config).slice(7);
  const entries: TarEntry[] = [];
  const layerPaths: string[] = [];
  for (const [i, t] of layerTars.entries()) {
    const p = style === 'legacy' ? `${(diffIds[i] ?? '').slice(7)}/layer.tar` : `blobs/sha256/${(diffIds[i] ?? '').slice(7)}`;
    layerPaths.push(p);
    entries.push({ name: p, body: t });
  }
  const configPath = style === 'legacy' ? `${configHex}.json` : `blobs/sha256/${configHex}`;
  entries.push({ name: configPath, body: config });
  entries.push({ name: 'manifest.json', body: JSON.stringify([{ Config: configPath, RepoTags: repoTags, Layers: layerPaths }]) });
  return makeTar(entries);
}
