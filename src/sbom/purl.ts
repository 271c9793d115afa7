import { PackageURL } from 'packageurl-js';
import { PACKAGE_TYPES, type Distro, type Package, type PackageType } from '../core/index.js';

function isPackageType(value: string): value is PackageType {
  return (PACKAGE_TYPES as readonly string[]).includes(value);
}

export function isOsType(type: PackageType): boolean {
  return type === 'deb' || type === 'apk' || type === 'rpm';
}

/**
 * The purl `distro` qualifier as a Distro: `debian-12` → debian 12, `alpine-3.19.1`, `rhel-9.4`,
 * `opensuse-leap-15.5` → opensuse-leap 15.5, `ubuntu-22.04`; a value without a numeric release
 * (`wolfi`, `debian-bookworm`) keeps the whole value as the id with an empty release.
 */
export function distroFromQualifier(value: string): Distro {
  const match = /^(.+?)-(v?\d[\w.+~-]*)$/.exec(value.trim().toLowerCase());
  if (match?.[1] && match[2]) return { id: match[1], versionId: match[2] };
  return { id: value.trim().toLowerCase(), versionId: '' };
}

/** `name@version` or `name` (Syft's `upstream` qualifier for deb and apk). */
function splitUpstream(value: string): { name: string; version?: string } {
  const at = value.indexOf('@');
  if (at > 0) return { name: value.slice(0, at), version: value.slice(at + 1) };
  return { name: value };
}

/** `openssl-3.0.7-27.el9.src.rpm` → openssl, 3.0.7-27.el9 (Syft's `upstream` qualifier for rpm). */
export function splitSourceRpm(value: string): { name: string; version?: string } | undefined {
  const base = value.replace(/\.(src|nosrc)\.rpm$/, '');
  const release = base.lastIndexOf('-');
  if (release <= 0) return undefined;
  const version = base.lastIndexOf('-', release - 1);
  if (version <= 0) return undefined;
  return { name: base.slice(0, version), version: base.slice(version + 1) };
}

/** The ecosystem name from purl parts: `@scope/name` (npm), `group:artifact` (Maven), module path (Go), `vendor/name` (Composer). */
function ecosystemName(type: PackageType, namespace: string | undefined, name: string): string {
  if (!namespace) return name;
  switch (type) {
    case 'npm':
    case 'golang':
    case 'composer':
      return `${namespace}/${name}`;
    case 'maven':
      return `${namespace}:${name}`;
    default:
      return name;
  }
}

function withEpoch(version: string, epoch: string | undefined): string {
  if (!epoch || epoch === '0' || version.includes(':')) return version;
  return `${epoch}:${version}`;
}

export type PurlResult = { ok: true; package: Omit<Package, 'locations'> } | { ok: false; reason: string };

/**
 * A Package from a purl. The version is the purl's, else `fallbackVersion` (the SBOM's own field); an
 * rpm or deb `epoch` qualifier is put in front of the version; the `distro` qualifier gives the
 * distro of OS packages; Syft's `upstream` qualifier gives the source package.
 */
export function packageFromPurl(purl: string, fallbackVersion?: string): PurlResult {
  let parsed: PackageURL;
  try {
    parsed = PackageURL.fromString(purl);
  } catch (error) {
    return { ok: false, reason: `invalid purl: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (!isPackageType(parsed.type)) return { ok: false, reason: `unsupported purl type '${parsed.type}'` };
  const type = parsed.type;
  const qualifiers = parsed.qualifiers ?? {};
  const rawVersion = parsed.version || fallbackVersion;
  if (!rawVersion) return { ok: false, reason: 'no version' };
  const version = isOsType(type) ? withEpoch(rawVersion, qualifiers.epoch) : rawVersion;
  const pkg: Omit<Package, 'locations'> = { type, name: ecosystemName(type, parsed.namespace ?? undefined, parsed.name), version, purl };
  if (qualifiers.arch) pkg.arch = qualifiers.arch;
  if (isOsType(type) && qualifiers.distro) {
    // Trivy writes the release alone for apk (`distro=3.19.1`): the purl namespace names the distro.
    const distro = /^\d/.test(qualifiers.distro) && parsed.namespace
      ? { id: parsed.namespace.toLowerCase(), versionId: qualifiers.distro }
      : distroFromQualifier(qualifiers.distro);
    pkg.distro = distro;
  }
  const upstream = qualifiers.upstream;
  if (upstream && isOsType(type)) {
    const source = type === 'rpm' ? splitSourceRpm(upstream) : splitUpstream(upstream);
    if (source) {
      pkg.source = { name: source.name };
      if (source.version) pkg.source.version = type === 'rpm' ? withEpoch(source.version, qualifiers.epoch) : source.version;
    }
  }
  return { ok: true, package: pkg };
}
