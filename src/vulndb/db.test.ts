import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, fixedClock } from '../core/index.js';
import { AdvisoryDbBuilder } from './builder.js';
import { candidates } from './candidates.js';
import { openAdvisoryDb } from './db.js';
import { SCHEMA_VERSION } from './schema.js';

/** The summary fields of the lodash advisory, as stored and as answered. */
const LODASH = {
  id: 'GHSA-35jh-r3h4-6jhm',
  aliases: ['CVE-2021-23337'],
  source: 'osv:npm',
  summary: 'Command Injection in lodash',
  severity: 'high' as const,
  cvss: [{ version: '3.1' as const, vector: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', baseScore: 7.2, source: 'ghsa' }],
};

describe('openAdvisoryDb', () => {
  let dir: string;
  let dbPath: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-db-'));
    dbPath = join(dir, 'vulndb.sqlite');
    const builder = new AdvisoryDbBuilder(dbPath, fixedClock('2025-03-01T00:00:00Z'));
    const sink = builder.sinkFor('osv');
    const ranges = [{ type: 'SEMVER' as const, events: [{ introduced: '0' }, { fixed: '4.17.21' }] }];
    sink.advisory({
      ...LODASH,
      references: ['https://github.com/advisories/GHSA-35jh-r3h4-6jhm'],
      published: '2021-05-06T16:05:51Z',
      affected: [{ namespace: 'npm', name: 'lodash', ranges, versions: [], fixState: 'fixed' }],
    });
    sink.advisory({
      id: 'GHSA-x5rq-j2xg-h7qm',
      aliases: [],
      source: 'osv:npm',
      cvss: [],
      references: [],
      affected: [{ namespace: 'npm', name: 'lodash', ranges, versions: [], fixState: 'fixed' }],
    });
    // EPSS scores travel with the summaries of the advisories naming the CVE (id or alias).
    sink.epss({ cveId: 'CVE-2021-23337', score: 0.04288, percentile: 0.91726 });
    builder.finish();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers records, summaries (absent fields left out) and headers', () => {
    const db = openAdvisoryDb(dbPath);
    try {
      const records = db.records('npm', 'lodash');
      expect(records.map((r) => r.advisory)).toEqual([1, 2]);
      // One range list shared by both records.
      expect(records[1]?.ranges).toBe(records[0]?.ranges);
      expect(db.summaries([2, 1, 2])).toEqual([
        { id: 'GHSA-x5rq-j2xg-h7qm', aliases: [], source: 'osv:npm', cvss: [] },
        { ...LODASH, epss: [{ cveId: 'CVE-2021-23337', score: 0.04288, percentile: 0.91726 }] },
        { id: 'GHSA-x5rq-j2xg-h7qm', aliases: [], source: 'osv:npm', cvss: [] },
      ]);
      expect(db.epss('CVE-2021-23337')).toEqual({ cveId: 'CVE-2021-23337', score: 0.04288, percentile: 0.91726 });
      expect(db.summaries([2])[0]).toMatchObject({ summary: undefined, severity: undefined, epss: undefined });
      expect(candidates(db, 'npm', 'lodash').map((c) => [c.advisory.id, c.affected])).toEqual([
        ['GHSA-35jh-r3h4-6jhm', { namespace: 'npm', name: 'lodash', ranges: records[0]?.ranges, versions: [], fixState: 'fixed' }],
        ['GHSA-x5rq-j2xg-h7qm', { namespace: 'npm', name: 'lodash', ranges: records[0]?.ranges, versions: [], fixState: 'fixed' }],
      ]);
      expect(db.advisories('GHSA-35jh-r3h4-6jhm')).toEqual([
        { ...LODASH, published: '2021-05-06T16:05:51Z', references: ['https://github.com/advisories/GHSA-35jh-r3h4-6jhm'] },
      ]);
      expect(db.records('npm', 'left-pad')).toEqual([]);
      expect(() => db.summaries([99])).toThrow(new AppError('BAD_INPUT', 'advisory DB names advisory row 99, which is missing; rebuild it with `palisade db update`'));
    } finally {
      db.close();
    }
  });

  it('refuses a DB built by another schema version and says to rebuild it', () => {
    const old = join(dir, 'old.sqlite');
    copyFileSync(dbPath, old);
    const copy = new Database(old);
    copy.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION - 1);
    copy.close();
    expect(() => openAdvisoryDb(old)).toThrow(
      new AppError(
        'CONFLICT',
        `advisory DB at ${old} has schema version ${SCHEMA_VERSION - 1}, this Palisade needs ${SCHEMA_VERSION}; rebuild it with \`palisade db update\``,
      ),
    );
  });
});
