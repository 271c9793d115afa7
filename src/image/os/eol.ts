import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { AppError } from '../../core/errors.js';
import type { Clock } from '../../core/clock.js';
import { distroNamespace } from '../../core/namespaces.js';
import type { Distro } from '../../core/types.js';

/** End-of-life dates of distro releases, from eol.yaml beside this file (dates and their sources). */

interface EolRelease {
  release: string;
  eol: string;
  source: string;
}

/**
 * eol.yaml is written one release per line, `- { release: '…', eol: 'YYYY-MM-DD', source: '…' }`.
 * Lines of that shape (and comments, blank lines, `releases:`) are read here; a file with any other
 * line goes through the YAML parser, required only then, so a scan's report does not load it.
 */
const RELEASE_LINE = /^\s+-\s+\{\s*release:\s*'((?:[^']|'')*)',\s*eol:\s*'((?:[^']|'')*)',\s*source:\s*'((?:[^']|'')*)'\s*\}\s*$/;
const BLANK_OR_COMMENT = /^\s*(?:#.*)?$/;
const RELEASES_KEY = /^releases:\s*$/;

function unquote(text: string): string {
  return text.replaceAll("''", "'");
}

/** `{ releases }` of eol.yaml when every line has one of the shapes above (as the YAML parser would read it); undefined otherwise. */
export function readReleaseLines(text: string): { releases: EolRelease[] } | undefined {
  const releases: EolRelease[] = [];
  let inReleases = false;
  for (const line of text.split(/\r?\n/)) {
    if (BLANK_OR_COMMENT.test(line)) continue;
    if (RELEASES_KEY.test(line) && !inReleases) {
      inReleases = true;
      continue;
    }
    const m = inReleases ? RELEASE_LINE.exec(line) : null;
    if (!m) return undefined;
    releases.push({ release: unquote(m[1] ?? ''), eol: unquote(m[2] ?? ''), source: unquote(m[3] ?? '') });
  }
  return releases.length > 0 ? { releases } : undefined;
}

const requireCjs = createRequire(import.meta.url);

function parseYaml(text: string): unknown {
  return (requireCjs('yaml') as typeof import('yaml')).parse(text);
}

const EOL_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The shape eol.yaml must have (our own data file: checked by hand). */
function releasesOf(value: unknown): EolRelease[] | undefined {
  if (typeof value !== 'object' || value === null || !('releases' in value) || !Array.isArray(value.releases)) return undefined;
  const out: EolRelease[] = [];
  for (const r of value.releases as unknown[]) {
    if (typeof r !== 'object' || r === null) return undefined;
    const { release, eol, source } = r as Record<string, unknown>;
    if (typeof release !== 'string' || release.length === 0 || typeof source !== 'string' || source.length === 0) return undefined;
    if (typeof eol !== 'string' || !EOL_DATE.test(eol)) return undefined;
    out.push({ release, eol, source });
  }
  return out;
}

export interface EndOfLife {
  release: string;
  /** Last day of support, YYYY-MM-DD. */
  date: string;
  source: string;
  /** True when the clock's today is after `date`. */
  endOfLife: boolean;
}

let table: Map<string, { eol: string; source: string }> | undefined;

function loadTable(): Map<string, { eol: string; source: string }> {
  if (table) return table;
  const url = new URL('./eol.yaml', import.meta.url);
  let releases: EolRelease[] | undefined;
  try {
    const text = readFileSync(url, 'utf8');
    releases = releasesOf(readReleaseLines(text) ?? parseYaml(text));
  } catch (cause) {
    throw new AppError('INTERNAL', `cannot read the end-of-life table ${url.pathname}; reinstall Palisade`, { cause });
  }
  if (!releases) {
    throw new AppError('INTERNAL', `the end-of-life table ${url.pathname} is not a list of { release, eol: YYYY-MM-DD, source }; reinstall Palisade`);
  }
  table = new Map(releases.map((r) => [r.release, { eol: r.eol, source: r.source }]));
  return table;
}

/** The key of a release in eol.yaml: the advisory namespace, except CentOS which keeps its own id. */
export function releaseKey(distro: Distro): string {
  if (distro.id === 'centos') return `centos:${distro.versionId.split('.')[0] ?? ''}`;
  return distroNamespace(distro);
}

/** What eol.yaml says about a release; undefined when it is not listed (unknown, or rolling). */
export function endOfLife(distro: Distro, clock: Clock): EndOfLife | undefined {
  const key = releaseKey(distro);
  const entry = loadTable().get(key);
  if (!entry) return undefined;
  const today = clock.now().toISOString().slice(0, 10);
  return { release: key, date: entry.eol, source: entry.source, endOfLife: today > entry.eol };
}

export function isEndOfLife(distro: Distro, clock: Clock): boolean {
  return endOfLife(distro, clock)?.endOfLife ?? false;
}
