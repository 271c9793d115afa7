import { AppError } from '../../core/errors.js';
import { verifyBytes, verified } from '../digest.js';
import {
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  choosePlatform,
  configSchema,
  describeManifest,
  parseJson,
  parseManifestOrIndex,
  type Descriptor,
  type ImageIndex,
  type ImageManifestInfo,
  type Platform,
} from '../oci.js';
import { ociLayoutDirFiles } from './layout-files.js';
import { tarLayoutFiles } from './tar-index.js';
import type { ImageSource, LayoutFiles } from './types.js';

export { dirLayoutFiles } from './layout-files.js';

/**
 * An OCI image layout (oci-layout, index.json, blobs/sha256/…) read from a directory (`oci-layout:DIR`)
 * or from inside an uncompressed tar (`oci-archive:FILE`). A tag selects the manifest by its
 * `org.opencontainers.image.ref.name` annotation; nested indexes are followed to the platform asked for.
 */

const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';
const MAX_INDEX_DEPTH = 4;

export interface LayoutSourceOptions {
  tag?: string;
  platform: Platform;
}

export function blobPath(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  if (!algorithm || !hex || !/^[a-z0-9]+$/.test(algorithm) || !/^[a-f0-9]+$/.test(hex)) {
    throw new AppError('BAD_INPUT', `"${digest}" is not a digest`);
  }
  return `blobs/${algorithm}/${hex}`;
}

async function readBlob(files: LayoutFiles, descriptor: { digest: string; size?: number }, max: number, what: string): Promise<Buffer> {
  const path = blobPath(descriptor.digest);
  const bytes = await files.readFile(path, max);
  verifyBytes(bytes, descriptor.digest, `${what} ${descriptor.digest} in ${files.label}`);
  return bytes;
}

function selectFromTopIndex(index: ImageIndex, tag: string | undefined, platform: Platform, label: string): Descriptor {
  if (tag !== undefined) {
    const found = index.manifests.find((d) => {
      const name = d.annotations?.[REF_NAME];
      const full = d.annotations?.[CONTAINERD_NAME];
      return name === tag || full === tag || (full !== undefined && full.endsWith(`:${tag}`) && name === undefined);
    });
    if (!found) {
      const tags = index.manifests.map((d) => d.annotations?.[REF_NAME]).filter((t): t is string => t !== undefined);
      throw new AppError('NOT_FOUND', `${label} has no image tagged "${tag}" (tags: ${tags.join(', ') || 'none'}); pick one of those`, {
        details: { tag },
      });
    }
    return found;
  }
  const [only, ...more] = index.manifests;
  if (!only) throw new AppError('BAD_INPUT', `${label} has an empty index.json; it holds no image`);
  // One image per platform at the top level (buildx --output type=oci): choose by platform.
  if (more.length > 0 && index.manifests.every((d) => d.platform !== undefined)) return choosePlatform(index, platform, label);
  if (more.length > 0) {
    const tags = index.manifests.map((d) => d.annotations?.[REF_NAME] ?? d.digest.slice(0, 19)).join(', ');
    throw new AppError('BAD_INPUT', `${label} holds ${index.manifests.length} images (${tags}); name one with ${label}:TAG`);
  }
  return only;
}

export function createLayoutSource(kind: string, files: LayoutFiles, options: LayoutSourceOptions): ImageSource {
  let described: ImageManifestInfo | undefined;
  const layerSizes = new Map<string, number>();

  const describe = async (): Promise<ImageManifestInfo> => {
    if (described) return described;
    if (!(await files.exists('index.json'))) {
      throw new AppError('BAD_INPUT', `${files.label} has no index.json; it is not an OCI image layout`);
    }
    const topIndex = parseManifestOrIndex(await files.readFile('index.json', MAX_MANIFEST_BYTES), undefined, `index.json of ${files.label}`);
    if (topIndex.kind !== 'index') throw new AppError('BAD_INPUT', `index.json of ${files.label} is not an image index`);
    let descriptor = selectFromTopIndex(topIndex.index, options.tag, options.platform, files.label);
    const repoTags = new Set<string>();
    const name = descriptor.annotations?.[CONTAINERD_NAME] ?? descriptor.annotations?.[REF_NAME];
    if (name !== undefined) repoTags.add(name);
    for (let depth = 0; ; depth++) {
      const bytes = await readBlob(files, descriptor, MAX_MANIFEST_BYTES, 'manifest');
      const doc = parseManifestOrIndex(bytes, descriptor.mediaType, `manifest ${descriptor.digest} in ${files.label}`);
      if (doc.kind === 'index') {
        if (depth >= MAX_INDEX_DEPTH) throw new AppError('BAD_INPUT', `${files.label} nests image indexes more than ${MAX_INDEX_DEPTH} deep`);
        descriptor = choosePlatform(doc.index, options.platform, `${files.label}`);
        continue;
      }
      const manifest = doc.manifest;
      const config = parseJson(await readBlob(files, manifest.config, MAX_CONFIG_BYTES, 'config'), configSchema, `config of ${files.label}`);
      for (const l of manifest.layers) layerSizes.set(l.digest, l.size);
      const fallback = { os: descriptor.platform?.os ?? 'linux', architecture: descriptor.platform?.architecture ?? 'unknown' };
      described = describeManifest(descriptor.digest, manifest, config, fallback, [...repoTags], files.label);
      return described;
    }
  };

  return {
    kind,
    describe,
    openLayer: async (digest) => {
      await describe();
      const size = layerSizes.get(digest);
      if (size === undefined) throw new AppError('NOT_FOUND', `layer ${digest} is not part of the image in ${files.label}`);
      const path = blobPath(digest);
      const actual = await files.size(path);
      if (actual === undefined) throw new AppError('NOT_FOUND', `${files.label} lacks the blob of layer ${digest}; the layout is incomplete`);
      if (actual > size) {
        throw new AppError('BAD_INPUT', `layer ${digest} in ${files.label} is ${actual} bytes, more than the ${size} bytes its manifest declares`, {
          details: { layer: digest },
        });
      }
      return verified(files.open(path), digest, size, `layer ${digest}`);
    },
    close: () => files.close(),
  };
}

export async function openOciLayout(dir: string, options: LayoutSourceOptions): Promise<ImageSource> {
  return createLayoutSource('oci-layout', await ociLayoutDirFiles(dir), options);
}

export async function openOciArchive(file: string, options: LayoutSourceOptions): Promise<ImageSource> {
  const files = await tarLayoutFiles(file, `oci-archive:${file}`);
  return createLayoutSource('oci-archive', files, options);
}
