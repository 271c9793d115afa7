import { PackageURL } from 'packageurl-js';
import type { Distro, PackageType } from '../core/index.js';

/**
 * Builds canonical package URLs (purl spec) for every package type. One function, so every cataloger
 * spells purls the same way.
 */
export interface PurlParts {
  type: PackageType;
  namespace?: string;
  name: string;
  version?: string;
  qualifiers?: Record<string, string | undefined>;
  subpath?: string;
}

export function buildPurl(parts: PurlParts): string {
  const qualifiers: Record<string, string> = {};
  for (const [key, value] of Object.entries(parts.qualifiers ?? {})) {
    if (value !== undefined && value !== '') qualifiers[key] = value;
  }
  const text = new PackageURL(
    parts.type,
    parts.namespace || undefined,
    parts.name,
    parts.version || undefined,
    Object.keys(qualifiers).length > 0 ? qualifiers : undefined,
    parts.subpath || undefined,
  ).toString();
  return parts.version ? encodePlusInVersion(text) : text;
}

/**
 * The purl spec percent-encodes '+' in versions ('2.4.47-2%2Bb1'); packageurl-js leaves it as is.
 * Debian versions are full of '+', so the canonical form matters for comparing purls with other tools.
 */
function encodePlusInVersion(purl: string): string {
  const end = purl.search(/[?#]/);
  const head = end === -1 ? purl : purl.slice(0, end);
  const at = head.lastIndexOf('@');
  if (at === -1) return purl;
  return head.slice(0, at) + head.slice(at).replaceAll('+', '%2B') + (end === -1 ? '' : purl.slice(end));
}

/** The purl `distro` qualifier value for an OS package: `debian-12`, `alpine-3.19.1`, `rhel-9.4`. */
export function distroQualifier(distro: Distro): string {
  return distro.versionId ? `${distro.id}-${distro.versionId}` : distro.id;
}

/** Adds or replaces the `distro` qualifier of an OS package purl. */
export function withDistroQualifier(purl: string, distro: Distro): string {
  const parsed = PackageURL.fromString(purl);
  return buildPurl({
    type: parsed.type as PackageType,
    namespace: parsed.namespace ?? undefined,
    name: parsed.name,
    version: parsed.version ?? undefined,
    qualifiers: { ...(parsed.qualifiers ?? {}), distro: distroQualifier(distro) },
    subpath: parsed.subpath ?? undefined,
  });
}
