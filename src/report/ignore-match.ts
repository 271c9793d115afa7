import type { Clock } from '../core/clock.js';
import type { Finding } from '../core/types.js';

/**
 * What an ignore file's entries hide and until when (the file itself is read by ignore.ts). Apart
 * from ignore.ts so that the report filters can use it without loading the YAML parser and zod.
 */

export const DATE = /^\d{4}-\d{2}-\d{2}$/;

export interface IgnoreEntry {
  id: string;
  reason: string;
  expires?: string;
  purl?: string;
  /** 1-based line of the entry in its file. */
  line: number;
}

export interface IgnoreFile {
  /** The path the file was read from, as given. */
  file: string;
  entries: IgnoreEntry[];
}

/** The instant an entry stops applying: the end (UTC) of its `expires` day, or the exact time given. */
export function expiryInstant(expires: string): number {
  return DATE.test(expires) ? Date.parse(`${expires}T00:00:00Z`) + 24 * 60 * 60 * 1000 : Date.parse(expires);
}

export function isExpired(entry: IgnoreEntry, clock: Clock): boolean {
  return entry.expires !== undefined && clock.now().getTime() >= expiryInstant(entry.expires);
}

/** Whether `purl` equals the entry's purl or extends it at a component boundary (`@`, `?`, `#`, or after a trailing `/`). */
export function purlPrefixMatches(prefix: string, purl: string): boolean {
  if (purl === prefix) return true;
  if (!purl.startsWith(prefix)) return false;
  if (prefix.endsWith('/') || prefix.endsWith('@')) return true;
  const next = purl.charAt(prefix.length);
  return next === '@' || next === '?' || next === '#';
}

/** Whether an entry names this finding (its id or any alias, case-insensitive; and its package when `purl` is set). */
export function ignoreMatches(entry: IgnoreEntry, finding: Finding): boolean {
  const id = entry.id.toUpperCase();
  const named = [finding.advisoryId, ...finding.aliases].some((a) => a.toUpperCase() === id);
  return named && (entry.purl === undefined || purlPrefixMatches(entry.purl, finding.package.purl));
}
