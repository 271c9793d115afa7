import { cpSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock, isAppError, silentLogger } from '../core/index.js';
import type { AdvisoryDbInfo } from '../vulndb/db.js';
import { importFeeds } from '../vulndb/import.js';
import { advisoryDbIdentity, openAdvisoryDbLazily, type DbInfoMemo } from './advisory-db.js';

const FEEDS = join(import.meta.dirname, '..', 'match', '__fixtures__', 'feeds');

function memo(): DbInfoMemo & { rows: Map<string, { identity: string; info: AdvisoryDbInfo }> } {
  const rows = new Map<string, { identity: string; info: AdvisoryDbInfo }>();
  return {
    rows,
    getDbInfo: (path, identity) => (rows.get(path)?.identity === identity ? rows.get(path)?.info : undefined),
    putDbInfo: (path, identity, info) => void rows.set(path, { identity, info }),
  };
}

describe('the advisory DB, opened lazily', () => {
  const work = mkdtempSync(join(tmpdir(), 'palisade-lazy-db-'));
  const db = join(work, 'vulndb.sqlite');
  beforeAll(async () => {
    await importFeeds({ inputs: [FEEDS], dbPath: db, clock: fixedClock('2025-03-01T00:00:00Z'), log: silentLogger });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('opens the DB the first time and remembers its info under the identity of its file', async () => {
    const m = memo();
    const first = await openAdvisoryDbLazily(db, m);
    expect(first.info.builtAt).toBe('2025-03-01T00:00:00.000Z');
    expect(m.rows.get(db)).toEqual({ identity: advisoryDbIdentity(db), info: first.info });
    expect((await first.open()).info()).toEqual(first.info);
    first.close();
  });

  it('answers from the memo without opening the file while its identity holds', async () => {
    // Not a DB at all: only a remembered identity lets this "open".
    const fake = join(work, 'not-a-db.sqlite');
    writeFileSync(fake, 'not sqlite');
    const m = memo();
    const info = { builtAt: '2025-03-01T00:00:00.000Z', sources: [{ id: 'osv', snapshot: '2024-11-01' }] };
    m.putDbInfo(fake, advisoryDbIdentity(fake) ?? '', info);
    const lazy = await openAdvisoryDbLazily(fake, m);
    expect(lazy.info).toEqual(info);
    await expect(lazy.open()).rejects.toThrow(/is not a Palisade advisory DB/);
    lazy.close();

    utimesSync(fake, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
    await expect(openAdvisoryDbLazily(fake, m)).rejects.toThrow(/is not a Palisade advisory DB/);
  });

  it('sees a rebuilt DB as new, and refuses to match against a DB replaced after its info was read', async () => {
    const path = join(work, 'replaced.sqlite');
    cpSync(db, path);
    const m = memo();
    (await openAdvisoryDbLazily(path, m)).close();
    const remembered = await openAdvisoryDbLazily(path, m);
    await importFeeds({ inputs: [FEEDS], dbPath: path, clock: fixedClock('2025-04-01T00:00:00Z'), log: silentLogger });
    const error: unknown = await remembered.open().catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('CONFLICT');
    remembered.close();
    const fresh = await openAdvisoryDbLazily(path, m);
    expect(fresh.info.builtAt).toBe('2025-04-01T00:00:00.000Z');
    fresh.close();
  });
});
