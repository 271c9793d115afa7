import type { FeedFormat, FeedSink } from '../../types.js';

/**
 * FIRST EPSS scores (https://epss.cyentia.com/epss_scores-current.csv.gz and per-year exports):
 * `cve,epss,percentile` or `CVE;epss;percentile`, with or without a header, optionally preceded by
 * a `#model_version:…,score_date:…` comment line, whose date is the snapshot's.
 */
const ROW = /^(CVE-\d{4}-\d{4,})[;,]([0-9.eE+-]+)[;,]([0-9.eE+-]+)\s*$/;
const HEADER = /^cve[;,]epss[;,]percentile\s*$/i;
const SCORE_DATE = /score_date:(\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:?\d{2})?)?)/;

/** The `score_date` of a comment line as an ISO time, or undefined. */
function scoreDate(comment: string): string | undefined {
  const m = SCORE_DATE.exec(comment);
  if (!m?.[1]) return undefined;
  const at = new Date(m[1].replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}

function firstDataLine(text: string): string | undefined {
  for (const line of text.split(/\r?\n/, 8)) {
    const trimmed = line.replace(/^\uFEFF/, '').trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    return trimmed;
  }
  return undefined;
}

export const epssFormat = {
  id: 'epss',
  detect(path: string, head: Buffer): boolean {
    if (!/\.(?:csv|txt)$/i.test(path)) return false;
    const line = firstDataLine(head.toString('utf8'));
    return line !== undefined && (HEADER.test(line) || ROW.test(line));
  },
  parseFile(path: string, data: Buffer, sink: FeedSink): void {
    const text = data.toString('utf8');
    let start = 0;
    let lineNo = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      const line = text.slice(start, end).replace(/\r$/, '').replace(/^\uFEFF/, '');
      start = end + 1;
      lineNo++;
      if (line.startsWith('#')) {
        const date = scoreDate(line);
        if (date !== undefined) sink.snapshot?.(date);
        continue;
      }
      if (line === '' || HEADER.test(line)) continue;
      const m = ROW.exec(line);
      const score = m ? Number(m[2]) : NaN;
      const percentile = m ? Number(m[3]) : NaN;
      if (!m || !(score >= 0 && score <= 1) || !(percentile >= 0 && percentile <= 1)) {
        sink.skip('EPSS row is not CVE,score,percentile with values in 0..1', `${path}:${lineNo}`);
        continue;
      }
      sink.epss({ cveId: m[1] ?? '', score, percentile });
    }
  },
} satisfies FeedFormat;
