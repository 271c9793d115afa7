import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { AppError, type AffectedPackage, type AffectedRange, type CvssScore } from '../core/index.js';
import { decodeCvss, decodePackageRecords, decodeRanges, encodeCvss, encodeRanges, encodeStrings } from './codec.js';
import { PACKAGES_SQL, POST_LOAD_SQL, SCHEMA_SQL } from './schema.js';

describe('range codec', () => {
  it.each<[string, AffectedRange[], string]>([
    ['Debian fixed', [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.7.1-1.2' }] }], '[["E","i","0","f","3.7.1-1.2"]]'],
    [
      'Go stdlib, two branches',
      [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.20.10' }, { introduced: '1.21.0-0' }, { fixed: '1.21.3' }] }],
      '[["S","i","0","f","1.20.10","i","1.21.0-0","f","1.21.3"]]',
    ],
    [
      'last_affected and limit',
      [
        { type: 'ECOSYSTEM', events: [{ introduced: '2.0-beta9' }, { last_affected: '2.14.1' }] },
        { type: 'SEMVER', events: [{ introduced: '1.0.0' }, { limit: '2.0.0' }] },
      ],
      '[["E","i","2.0-beta9","l","2.14.1"],["S","i","1.0.0","m","2.0.0"]]',
    ],
  ])('%s round-trips through %s', (_name, ranges, encoded) => {
    expect(encodeRanges(ranges)).toBe(encoded);
    expect(decodeRanges(encoded)).toEqual(ranges);
  });

  it('round-trips CVSS scores', () => {
    const scores: CvssScore[] = [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', baseScore: 7.5, source: 'ghsa' }];
    expect(decodeCvss(encodeCvss(scores))).toEqual(scores);
    expect(encodeCvss([])).toBeNull();
    expect(decodeCvss(null)).toEqual([]);
  });
});

describe('packages records (PACKAGES_SQL → decodePackageRecords)', () => {
  const affected: [number, AffectedPackage][] = [
    [7, { namespace: 'debian:12', name: 'openssl', ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.11-1~deb12u2' }] }], versions: [], fixState: 'fixed', severity: 'high' }],
    [3, { namespace: 'debian:12', name: 'openssl', ranges: [], versions: [], fixState: 'wont-fix', severity: 'negligible' }],
    [9, { namespace: 'debian:12', name: 'openssl', ranges: [], versions: ['3.0.9-1', '3.0.11-1~deb12u1'], fixState: 'unfixed' }],
    [4, { namespace: 'npm', name: '@babel/traverse', ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '7.23.2' }, { introduced: '8.0.0-alpha.0' }, { fixed: '8.0.0-alpha.4' }] }], versions: [], fixState: 'fixed' }],
  ];

  function build(): Database.Database {
    const db = new Database(':memory:');
    db.exec(SCHEMA_SQL);
    const ins = db.prepare('INSERT INTO affected (namespace, name, rid, ranges, versions, fix_state, severity) VALUES (?,?,?,?,?,?,?)');
    for (const [rid, p] of affected) {
      ins.run(p.namespace, p.name, rid, p.ranges.length > 0 ? encodeRanges(p.ranges) : null, encodeStrings(p.versions), p.fixState, p.severity ?? null);
    }
    db.exec(POST_LOAD_SQL);
    db.exec(PACKAGES_SQL);
    return db;
  }

  it.each<[string, string, [number, AffectedPackage][]]>([
    ['debian:12', 'openssl', affected.slice(0, 3)],
    ['npm', '@babel/traverse', affected.slice(3)],
  ])('%s %s: one row with every record, in build order', (namespace, name, expected) => {
    const db = build();
    const row = db.prepare<[string, string], { records: string }>('SELECT records FROM packages WHERE namespace = ? AND name = ?').get(namespace, name);
    db.close();
    expect(row).toBeDefined();
    expect(decodePackageRecords(row?.records ?? '', namespace, name)).toEqual(expected.map(([rid, p]) => ({ rid, affected: p })));
  });

  it.each<[string, string, string]>([
    ['not an array', '{"rid":1}', 'packages.records'],
    ['a record cut short', '[1,"fixed",0,0]', 'packages.records'],
    ['a rid that is not a number', '["1","fixed",0,0,0]', 'packages.records'],
    ['a range version that is not a string', '[1,"fixed",0,[["E","i",0]],0]', 'ranges'],
  ])('refuses %s', (_name, text, column) => {
    expect(() => decodePackageRecords(text, 'npm', 'lodash')).toThrow(
      new AppError('BAD_INPUT', `advisory DB column ${column} holds a value of an unexpected shape; rebuild the DB with \`palisade db update\``, { details: { column } }),
    );
  });
});
