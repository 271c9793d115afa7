import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { AppError, distroNamespace, type Clock, type Distro } from '../../core/index.js';

/** End-of-life dates of distro releases, from eol.yaml beside this file (dates and their sources). */

const eolFileSchema = z.object({
  releases: z.array(
    z.object({
      release: z.string().min(1),
      eol: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a YYYY-MM-DD date'),
      source: z.string().min(1),
    }),
  ),
});

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
  let parsed: unknown;
  try {
    parsed = parse(readFileSync(url, 'utf8'));
  } catch (cause) {
    throw new AppError('INTERNAL', `cannot read the end-of-life table ${url.pathname}; reinstall Palisade`, { cause });
  }
  const data = eolFileSchema.parse(parsed);
  table = new Map(data.releases.map((r) => [r.release, { eol: r.eol, source: r.source }]));
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
