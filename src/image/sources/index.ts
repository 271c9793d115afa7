import { resolve } from 'node:path';
import { formatPlatform, type Platform } from '../platform.js';
import { formatImageReference, type ImageSourceSpec } from '../reference.js';
import type { RegistryClient, RegistryClientOptions } from '../registry/client.js';
import { DESCRIBE_VERSION, layoutTarget, memoizedSource, registryTarget, type DescribeMemo } from './memo.js';
import { tarLayoutFiles } from './tar-index.js';
import type { ImageSource, LayoutFiles } from './types.js';

export type { ImageSource } from './types.js';
export type { DescribeMemo, DescribeRecord, SourceRead } from './memo.js';

export interface OpenSourceOptions {
  /** Platform to choose from an index (the CLI passes the host's: platformOfNodeArch(process.arch)). */
  platform: Platform;
  /** A client to reuse, or options to make one (registry sources only). */
  client?: RegistryClient;
  registry?: RegistryClientOptions;
  /**
   * Remembers what describing an image read and concluded, so describing it again replays the reads
   * instead of parsing (see memo.ts). Every kind but `dir:` uses it.
   */
  describeMemo?: DescribeMemo;
}

/**
 * Opens the image named by a parsed source spec (see parseImageSource). Each kind of source, and the
 * manifest parsing behind it, is loaded when that kind is asked for.
 */
export async function openImageSource(spec: ImageSourceSpec, options: OpenSourceOptions): Promise<ImageSource> {
  switch (spec.kind) {
    case 'registry': {
      const ref = spec.ref;
      const client = options.client ?? (await import('../registry/client.js')).createRegistryClient(options.registry);
      const open = async (c: RegistryClient): Promise<ImageSource> => (await import('./registry.js')).openRegistryImage(ref, { client: c, platform: options.platform });
      if (!options.describeMemo) return open(client);
      const key = memoKey('registry', formatImageReference(ref), undefined, options.platform);
      return memoizedSource('registry', options.describeMemo, key, registryTarget(client, { registry: ref.registry, repository: ref.repository }, open));
    }
    case 'oci-archive':
    case 'oci-layout': {
      const kind = spec.kind;
      const files =
        kind === 'oci-archive' ? await tarLayoutFiles(spec.path, `oci-archive:${spec.path}`) : await (await import('./layout-files.js')).ociLayoutDirFiles(spec.path);
      const layout = { platform: options.platform, ...(spec.tag ? { tag: spec.tag } : {}) };
      const open = async (f: LayoutFiles): Promise<ImageSource> => (await import('./oci-layout.js')).createLayoutSource(kind, f, layout);
      return withMemo(kind, spec.path, spec.tag, options, files, open);
    }
    case 'docker-archive': {
      const files = await tarLayoutFiles(spec.path, `docker-archive:${spec.path}`);
      const open = async (f: LayoutFiles): Promise<ImageSource> =>
        (await import('./docker-archive.js')).dockerArchiveSource(f, spec.tag ? { tag: spec.tag } : {});
      return withMemo('docker-archive', spec.path, spec.tag, options, files, open);
    }
    case 'dir':
      return (await import('./rootfs.js')).openRootfs(spec.path, { platform: options.platform });
  }
}

function memoKey(kind: string, name: string, tag: string | undefined, platform: Platform): string {
  return [DESCRIBE_VERSION, kind, name, tag ?? '', formatPlatform(platform)].join('\u0000');
}

function withMemo(
  kind: string,
  path: string,
  tag: string | undefined,
  options: OpenSourceOptions,
  files: LayoutFiles,
  open: (files: LayoutFiles) => Promise<ImageSource>,
): Promise<ImageSource> | ImageSource {
  if (!options.describeMemo) return open(files);
  return memoizedSource(kind, options.describeMemo, memoKey(kind, resolve(path), tag, options.platform), layoutTarget(files, open));
}
