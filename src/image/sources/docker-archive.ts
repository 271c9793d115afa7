import { z } from 'zod';
import { AppError } from '../../core/errors.js';
import { sha256Digest, verified } from '../digest.js';
import { MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, MEDIA, configSchema, parseJson, type ImageManifestInfo, type LayerInfo } from '../oci.js';
import { tarLayoutFiles } from './tar-index.js';
import type { ImageSource, LayoutFiles } from './types.js';

/**
 * `docker save` output: manifest.json lists, per image, its config file, its RepoTags and its layer
 * files in order. Older Docker writes `<id>/layer.tar` (uncompressed; its sha256 is the diff_id); Docker
 * 25+ writes an OCI layout inside with layers at `blobs/sha256/<hex>`. Both are read by offset.
 */

const dockerManifestSchema = z
  .array(
    z.object({
      Config: z.string(),
      RepoTags: z.array(z.string()).nullish(),
      Layers: z.array(z.string()),
    }),
  )
  .min(1);

const BLOB_PATH = /^blobs\/sha256\/([a-f0-9]{64})$/;
const CONFIG_NAME = /(?:^|\/)([a-f0-9]{64})(?:\.json)?$/;

export interface DockerArchiveOptions {
  /** 'repo:tag' to pick one image from an archive that holds several. */
  tag?: string;
}

export async function openDockerArchive(file: string, options: DockerArchiveOptions = {}): Promise<ImageSource> {
  return dockerArchiveSource(await tarLayoutFiles(file, `docker-archive:${file}`), options);
}

/** The image of a `docker save` archive whose entries `files` reads (reads manifest.json and the config now). */
export async function dockerArchiveSource(files: LayoutFiles, options: DockerArchiveOptions = {}): Promise<ImageSource> {
  const label = files.label;
  if (!(await files.exists('manifest.json'))) {
    throw new AppError('BAD_INPUT', `${label} has no manifest.json; it is not the output of "docker save" (for an OCI layout use oci-archive:)`);
  }
  const entries = parseJson(await files.readFile('manifest.json', MAX_MANIFEST_BYTES), dockerManifestSchema, `manifest.json of ${label}`);
  let entry = entries[0];
  if (options.tag !== undefined) {
    const wanted = options.tag;
    entry = entries.find((e) => (e.RepoTags ?? []).some((t) => t === wanted || t === `docker.io/${wanted}` || t.endsWith(`/${wanted}`)));
    if (!entry) {
      const tags = entries.flatMap((e) => e.RepoTags ?? []);
      throw new AppError('NOT_FOUND', `${label} has no image tagged "${wanted}" (tags: ${tags.join(', ') || 'none'})`);
    }
  } else if (entries.length > 1) {
    const tags = entries.flatMap((e) => e.RepoTags ?? []);
    throw new AppError('BAD_INPUT', `${label} holds ${entries.length} images (${tags.join(', ')}); name one with ${label}:REPO:TAG`);
  }
  if (!entry) throw new AppError('BAD_INPUT', `manifest.json of ${label} lists no image`);
  const chosen = entry;

  const configBytes = await files.readFile(chosen.Config, MAX_CONFIG_BYTES);
  const configDigest = sha256Digest(configBytes);
  const named = CONFIG_NAME.exec(chosen.Config);
  if (named && `sha256:${named[1]}` !== configDigest) {
    throw new AppError('BAD_INPUT', `config ${chosen.Config} in ${label} has digest ${configDigest}, not the one its name says; the archive is corrupt`);
  }
  const config = parseJson(configBytes, configSchema, `config of ${label}`);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length > 0 && diffIds.length !== chosen.Layers.length) {
    throw new AppError('BAD_INPUT', `${label} lists ${chosen.Layers.length} layers but its config names ${diffIds.length} diff_ids; the archive is corrupt`);
  }

  /** digest → path, size, and whether the digest names the stored bytes (so can be verified here). */
  const located = new Map<string, { path: string; size: number; verify: boolean }>();
  const layers: LayerInfo[] = [];
  for (const [i, path] of chosen.Layers.entries()) {
    const size = await files.size(path);
    if (size === undefined) throw new AppError('BAD_INPUT', `${label} lacks layer file ${path}; the archive is incomplete`);
    const blob = BLOB_PATH.exec(path);
    const diffId = diffIds[i];
    const digest = blob ? `sha256:${blob[1]}` : diffId;
    if (digest === undefined) throw new AppError('BAD_INPUT', `${label} gives no digest for layer ${path} (no diff_id in its config)`);
    located.set(digest, { path, size, verify: blob !== null });
    layers.push({ digest, mediaType: MEDIA.ociLayer, size, ...(diffId ? { diffId } : {}) });
  }

  const info: ImageManifestInfo = {
    digest: '',
    configDigest,
    config,
    layers,
    platform: { os: config.os ?? 'linux', architecture: config.architecture ?? 'unknown', ...(config.variant ? { variant: config.variant } : {}) },
    repoTags: chosen.RepoTags ?? [],
  };
  return {
    kind: 'docker-archive',
    describe: async () => info,
    openLayer: async (digest) => {
      const at = located.get(digest);
      if (!at) throw new AppError('NOT_FOUND', `layer ${digest} is not part of the image in ${label}`);
      return verified(files.open(at.path), at.verify ? digest : undefined, at.size, `layer ${digest}`);
    },
    close: () => files.close(),
  };
}
