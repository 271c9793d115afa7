import type { Package } from '../../core/index.js';
import type { CatalogFile } from '../types.js';
import { baseName, languagePackage, locationOf, splitLines, type ParseOutcome } from '../generic.js';
import { buildPurl } from '../purl.js';
import { listZip, type ZipEntryRef } from './zip.js';

export const JAVA_ARCHIVE_EXTENSIONS = ['.jar', '.war', '.ear', '.par', '.jpi', '.hpi'] as const;

export function isJavaArchive(name: string): boolean {
  const lower = name.toLowerCase();
  return JAVA_ARCHIVE_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

export interface ArchiveLimits {
  /** Nesting depth of archives inside archives that is still opened (the file itself is depth 0). */
  maxDepth: number;
  /** Total uncompressed bytes of nested archives read out of one file. */
  maxNestedBytes: number;
  /** Entries per archive. */
  maxEntries: number;
  /** Largest pom.properties / MANIFEST.MF read. */
  maxMetadataBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxDepth: 4,
  maxNestedBytes: 512 * 1024 * 1024,
  maxEntries: 200_000,
  maxMetadataBytes: 1024 * 1024,
};

/** Java .properties: `key=value`, `key: value` or `key value`; `#`/`!` comments. */
export function parseProperties(text: string): Map<string, string> {
  const props = new Map<string, string>();
  for (const raw of splitLines(text)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const sep = line.search(/[=:\s]/);
    if (sep < 0) {
      props.set(line, '');
      continue;
    }
    const key = line.slice(0, sep).trim();
    const value = line
      .slice(sep)
      .replace(/^\s*[=:]?\s*/, '')
      .trim();
    props.set(key, value);
  }
  return props;
}

/** The main section of a MANIFEST.MF (continuation lines begin with one space). */
export function parseManifest(text: string): Map<string, string> {
  const attrs = new Map<string, string>();
  let last: string | undefined;
  for (const line of splitLines(text)) {
    if (line === '') break;
    if (line.startsWith(' ') && last !== undefined) {
      attrs.set(last, (attrs.get(last) ?? '') + line.slice(1));
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim();
    attrs.set(last, line.slice(colon + 1).trim());
  }
  return attrs;
}

/** `commons-lang3-3.12.0.jar` → artifact `commons-lang3`, version `3.12.0`. */
export function splitArchiveName(fileName: string): { artifact: string; version?: string } {
  const dot = fileName.lastIndexOf('.');
  const stem = dot > 0 ? fileName.slice(0, dot) : fileName;
  const match = /^(.+?)-(\d[0-9A-Za-z._-]*)$/.exec(stem);
  return match?.[1] && match[2] ? { artifact: match[1], version: match[2] } : { artifact: stem };
}

const UNRESOLVED = /\$\{/;

function mavenPackage(groupId: string, artifactId: string, version: string, file: CatalogFile, path: string): Package {
  const purl = buildPurl({ type: 'maven', namespace: groupId, name: artifactId, version });
  return languagePackage({ type: 'maven', name: `${groupId}:${artifactId}`, version, purl }, locationOf(file, path));
}

function validCoordinate(value: string | undefined): value is string {
  return value !== undefined && value !== '' && !UNRESOLVED.test(value) && !/\s/.test(value);
}

/** Coordinates from the manifest when the archive carries no pom.properties; undefined if no groupId can be told. */
function fromManifest(attrs: Map<string, string>, archiveName: string): { groupId: string; artifactId: string; version: string } | undefined {
  const fromName = splitArchiveName(archiveName);
  const symbolic = attrs.get('Bundle-SymbolicName')?.split(';')[0]?.trim();
  const title = attrs.get('Implementation-Title');
  const artifactId = fromName.artifact || title || symbolic;
  const version = attrs.get('Implementation-Version') ?? attrs.get('Bundle-Version') ?? fromName.version ?? attrs.get('Specification-Version');
  let groupId = attrs.get('Implementation-Vendor-Id');
  if (!groupId && symbolic && artifactId && symbolic.endsWith(`.${artifactId}`)) {
    groupId = symbolic.slice(0, symbolic.length - artifactId.length - 1);
  }
  if (!validCoordinate(groupId) || !validCoordinate(artifactId) || !validCoordinate(version)) return undefined;
  return { groupId, artifactId, version };
}

interface Budget {
  nestedBytes: number;
}

async function readArchive(
  bytes: Buffer,
  file: CatalogFile,
  path: string,
  depth: number,
  budget: Budget,
  limits: ArchiveLimits,
): Promise<ParseOutcome> {
  const entries = await listZip(bytes, path, limits.maxEntries);
  const packages: Package[] = [];
  let skipped = 0;

  const poms: ZipEntryRef[] = [];
  const nested: ZipEntryRef[] = [];
  let manifest: ZipEntryRef | undefined;
  for (const entry of entries) {
    if (entry.name.startsWith('META-INF/maven/') && entry.name.endsWith('/pom.properties')) poms.push(entry);
    else if (entry.name === 'META-INF/MANIFEST.MF') manifest = entry;
    else if (isJavaArchive(entry.name)) nested.push(entry);
  }

  for (const pom of poms) {
    if (pom.size > limits.maxMetadataBytes) {
      skipped++;
      continue;
    }
    const props = parseProperties((await pom.read()).toString('utf8'));
    // META-INF/maven/<groupId>/<artifactId>/pom.properties names the coordinates when the file omits them
    const parts = pom.name.split('/');
    const groupId = props.get('groupId') ?? parts[2];
    const artifactId = props.get('artifactId') ?? parts[3];
    const version = props.get('version');
    if (!validCoordinate(groupId) || !validCoordinate(artifactId) || !validCoordinate(version)) {
      skipped++;
      continue;
    }
    packages.push(mavenPackage(groupId, artifactId, version, file, path));
  }

  if (poms.length === 0 && manifest && manifest.size <= limits.maxMetadataBytes) {
    const coords = fromManifest(parseManifest((await manifest.read()).toString('utf8')), baseName(path));
    if (coords) packages.push(mavenPackage(coords.groupId, coords.artifactId, coords.version, file, path));
    else skipped++;
  }

  for (const inner of nested) {
    if (depth + 1 > limits.maxDepth || inner.size > budget.nestedBytes) {
      skipped++;
      continue;
    }
    budget.nestedBytes -= inner.size;
    const innerPath = `${path}:${inner.name}`;
    try {
      const result = await readArchive(await inner.read(), file, innerPath, depth + 1, budget, limits);
      packages.push(...result.packages);
      skipped += result.skipped;
    } catch {
      skipped++; // one damaged nested archive does not spoil the outer one
    }
  }
  return { packages, skipped };
}

/**
 * A Java archive (jar, war, ear, par, jpi, hpi): one package per `META-INF/maven/<groupId>/<artifactId>/pom.properties`
 * (the archive's own and any shaded ones), or, without any, one from MANIFEST.MF; nested archives
 * (`WEB-INF/lib/*.jar`, `BOOT-INF/lib/*.jar`, …) are read recursively within `limits` and located at
 * `outer.war:WEB-INF/lib/inner.jar`.
 */
export async function parseJavaArchive(file: CatalogFile, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS): Promise<ParseOutcome> {
  return readArchive(file.bytes, file, file.path, 0, { nestedBytes: limits.maxNestedBytes }, limits);
}
