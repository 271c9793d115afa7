import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError, fixedClock, type AffectedPackage, type AffectedRange, type CvssScore } from '../core/index.js';
import { AdvisoryDbBuilder } from './builder.js';
import { asciiJson, decodeCvss, decodePackageRecords, decodeRanges, decodeSummary, encodeCvss, encodeRanges } from './codec.js';

describe('range codec', () => {
  it.each<[string, AffectedRange[], string]>([
    ['Debian fixed', [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.7.1-1.2' }] }], '[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.7.1-1.2"}]}]'],
    [
      'Go stdlib, two branches',
      [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.20.10' }, { introduced: '1.21.0-0' }, { fixed: '1.21.3' }] }],
      '[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.20.10"},{"introduced":"1.21.0-0"},{"fixed":"1.21.3"}]}]',
    ],
    [
      'last_affected and limit',
      [
        { type: 'ECOSYSTEM', events: [{ introduced: '2.0-beta9' }, { last_affected: '2.14.1' }] },
        { type: 'SEMVER', events: [{ introduced: '1.0.0' }, { limit: '2.0.0' }] },
      ],
      '[{"type":"ECOSYSTEM","events":[{"introduced":"2.0-beta9"},{"last_affected":"2.14.1"}]},{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"limit":"2.0.0"}]}]',
    ],
  ])('%s round-trips through %s', (_name, ranges, encoded) => {
    expect(encodeRanges(ranges)).toBe(encoded);
    expect(decodeRanges(encoded)).toEqual(ranges);
  });

  it('stores only the range fields, whatever else the parsed feed object carried', () => {
    const events = [{ introduced: '0', note: 'x' }, { fixed: '2.0.0' }];
    const parsed = { type: 'SEMVER' as const, events, repo: 'https://example.test' };
    expect(encodeRanges([parsed])).toBe('[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.0.0"}]}]');
  });

  it('round-trips CVSS scores', () => {
    const scores: CvssScore[] = [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', baseScore: 7.5, source: 'ghsa' }];
    expect(decodeCvss(encodeCvss(scores))).toEqual(scores);
    expect(encodeCvss([])).toBeNull();
    expect(decodeCvss(null)).toEqual([]);
  });
});

describe('packages rows (AdvisoryDbBuilder → encodePackageRow → decodePackageRecords)', () => {
  const openssl = (fixed: string): AffectedRange[] => [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }];
  const affected: AffectedPackage[] = [
    { namespace: 'debian:12', name: 'openssl', ranges: openssl('3.0.11-1~deb12u2'), versions: [], fixState: 'fixed', severity: 'high' },
    { namespace: 'debian:12', name: 'openssl', ranges: [], versions: [], fixState: 'wont-fix', severity: 'negligible' },
    { namespace: 'debian:12', name: 'openssl', ranges: [], versions: ['3.0.9-1', '3.0.11-1~deb12u1'], fixState: 'unfixed' },
    { namespace: 'debian:12', name: 'openssl', ranges: openssl('3.0.11-1~deb12u2'), versions: [], fixState: 'fixed' },
    {
      namespace: 'npm',
      name: '@babel/traverse',
      ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '7.23.2' }, { introduced: '8.0.0-alpha.0' }, { fixed: '8.0.0-alpha.4' }] }],
      versions: [],
      fixState: 'fixed',
    },
  ];
  let rows: Map<string, { ranges: string | null; records: string }>;

  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-codec-'));
    try {
      const builder = new AdvisoryDbBuilder(join(dir, 'db.sqlite'), fixedClock('2025-03-01T00:00:00Z'));
      const sink = builder.sinkFor('osv');
      // rids 1…5 in this order; advisory 4 shares advisory 1's range list.
      affected.forEach((p, i) => sink.advisory({ id: `CVE-2024-000${i + 1}`, aliases: [], source: 'osv:test', cvss: [], references: [], affected: [p] }));
      builder.finish();
      const db = new Database(join(dir, 'db.sqlite'), { readonly: true });
      const all = db.prepare<[], { namespace: string; name: string; ranges: string | null; records: string }>('SELECT namespace, name, ranges, records FROM packages').all();
      rows = new Map(all.map((r) => [`${r.namespace} ${r.name}`, { ranges: r.ranges, records: r.records }]));
      db.close();
      expect(readdirSync(dir)).toEqual(['db.sqlite']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each<[string, number[]]>([
    ['debian:12 openssl', [1, 2, 3, 4]],
    ['npm @babel/traverse', [5]],
  ])('%s: one row with every record, in build order', (key, rids) => {
    const row = rows.get(key);
    expect(row).toBeDefined();
    expect(decodePackageRecords(row?.records ?? '', row?.ranges ?? null)).toEqual(
      rids.map((rid) => {
        const p = affected[rid - 1];
        return { advisory: rid, fixState: p?.fixState, severity: p?.severity, ranges: p?.ranges, versions: p?.versions };
      }),
    );
  });

  it('stores a range list shared by records once, and decodes it to one array', () => {
    const row = rows.get('debian:12 openssl');
    expect(row?.ranges).toBe(`[${encodeRanges(openssl('3.0.11-1~deb12u2'))}]`);
    const records = decodePackageRecords(row?.records ?? '', row?.ranges ?? null);
    expect(records[3]?.ranges).toBe(records[0]?.ranges);
  });

  it.each<[string, string, string | null, string]>([
    ['records that are not an array', '{"rid":1}', null, 'packages.records'],
    ['a record cut short', '[1,"fixed",0,-1]', null, 'packages.records'],
    ['a rid that is not a number', '["1","fixed",0,-1,0]', null, 'packages.records'],
    ['a range list index that is not there', '[1,"fixed",0,1,0]', '[[]]', 'packages.records'],
    ['range lists that are not an array', '[1,"fixed",0,0,0]', '{}', 'packages.ranges'],
    ['a range version that is not a string', '[1,"fixed",0,0,0]', '[[{"type":"ECOSYSTEM","events":[{"introduced":0}]}]]', 'ranges'],
    ['an event of no known kind', '[1,"fixed",0,0,0]', '[[{"type":"ECOSYSTEM","events":[{"after":"1.0"}]}]]', 'ranges'],
    ['a range of an unknown type', '[1,"fixed",0,0,0]', '[[{"type":"GIT","events":[]}]]', 'ranges'],
    ['ranges in the compact form of schema 3', '[1,"fixed",0,[["E","i","0","f","1.2"]],0]', null, 'packages.records'],
  ])('refuses %s', (_name, records, ranges, column) => {
    expect(() => decodePackageRecords(records, ranges)).toThrow(
      new AppError('BAD_INPUT', `advisory DB column ${column} holds a value of an unexpected shape; rebuild the DB with \`palisade db update\``, { details: { column } }),
    );
  });
});

describe('summaries documents (AdvisoryDbBuilder → SUMMARIES_SQL → decodeSummary)', () => {
  let docs: Map<string, string>;

  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-codec-'));
    try {
      const builder = new AdvisoryDbBuilder(join(dir, 'db.sqlite'), fixedClock('2025-03-01T00:00:00Z'));
      const sink = builder.sinkFor('osv');
      const cvss: CvssScore[] = [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: 9.8, source: 'nvd' }];
      sink.advisory({ id: 'CVE-2024-0001', aliases: ['GHSA-aaaa-bbbb-cccc'], source: 'osv:test', summary: 'Heap overflow in “parser” … 漢字 😀', severity: 'high', cvss, references: [], affected: [] });
      sink.advisory({ id: 'GHSA-xxxx-yyyy-zzzz', aliases: [], source: 'osv:test', cvss: [], references: [], affected: [] });
      builder.finish();
      const db = new Database(join(dir, 'db.sqlite'), { readonly: true });
      const all = db.prepare<[], { id: string; doc: string }>('SELECT a.id, s.doc FROM summaries s JOIN advisories a USING (rid)').all();
      docs = new Map(all.map((r) => [r.id, r.doc]));
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes ASCII only and decodes the advisory text unchanged', () => {
    const doc = docs.get('CVE-2024-0001') ?? '';
    expect(doc).toMatch(/^[\x20-\x7e]*$/);
    expect(decodeSummary(doc)).toEqual({
      id: 'CVE-2024-0001',
      aliases: ['GHSA-aaaa-bbbb-cccc'],
      source: 'osv:test',
      summary: 'Heap overflow in “parser” … 漢字 😀',
      severity: 'high',
      cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', baseScore: 9.8, source: 'nvd' }],
      epss: undefined,
      withdrawn: undefined,
    });
  });

  it('writes every key, in one order, null where the advisory has no value', () => {
    expect(docs.get('GHSA-xxxx-yyyy-zzzz')).toBe('{"id":"GHSA-xxxx-yyyy-zzzz","aliases":[],"source":"osv:test","cvss":[],"summary":null,"severity":null,"epss":null}');
    const summary = decodeSummary(docs.get('GHSA-xxxx-yyyy-zzzz') ?? '');
    expect([summary.summary, summary.severity, summary.epss]).toEqual([undefined, undefined, undefined]);
  });

  it.each<[string, string]>([
    ['a missing key (a schema 4 document)', '{"id":"CVE-1","aliases":[],"source":"s","cvss":[]}'],
    ['a severity of no known rating', '{"id":"CVE-1","aliases":[],"source":"s","cvss":[],"summary":null,"severity":"dire","epss":null}'],
    ['a summary that is not a string', '{"id":"CVE-1","aliases":[],"source":"s","cvss":[],"summary":1,"severity":null,"epss":null}'],
  ])('refuses %s', (_name, doc) => {
    expect(() => decodeSummary(doc)).toThrow('advisory DB column summaries.doc holds a value of an unexpected shape');
  });

  it.each(['"plain"', '"a…b"', '{"s":"😀 ü \\" \\\\u2026"}', '["\\u00e9", "é"]'])('asciiJson keeps the value of %s', (text) => {
    const ascii = asciiJson(text) ?? '';
    expect(ascii).toMatch(/^[\x00-\x7f]*$/);
    expect(JSON.parse(ascii)).toEqual(JSON.parse(text));
  });
});
