/**
 * Media types of OCI image-spec and Docker image manifest v2 schema 2 documents, and the size limits
 * of manifests and configs. Apart from oci.ts (the zod schemas) so that the registry client can ask
 * for a manifest without loading the schemas.
 */

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest];

/** Manifests and indexes above this size are refused (the distribution spec's own recommended limit). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Image configs above this size are refused. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
