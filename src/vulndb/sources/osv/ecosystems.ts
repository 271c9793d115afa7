import { distroNamespace } from '../../../core/index.js';

/**
 * OSV ecosystem strings (https://ossf.github.io/osv-schema/#affectedpackage-field) → Palisade advisory
 * namespaces (src/core/namespaces.ts). Distro releases go through `distroNamespace`, so that the
 * importer files records under exactly the key the matcher computes from /etc/os-release.
 */
export interface EcosystemMapping {
  namespace: string;
  /** True for OS distributions: a package without a `fixed` event is then 'unfixed'. */
  distro: boolean;
  normaliseName: (name: string) => string;
}

const asIs = (name: string): string => name;
const lower = (name: string): string => name.toLowerCase();

/** PEP 503: lower case, runs of `-`, `_`, `.` become one `-`. */
export function normalisePypiName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** Names compared case-insensitively by their ecosystem are stored lower-cased. */
const LANGUAGE: Record<string, EcosystemMapping> = {
  npm: { namespace: 'npm', distro: false, normaliseName: asIs },
  PyPI: { namespace: 'pypi', distro: false, normaliseName: normalisePypiName },
  Maven: { namespace: 'maven', distro: false, normaliseName: asIs },
  Go: { namespace: 'go', distro: false, normaliseName: asIs },
  'crates.io': { namespace: 'crates.io', distro: false, normaliseName: asIs },
  RubyGems: { namespace: 'rubygems', distro: false, normaliseName: asIs },
  NuGet: { namespace: 'nuget', distro: false, normaliseName: lower },
  Packagist: { namespace: 'packagist', distro: false, normaliseName: lower },
  Pub: { namespace: 'pub', distro: false, normaliseName: asIs },
  Hex: { namespace: 'hex', distro: false, normaliseName: asIs },
  // The Kubernetes CVE feed (k8s-vuln-list) names components such as k8s.io/kubelet; they are
  // versioned as Kubernetes releases (1.29.3), not as Go modules, so they get their own namespace.
  kubernetes: { namespace: 'kubernetes', distro: false, normaliseName: asIs },
};

function distro(id: string, versionId: string): EcosystemMapping {
  return { namespace: distroNamespace({ id, versionId }), distro: true, normaliseName: asIs };
}

/** SUSE products whose packages are those of SUSE Linux Enterprise Server N SPx. */
const SLES_PRODUCT =
  /^SUSE:Linux Enterprise (?:Server(?: for SAP Applications)?|Desktop|Module for [A-Za-z0-9 ]+?|High Performance Computing|Workstation Extension|Software Development Kit|Real Time|Point of Sale) (\d+)(?: SP(\d+))?(?:[- ](?:LTSS|BCL|ESPOS|TERADATA|LTSS EXTREME CORE|LTSS-EXTREME-CORE|CLIENT-TOOLS|SECURITY|PUBCLOUD))?$/;

const cache = new Map<string, EcosystemMapping | null>();

function resolve(ecosystem: string): EcosystemMapping | undefined {
  const language = LANGUAGE[ecosystem];
  if (language) return language;
  let m: RegExpExecArray | null;
  if ((m = /^Debian:(\d+(?:\.\d+)?)$/.exec(ecosystem))) return distro('debian', m[1] ?? '');
  if ((m = /^Alpine:v(\d+\.\d+)$/.exec(ecosystem))) return distro('alpine', m[1] ?? '');
  // 'Ubuntu:22.04:LTS', 'Ubuntu:24.10'; Ubuntu Pro (ESM) streams are a separate product.
  if ((m = /^Ubuntu:(\d+\.\d+)(?::LTS)?$/.exec(ecosystem))) return distro('ubuntu', m[1] ?? '');
  // 'Red Hat:enterprise_linux:9::appstream': only RHEL itself, not layered products or EUS streams.
  if ((m = /^Red Hat:enterprise_linux:(\d+)(?:::[a-z_0-9]+)?$/.exec(ecosystem))) return distro('rhel', m[1] ?? '');
  if ((m = /^Rocky Linux:(\d+)$/.exec(ecosystem))) return distro('rocky', m[1] ?? '');
  if ((m = /^AlmaLinux:(\d+)$/.exec(ecosystem))) return distro('almalinux', m[1] ?? '');
  if ((m = SLES_PRODUCT.exec(ecosystem))) return distro('sles', m[2] ? `${m[1]}.${m[2]}` : (m[1] ?? ''));
  if ((m = /^SUSE:Linux Enterprise Micro (\d+\.\d+)$/.exec(ecosystem))) return distro('sle-micro', m[1] ?? '');
  if ((m = /^openSUSE:Leap (\d+\.\d+)$/.exec(ecosystem))) return distro('opensuse-leap', m[1] ?? '');
  if ((m = /^openSUSE:Leap Micro (\d+\.\d+)$/.exec(ecosystem))) return distro('opensuse-leap-micro', m[1] ?? '');
  if (ecosystem === 'openSUSE:Tumbleweed') return distro('opensuse-tumbleweed', '');
  if (ecosystem === 'Wolfi') return distro('wolfi', '');
  if (ecosystem === 'Chainguard') return distro('chainguard', '');
  return undefined;
}

/** The namespace mapping of an OSV ecosystem string, or undefined for an ecosystem Palisade does not match. */
export function mapEcosystem(ecosystem: string): EcosystemMapping | undefined {
  const hit = cache.get(ecosystem);
  if (hit !== undefined) return hit ?? undefined;
  const mapping = resolve(ecosystem);
  cache.set(ecosystem, mapping ?? null);
  return mapping;
}
