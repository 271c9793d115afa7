import { AppError } from '../../core/index.js';
import { formatImageReference, type ImageReference } from '../reference.js';
import { MAX_CONFIG_BYTES, choosePlatform, configSchema, describeManifest, parseJson, parseManifestOrIndex, type ImageManifestInfo, type Platform } from '../oci.js';
import type { RegistryClient } from '../registry/client.js';
import type { ImageSource } from './types.js';

/** An image in an OCI registry: manifest (platform chosen from an index), config, then layers on demand. */

export interface RegistrySourceOptions {
  client: RegistryClient;
  platform: Platform;
}

const MAX_INDEX_DEPTH = 4;

export function openRegistryImage(ref: ImageReference, options: RegistrySourceOptions): ImageSource {
  const repo = { registry: ref.registry, repository: ref.repository };
  const name = formatImageReference(ref);
  let described: Promise<ImageManifestInfo> | undefined;
  const sizes = new Map<string, number>();

  const load = async (): Promise<ImageManifestInfo> => {
    let reference = ref.digest ?? ref.tag ?? 'latest';
    for (let depth = 0; ; depth++) {
      const fetched = await options.client.getManifest(repo, reference);
      const doc = parseManifestOrIndex(fetched.bytes, fetched.mediaType, `manifest of ${name}`);
      if (doc.kind === 'index') {
        if (depth >= MAX_INDEX_DEPTH) throw new AppError('UPSTREAM', `${name} nests image indexes more than ${MAX_INDEX_DEPTH} deep`);
        reference = choosePlatform(doc.index, options.platform, name).digest;
        continue;
      }
      const manifest = doc.manifest;
      const configBytes = await options.client.readBlob(repo, manifest.config.digest, manifest.config.size, MAX_CONFIG_BYTES);
      const config = parseJson(configBytes, configSchema, `config of ${name}`);
      for (const l of manifest.layers) sizes.set(l.digest, l.size);
      const repoTags = ref.tag ? [`${ref.registry}/${ref.repository}:${ref.tag}`] : [];
      return describeManifest(fetched.digest, manifest, config, options.platform, repoTags, name);
    }
  };

  const describe = (): Promise<ImageManifestInfo> => {
    described ??= load();
    return described;
  };

  return {
    kind: 'registry',
    describe,
    openLayer: async (digest) => {
      await describe();
      const size = sizes.get(digest);
      if (size === undefined) throw new AppError('NOT_FOUND', `layer ${digest} is not part of ${name}`);
      return options.client.openBlob(repo, digest, size);
    },
    close: async () => {},
  };
}
