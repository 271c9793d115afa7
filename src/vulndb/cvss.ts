import cvssCalculator from 'ae-cvss-calculator';
import type { CvssScore } from '../core/index.js';

const { Cvss2, Cvss3P0, Cvss3P1, Cvss4P0 } = cvssCalculator;

export type CvssVersion = CvssScore['version'];

/** The CVSS version a vector string is written in, from its prefix; v2 vectors carry none. */
export function cvssVersionOf(vector: string): CvssVersion | undefined {
  const v = vector.trim();
  if (v.startsWith('CVSS:3.1/')) return '3.1';
  if (v.startsWith('CVSS:3.0/')) return '3.0';
  if (v.startsWith('CVSS:4.0/')) return '4.0';
  if (/^(?:\(?)AV:[LAN]\/AC:[HML]\/Au:[MSN]\//.test(v)) return '2.0';
  return undefined;
}

/**
 * The base score of a CVSS vector (v2, v3.0, v3.1, v4.0), or undefined when the vector is not
 * well formed or leaves a base metric undefined. Never throws: a bad vector in a feed is skipped.
 */
export function cvssBaseScore(vector: string): number | undefined {
  const v = vector.trim().replace(/^\((.*)\)$/, '$1');
  const version = cvssVersionOf(v);
  if (!version) return undefined;
  try {
    const calc =
      version === '2.0' ? new Cvss2(v) : version === '3.0' ? new Cvss3P0(v) : version === '3.1' ? new Cvss3P1(v) : new Cvss4P0(v);
    if (!calc.isBaseFullyDefined()) return undefined;
    const base = calc.calculateScores().base;
    return typeof base === 'number' && Number.isFinite(base) ? base : undefined;
  } catch {
    return undefined;
  }
}

const scoreCache = new Map<string, number | null>();
const SCORE_CACHE_MAX = 50_000;

/** A CvssScore for a vector published by `source`, or undefined for a vector that does not score. Memoised: feeds repeat vectors. */
export function cvssScore(vector: string, source: string): CvssScore | undefined {
  const trimmed = vector.trim();
  let score = scoreCache.get(trimmed);
  if (score === undefined) {
    score = cvssBaseScore(trimmed) ?? null;
    if (scoreCache.size >= SCORE_CACHE_MAX) scoreCache.clear();
    scoreCache.set(trimmed, score);
  }
  const version = cvssVersionOf(trimmed);
  if (score === null || !version) return undefined;
  return { version, vector: trimmed, baseScore: score, source };
}
