import { describe, expect, it } from 'vitest';
import type { EpssScore } from '../../../core/index.js';
import type { FeedSink } from '../../types.js';
import { epssFormat } from './index.js';

function run(text: string): { scores: EpssScore[]; skips: string[]; snapshots: string[] } {
  const scores: EpssScore[] = [];
  const skips: string[] = [];
  const snapshots: string[] = [];
  const sink: FeedSink = { advisory: () => {}, kev: () => {}, epss: (e) => scores.push(e), snapshot: (d) => snapshots.push(d), skip: (_r, ref) => skips.push(ref) };
  epssFormat.parseFile('epss.csv', Buffer.from(text), sink);
  return { scores, skips, snapshots };
}

describe('epssFormat', () => {
  it.each([
    ['epss/EPSS_CVE_data/CVE_2021_EPSS.csv', 'CVE-2021-47987;0.001200000;0.021680000\n', true],
    ['epss_scores-2024-08-16.csv', '#model_version:v2023.03.01,score_date:2024-08-16T00:00:00+0000\ncve,epss,percentile\nCVE-1999-0001,0.01141,0.83218\n', true],
    ['epss_scores-current.csv', 'cve,epss,percentile\r\n', true],
    ['cisa-kev/known_exploited_vulnerabilities.csv', 'cveID,vendorProject,product\n', false],
    ['notes.json', 'CVE-2021-47987;0.0012;0.0216\n', false],
  ])('detects %s → %s', (path, head, expected) => {
    expect(epssFormat.detect(path, Buffer.from(head))).toBe(expected);
  });

  it.each([
    ['semicolons, no header', 'CVE-2021-47987;0.001200000;0.021680000\nCVE-2021-44228;0.944010000;0.999960000\n'],
    ['commas, comment and header, CRLF', '#model_version:v2023.03.01,score_date:2024-08-16T00:00:00+0000\r\ncve,epss,percentile\r\nCVE-2021-47987,0.0012,0.02168\r\nCVE-2021-44228,0.94401,0.99996\r\n'],
  ])('reads %s', (_name, text) => {
    expect(run(text).scores).toEqual([
      { cveId: 'CVE-2021-47987', score: 0.0012, percentile: 0.02168 },
      { cveId: 'CVE-2021-44228', score: 0.94401, percentile: 0.99996 },
    ]);
  });

  it.each([
    ['#model_version:v2023.03.01,score_date:2024-08-16T00:00:00+0000', ['2024-08-16T00:00:00.000Z']],
    ['#model_version:v2025.03.14,score_date:2025-06-01T00:00:00Z', ['2025-06-01T00:00:00.000Z']],
    ['#model_version:v2023.03.01,score_date:2024-13-45T00:00:00+0000', []],
    ['#model_version:v2023.03.01', []],
  ])('takes the snapshot date from %s', (comment, expected) => {
    expect(run(`${comment}\ncve,epss,percentile\nCVE-2021-44228,0.94401,0.99996\n`).snapshots).toEqual(expected);
  });

  it('skips rows that are not CVE,score,percentile in 0..1', () => {
    const { scores, skips } = run('CVE-2021-1001;1.5;0.2\nCVE-2021-1002;abc;0.1\ngarbage\nCVE-2021-1003;0.5;0.5\n');
    expect(scores).toEqual([{ cveId: 'CVE-2021-1003', score: 0.5, percentile: 0.5 }]);
    expect(skips).toEqual(['epss.csv:1', 'epss.csv:2', 'epss.csv:3']);
  });
});
