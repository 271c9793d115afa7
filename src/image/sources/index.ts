import type { ImageSourceSpec } from '../reference.js';
import type { Platform } from '../oci.js';
import { createRegistryClient, type RegistryClient, type RegistryClientOptions } from '../registry/client.js';
import { openDockerArchive } from './docker-archive.js';
import { openOciArchive, openOciLayout } from './oci-layout.js';
import { openRegistryImage } from './registry.js';
import { openRootfs } from './rootfs.js';
import type { ImageSource } from './types.js';

export type { ImageSource } from './types.js';

export interface OpenSourceOptions {
  /** Platform to choose from an index (the CLI passes the host's: platformOfNodeArch(process.arch)). */
  platform: Platform;
  /** A client to reuse, or options to make one (registry sources only). */
  client?: RegistryClient;
  registry?: RegistryClientOptions;
}

/** Opens the image named by a parsed source spec (see parseImageSource). */
export async function openImageSource(spec: ImageSourceSpec, options: OpenSourceOptions): Promise<ImageSource> {
  switch (spec.kind) {
    case 'registry':
      return openRegistryImage(spec.ref, { client: options.client ?? createRegistryClient(options.registry), platform: options.platform });
    case 'oci-archive':
      return openOciArchive(spec.path, { platform: options.platform, ...(spec.tag ? { tag: spec.tag } : {}) });
    case 'oci-layout':
      return openOciLayout(spec.path, { platform: options.platform, ...(spec.tag ? { tag: spec.tag } : {}) });
    case 'docker-archive':
      return openDockerArchive(spec.path, spec.tag ? { tag: spec.tag } : {});
    case 'dir':
      return openRootfs(spec.path, { platform: options.platform });
  }
}
