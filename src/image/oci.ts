import { z } from 'zod';
import { AppError } from '../core/errors.js';
import { MEDIA } from './media.js';
import { formatPlatform, type Platform } from './platform.js';

export { platformOfNodeArch, parsePlatform, formatPlatform, type Platform } from './platform.js';
export { MEDIA, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, MAX_CONFIG_BYTES } from './media.js';

/** zod schemas of OCI image-spec and Docker image manifest v2 schema 2 documents (media types in media.ts). */

const digestSchema = z.string().regex(/^sha256:[a-f0-9]{64}$/, 'a sha256 digest');

export const platformSchema = z.object({
  architecture: z.string(),
  os: z.string(),
  variant: z.string().optional(),
  'os.version': z.string().optional(),
});

export const descriptorSchema = z.object({
  mediaType: z.string(),
  digest: digestSchema,
  size: z.number().int().nonnegative(),
  platform: platformSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type Descriptor = z.infer<typeof descriptorSchema>;

export const indexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ImageIndex = z.infer<typeof indexSchema>;

export const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ImageManifest = z.infer<typeof manifestSchema>;

export const configSchema = z.object({
  architecture: z.string().optional(),
  os: z.string().optional(),
  variant: z.string().optional(),
  created: z.string().optional(),
  config: z
    .object({
      Env: z.array(z.string()).nullish(),
      Cmd: z.array(z.string()).nullish(),
      Entrypoint: z.array(z.string()).nullish(),
      User: z.string().nullish(),
      WorkingDir: z.string().nullish(),
      ExposedPorts: z.record(z.string(), z.unknown()).nullish(),
      Labels: z.record(z.string(), z.string()).nullish(),
    })
    .nullish(),
  rootfs: z.object({ type: z.string(), diff_ids: z.array(digestSchema) }).optional(),
  history: z
    .array(
      z.object({
        created: z.string().optional(),
        created_by: z.string().optional(),
        empty_layer: z.boolean().optional(),
        comment: z.string().optional(),
      }),
    )
    .optional(),
});
export type ImageConfig = z.infer<typeof configSchema>;

export interface LayerInfo {
  /** Digest of the blob as stored (compressed); for a rootfs directory ''. */
  digest: string;
  mediaType: string;
  /** Compressed size in bytes; -1 when unknown (rootfs directory). */
  size: number;
  /** sha256 of the uncompressed tar, from the config's rootfs.diff_ids, when known. */
  diffId?: string;
}

/** What an ImageSource says about its image before any layer is read. */
export interface ImageManifestInfo {
  /** Digest of the image manifest ('' when there is none, e.g. a rootfs directory). */
  digest: string;
  /** Digest of the config blob ('' when there is none). */
  configDigest: string;
  config: ImageConfig;
  layers: LayerInfo[];
  platform: Platform;
  repoTags: string[];
}

/** Parses JSON bytes with a schema; failure is an AppError naming `what`. */
export function parseJson<T>(bytes: Buffer | string, schema: z.ZodType<T>, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (cause) {
    throw new AppError('BAD_INPUT', `${what} is not valid JSON; the image is damaged or not an OCI/Docker image`, { cause });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown';
    throw new AppError('BAD_INPUT', `${what} does not have the expected shape (${where}); the image is damaged or of an unsupported format`);
  }
  return parsed.data;
}

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList;
}

/** Tells an index from a manifest by its media type, or by its shape when the field is absent. */
export function parseManifestOrIndex(
  bytes: Buffer,
  contentType: string | undefined,
  what: string,
): { kind: 'index'; index: ImageIndex } | { kind: 'manifest'; manifest: ImageManifest } {
  const probe = parseJson(bytes, z.object({ schemaVersion: z.number().optional(), mediaType: z.string().optional(), manifests: z.unknown().optional() }), what);
  if (probe.schemaVersion === 1) {
    throw new AppError('UNSUPPORTED', `${what} is a Docker schema 1 manifest, which is not supported; push the image again with a current Docker or registry`);
  }
  const mediaType = probe.mediaType ?? contentType;
  if (isIndexMediaType(mediaType) || (mediaType === undefined && probe.manifests !== undefined)) {
    return { kind: 'index', index: parseJson(bytes, indexSchema, what) };
  }
  if (mediaType !== undefined && mediaType !== MEDIA.ociManifest && mediaType !== MEDIA.dockerManifest && probe.manifests !== undefined) {
    return { kind: 'index', index: parseJson(bytes, indexSchema, what) };
  }
  return { kind: 'manifest', manifest: parseJson(bytes, manifestSchema, what) };
}

/**
 * Chooses the manifest for `want` from an index: same os and architecture; the variant must match when
 * both name one (arm64 without a variant counts as v8). Attestation manifests (unknown/unknown) never match.
 */
export function choosePlatform(index: ImageIndex, want: Platform, what: string): Descriptor {
  const norm = (p: { architecture: string; variant?: string | undefined }): string | undefined =>
    p.variant ?? (p.architecture === 'arm64' ? 'v8' : undefined);
  const candidates = index.manifests.filter(
    (d) => d.platform !== undefined && d.platform.os === want.os && d.platform.architecture === want.architecture,
  );
  const wantVariant = norm(want);
  const exact = candidates.find((d) => d.platform !== undefined && (wantVariant === undefined || norm(d.platform) === wantVariant));
  const chosen = exact ?? (wantVariant === undefined ? candidates[0] : undefined);
  if (!chosen) {
    const offered = index.manifests
      .map((d) => (d.platform ? formatPlatform({ os: d.platform.os, architecture: d.platform.architecture, variant: d.platform.variant }) : '?'))
      .join(', ');
    throw new AppError('NOT_FOUND', `${what} has no image for platform ${formatPlatform(want)} (it offers: ${offered || 'none'}); choose one of those with --platform`);
  }
  return chosen;
}

/**
 * The ImageManifestInfo of a manifest and its config (shared by the registry and layout sources):
 * layers in order, each with the diff_id at the same index; the counts must agree.
 */
export function describeManifest(
  digest: string,
  manifest: ImageManifest,
  config: ImageConfig,
  fallback: Platform,
  repoTags: string[],
  what: string,
): ImageManifestInfo {
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length > 0 && diffIds.length !== manifest.layers.length) {
    throw new AppError('BAD_INPUT', `${what} lists ${manifest.layers.length} layers but its config names ${diffIds.length} diff_ids; the image is corrupt`);
  }
  return {
    digest,
    configDigest: manifest.config.digest,
    config,
    layers: manifest.layers.map((l, i) => {
      const diffId = diffIds[i];
      return diffId ? { digest: l.digest, mediaType: l.mediaType, size: l.size, diffId } : { digest: l.digest, mediaType: l.mediaType, size: l.size };
    }),
    platform: {
      os: config.os ?? fallback.os,
      architecture: config.architecture ?? fallback.architecture,
      ...(config.variant ? { variant: config.variant } : {}),
    },
    repoTags,
  };
}
