import type { Severity } from '../core/index.js';

/**
 * Severity words used by the feeds → Palisade severities: GHSA (CRITICAL, HIGH, MODERATE, LOW),
 * Debian urgency (unimportant, low, medium, high; a trailing `*` or `**` marks a guess), Red Hat
 * impact (critical, important, moderate, low), Ubuntu priority (negligible … critical).
 * Words that carry no rating ('not yet assigned', 'end-of-life', 'unknown') give undefined.
 */
const WORDS: Record<string, Severity> = {
  critical: 'critical',
  high: 'high',
  important: 'high',
  moderate: 'medium',
  medium: 'medium',
  low: 'low',
  negligible: 'negligible',
  unimportant: 'negligible',
  none: 'negligible',
};

export function severityFromWord(word: string | undefined): Severity | undefined {
  if (!word) return undefined;
  const key = word.trim().toLowerCase().replace(/\*+$/, '').trim();
  return WORDS[key];
}
