import type { Distro } from '../../core/index.js';
import type { CatalogFile, CatalogResult, Cataloger, DistroHint, FileInfo } from '../../catalog/types.js';
import type { FileResult } from '../walker.js';

/**
 * OS detection as a cataloger: reads /etc/os-release (and /usr/lib/os-release, which /etc/os-release
 * is often a symlink to) and the older distro files. os-release wins over the others
 * (priority 100, /etc over /usr/lib); `resolveDistro` picks the winner over a whole image.
 */

export const OS_RELEASE_PRIORITY = 100;

const PRIORITY = new Map<string, number>(Object.entries({
  '/etc/os-release': OS_RELEASE_PRIORITY,
  '/usr/lib/os-release': OS_RELEASE_PRIORITY - 1,
  '/etc/lsb-release': 60,
  '/etc/alpine-release': 50,
  '/etc/redhat-release': 40,
  '/etc/centos-release': 45,
  '/etc/oracle-release': 48,
  '/etc/system-release': 42,
  '/etc/debian_version': 30,
}));

const MAX_FILE = 64 * 1024;

/** Parses KEY=value lines of os-release(5), with "double", 'single' quotes and backslash escapes. */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) {
      value = value.slice(1, -1);
      value = value.replace(/\\(["'$`\\])/g, '$1');
    }
    out.set(key, value);
  }
  return out;
}

const ID_ALIASES: Record<string, string> = {
  opensuse: 'opensuse-leap',
  'opensuse-leap': 'opensuse-leap',
  'opensuse-tumbleweed': 'opensuse-tumbleweed',
  sled: 'sles',
  'sle-micro': 'sles',
  redhat: 'rhel',
  amazon: 'amzn',
  oracle: 'ol',
};

function distro(id: string, versionId: string, extra: { codename?: string | undefined; prettyName?: string | undefined } = {}): Distro {
  const d: Distro = { id: ID_ALIASES[id] ?? id, versionId };
  if (extra.codename) d.codename = extra.codename;
  if (extra.prettyName) d.prettyName = extra.prettyName;
  return d;
}

function fromOsRelease(text: string): Distro | undefined {
  const kv = parseOsRelease(text);
  const id = kv.get('ID')?.toLowerCase();
  if (!id) return undefined;
  let versionId = kv.get('VERSION_ID') ?? '';
  let codename = kv.get('VERSION_CODENAME') ?? kv.get('UBUNTU_CODENAME');
  // Debian testing/sid have no VERSION_ID; the codename then comes from PRETTY_NAME "Debian GNU/Linux trixie/sid".
  if (id === 'debian' && versionId === '' && !codename) {
    const m = /\b([a-z]+)\/sid\b/.exec(kv.get('PRETTY_NAME') ?? '');
    if (m?.[1]) codename = m[1];
  }
  if (id === 'opensuse-tumbleweed' || id === 'wolfi' || id === 'chainguard') versionId = versionId.trim();
  return distro(id, versionId, { codename, prettyName: kv.get('PRETTY_NAME') });
}

/** "Red Hat Enterprise Linux release 9.4 (Plow)", "CentOS Linux release 7.9.2009 (Core)", "Amazon Linux release 2 (Karoo)" … */
const RELEASE_LINES: { pattern: RegExp; id: string }[] = [
  { pattern: /^Red Hat Enterprise Linux(?: Server| Workstation)? release (\d+(?:\.\d+)?)/, id: 'rhel' },
  { pattern: /^CentOS(?: Linux| Stream)? release (\d+)/, id: 'centos' },
  { pattern: /^Rocky Linux release (\d+(?:\.\d+)?)/, id: 'rocky' },
  { pattern: /^AlmaLinux release (\d+(?:\.\d+)?)/, id: 'almalinux' },
  { pattern: /^Oracle Linux Server release (\d+(?:\.\d+)?)/, id: 'ol' },
  { pattern: /^Fedora release (\d+)/, id: 'fedora' },
  { pattern: /^Amazon Linux release (2023)\b/, id: 'amzn' },
  { pattern: /^Amazon Linux release (2)\b/, id: 'amzn' },
  { pattern: /^Amazon Linux AMI release (\d{4}\.\d{2})/, id: 'amzn' },
];

function fromReleaseLine(text: string): Distro | undefined {
  const line = text.split('\n')[0]?.trim() ?? '';
  for (const { pattern, id } of RELEASE_LINES) {
    const m = pattern.exec(line);
    if (m?.[1]) return distro(id, m[1], { prettyName: line });
  }
  return undefined;
}

function fromLsbRelease(text: string): Distro | undefined {
  const kv = parseOsRelease(text);
  const id = kv.get('DISTRIB_ID')?.toLowerCase();
  if (!id) return undefined;
  return distro(id, kv.get('DISTRIB_RELEASE') ?? '', { codename: kv.get('DISTRIB_CODENAME'), prettyName: kv.get('DISTRIB_DESCRIPTION') });
}

function fromDebianVersion(text: string): Distro | undefined {
  const line = text.trim();
  const numbered = /^(\d+)(?:\.\d+)*$/.exec(line);
  if (numbered?.[1]) return distro('debian', numbered[1]);
  const testing = /^([a-z]+)\/sid$/.exec(line);
  if (testing?.[1]) return distro('debian', '', { codename: testing[1] });
  return undefined;
}

function fromAlpineRelease(text: string): Distro | undefined {
  const line = text.trim();
  return /^\d+\.\d+(?:\.\d+)?(?:_\w+)?$/.test(line) ? distro('alpine', line) : undefined;
}

export function detectDistro(path: string, text: string): Distro | undefined {
  switch (path) {
    case '/etc/os-release':
    case '/usr/lib/os-release':
      return fromOsRelease(text);
    case '/etc/lsb-release':
      return fromLsbRelease(text);
    case '/etc/alpine-release':
      return fromAlpineRelease(text);
    case '/etc/debian_version':
      return fromDebianVersion(text);
    case '/etc/redhat-release':
    case '/etc/centos-release':
    case '/etc/oracle-release':
    case '/etc/system-release':
      return fromReleaseLine(text);
    default:
      return undefined;
  }
}

export const osReleaseCataloger = {
  id: 'os-release',
  version: 1,
  matches: (path: string, info: FileInfo): boolean => info.size <= MAX_FILE && PRIORITY.has(path),
  parse: (file: CatalogFile): CatalogResult => {
    const found = detectDistro(file.path, file.bytes.toString('utf8'));
    const priority = PRIORITY.get(file.path) ?? 0;
    return found ? { packages: [], distro: { distro: found, priority } } : { packages: [] };
  },
} satisfies Cataloger;

/**
 * The distro of an image: the hint with the highest priority; on a tie the one with a version wins.
 * Lesser files fill in a missing VERSION_ID of the same distro (Debian testing has none in os-release).
 */
export function resolveDistro(results: ReadonlyMap<string, readonly FileResult[]>): Distro | undefined {
  const hints: DistroHint[] = [];
  for (const list of results.values()) for (const r of list) if (r.result.distro) hints.push(r.result.distro);
  hints.sort((a, b) => b.priority - a.priority || Number(b.distro.versionId !== '') - Number(a.distro.versionId !== ''));
  const best = hints[0];
  if (!best) return undefined;
  if (best.distro.versionId === '') {
    const filler = hints.find((h) => h.distro.id === best.distro.id && h.distro.versionId !== '');
    if (filler) return { ...best.distro, versionId: filler.distro.versionId };
  }
  return { ...best.distro };
}
