import { AppError } from '../core/errors.js';

/**
 * Image references, Docker Hub style (`alpine` → docker.io/library/alpine:latest), and the transport
 * prefixes that say where an image comes from (`oci-archive:FILE`, `oci-layout:DIR[:tag]`,
 * `docker-archive:FILE[:repo:tag]`, `dir:ROOTFS`, `registry:REF` / `docker://REF` / a plain REF).
 * Grammar: github.com/distribution/reference (reference.go).
 */

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';

export interface ImageReference {
  /** Registry host with optional port, e.g. 'docker.io', 'ghcr.io', 'localhost:5000'. */
  registry: string;
  /** Repository path without the registry, e.g. 'library/alpine', 'ns/repo'. */
  repository: string;
  /** The tag; 'latest' when the reference names neither a tag nor a digest. */
  tag?: string;
  /** 'sha256:<64 hex>'; when present it is what is pulled (the tag is informative). */
  digest?: string;
}

export type ImageSourceSpec =
  | { kind: 'registry'; ref: ImageReference }
  | { kind: 'oci-archive'; path: string; tag?: string }
  | { kind: 'oci-layout'; path: string; tag?: string }
  | { kind: 'docker-archive'; path: string; tag?: string }
  | { kind: 'dir'; path: string };

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;

function bad(input: string, why: string): AppError {
  return new AppError(
    'BAD_INPUT',
    `invalid image reference "${input}": ${why}; expected e.g. "alpine", "ghcr.io/org/app:1.2" or "repo@sha256:<64 hex>"`,
    { details: { reference: input } },
  );
}

export function isSha256Digest(value: string): boolean {
  return SHA256_DIGEST.test(value);
}

/** Parses a registry image reference. Throws AppError BAD_INPUT with the reason. */
export function parseImageReference(input: string): ImageReference {
  const text = input.trim();
  if (text.length === 0) throw bad(input, 'it is empty');
  if (text.length > 4096) throw bad(input.slice(0, 64), 'it is longer than 4096 characters');

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(input, `"${digest}" is not a digest`);
    if (digest.startsWith('sha256:') && !SHA256_DIGEST.test(digest)) {
      throw bad(input, 'a sha256 digest has 64 lower-case hex digits');
    }
  }

  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) throw bad(input, `"${tag}" is not a valid tag`);
  }

  let registry = DEFAULT_REGISTRY;
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[')) {
      if (!DOMAIN.test(first)) throw bad(input, `"${first}" is not a registry host`);
      registry = first;
      repository = rest.slice(slash + 1);
    }
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DEFAULT_REGISTRY;
  if (repository.length === 0) throw bad(input, 'the repository name is missing');
  if (repository.length > 255) throw bad(input, 'the repository name is longer than 255 characters');
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      const why = /[A-Z]/.test(component) ? 'repository names must be lower case' : `"${component}" is not a valid path component`;
      throw bad(input, why);
    }
  }
  if (registry === DEFAULT_REGISTRY && !repository.includes('/')) repository = `library/${repository}`;
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;

  const ref: ImageReference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** The full form: 'docker.io/library/alpine:3.19@sha256:…'. */
export function formatImageReference(ref: ImageReference): string {
  let out = `${ref.registry}/${ref.repository}`;
  if (ref.tag !== undefined) out += `:${ref.tag}`;
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}

/** Splits 'PATH[:tag]' where the tag is what follows the last ':' when it contains no '/'. */
function splitPathAndTag(value: string): { path: string; tag?: string } {
  const colon = value.lastIndexOf(':');
  if (colon > 0 && !value.slice(colon + 1).includes('/')) {
    const tag = value.slice(colon + 1);
    const path = value.slice(0, colon);
    if (tag.length === 0) return { path };
    return { path, tag };
  }
  return { path: value };
}

/** docker-archive:FILE[:repo:tag]: the optional part is a reference, which has a ':' of its own. */
function splitDockerArchive(value: string): { path: string; tag?: string } {
  const parts = value.split(':');
  if (parts.length >= 3) {
    const last = parts[parts.length - 1] ?? '';
    const repo = parts[parts.length - 2] ?? '';
    if (!last.includes('/') && TAG.test(last) && repo.length > 0) {
      return { path: parts.slice(0, -2).join(':'), tag: `${repo}:${last}` };
    }
  }
  return { path: value };
}

/** Parses what a user types after `palisade scan`. */
export function parseImageSource(input: string): ImageSourceSpec {
  const text = input.trim();
  const prefixed = (prefix: string): string | undefined => {
    if (!text.startsWith(prefix)) return undefined;
    const rest = text.slice(prefix.length);
    if (rest.length === 0) {
      throw new AppError('BAD_INPUT', `"${input}" names no path or reference after "${prefix}"; write e.g. ${prefix}./image.tar`, {
        details: { source: input },
      });
    }
    return rest;
  };
  let rest: string | undefined;
  if ((rest = prefixed('oci-archive:')) !== undefined) return { kind: 'oci-archive', ...splitPathAndTag(rest) };
  if ((rest = prefixed('oci-layout:')) !== undefined) return { kind: 'oci-layout', ...splitPathAndTag(rest) };
  if ((rest = prefixed('oci:')) !== undefined) return { kind: 'oci-layout', ...splitPathAndTag(rest) };
  if ((rest = prefixed('docker-archive:')) !== undefined) return { kind: 'docker-archive', ...splitDockerArchive(rest) };
  if ((rest = prefixed('dir:')) !== undefined) return { kind: 'dir', path: rest };
  if ((rest = prefixed('registry:')) !== undefined) return { kind: 'registry', ref: parseImageReference(rest) };
  if ((rest = prefixed('docker://')) !== undefined) return { kind: 'registry', ref: parseImageReference(rest) };
  return { kind: 'registry', ref: parseImageReference(text) };
}
