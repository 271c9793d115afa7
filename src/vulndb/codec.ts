import { z } from 'zod';
import type { AffectedRange, CvssScore, RangeEvent } from '../core/index.js';

/**
 * Compact column encodings of the advisory DB. Ranges are stored as
 * `[["E","i","0","f","1.2.3"], …]` (type code, then event kind / version pairs) instead of the
 * verbose OSV objects: a third of the size, and the reader rebuilds the exact domain values.
 */
const RANGE_TYPE_CODE = { ECOSYSTEM: 'E', SEMVER: 'S' } as const;
const EVENT_CODE = { introduced: 'i', fixed: 'f', last_affected: 'l', limit: 'm' } as const;

export function encodeRanges(ranges: readonly AffectedRange[]): string {
  return JSON.stringify(
    ranges.map((r) => {
      const row: string[] = [RANGE_TYPE_CODE[r.type]];
      for (const e of r.events) {
        if ('introduced' in e) row.push(EVENT_CODE.introduced, e.introduced);
        else if ('fixed' in e) row.push(EVENT_CODE.fixed, e.fixed);
        else if ('last_affected' in e) row.push(EVENT_CODE.last_affected, e.last_affected);
        else row.push(EVENT_CODE.limit, e.limit);
      }
      return row;
    }),
  );
}

const encodedRanges = z.array(z.array(z.string()));

function decodeEvent(code: string | undefined, version: string): RangeEvent | undefined {
  switch (code) {
    case 'i':
      return { introduced: version };
    case 'f':
      return { fixed: version };
    case 'l':
      return { last_affected: version };
    case 'm':
      return { limit: version };
    default:
      return undefined;
  }
}

export function decodeRanges(text: string | null): AffectedRange[] {
  if (!text) return [];
  const rows = encodedRanges.parse(JSON.parse(text));
  return rows.map((row) => {
    const events: RangeEvent[] = [];
    for (let i = 1; i + 1 < row.length; i += 2) {
      const e = decodeEvent(row[i], row[i + 1] ?? '');
      if (e) events.push(e);
    }
    return { type: row[0] === 'S' ? 'SEMVER' : 'ECOSYSTEM', events };
  });
}

/** CVSS as `[[version, vector, baseScore, source], …]`. */
export function encodeCvss(scores: readonly CvssScore[]): string | null {
  if (scores.length === 0) return null;
  return JSON.stringify(scores.map((s) => [s.version, s.vector, s.baseScore, s.source]));
}

const encodedCvss = z.array(z.tuple([z.enum(['2.0', '3.0', '3.1', '4.0']), z.string(), z.number(), z.string()]));

export function decodeCvss(text: string | null): CvssScore[] {
  if (!text) return [];
  return encodedCvss.parse(JSON.parse(text)).map(([version, vector, baseScore, source]) => ({ version, vector, baseScore, source }));
}

const stringArray = z.array(z.string());

export function encodeStrings(values: readonly string[]): string | null {
  return values.length === 0 ? null : JSON.stringify(values);
}

export function decodeStrings(text: string | null): string[] {
  if (!text) return [];
  return stringArray.parse(JSON.parse(text));
}
