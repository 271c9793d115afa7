/**
 * The image area's public surface, for the scan pipeline: parse what the user typed, open the image,
 * walk its layers through the catalogers, tell the distro and whether it is end-of-life.
 */
export { parseImageReference, parseImageSource, formatImageReference, type ImageReference, type ImageSourceSpec } from './reference.js';
export { platformOfNodeArch, parsePlatform, formatPlatform, type ImageManifestInfo, type LayerInfo, type Platform, type ImageConfig } from './oci.js';
export { createRegistryClient, type RegistryClient, type RegistryClientOptions } from './registry/client.js';
export { type Credentials } from './registry/credentials.js';
export { openImageSource, type OpenSourceOptions } from './sources/index.js';
export type { ImageSource } from './sources/types.js';
export {
  walkImage,
  resolveSymlink,
  DEFAULT_WALK_LIMITS,
  type WalkOptions,
  type WalkOutput,
  type WalkLimits,
  type WalkProgress,
  type WalkStats,
  type WalkSkip,
  type SkipReason,
  type FileResult,
} from './walker.js';
export { osReleaseCataloger, resolveDistro, detectDistro } from './os/index.js';
export { endOfLife, isEndOfLife, type EndOfLife } from './os/eol.js';
