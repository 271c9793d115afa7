import { SCHEMA_VERSION } from '../vulndb/schema.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGroup } from './__fixtures__/run.js';
import { registerDb } from './db.js';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'palisade-cli-db-'));
  const feeds = join(work, 'feeds');
  mkdirSync(feeds);
  writeFileSync(join(feeds, 'GHSA-35jh-r3h4-6jhm.json'), readFileSync(join(import.meta.dirname, '../vulndb/sources/osv/__fixtures__/ghsa-npm.json')));
  writeFileSync(join(feeds, 'GHSA-bad.json'), '{"id": "GHSA-bad", "modified": "2024-01-0');
  writeFileSync(join(feeds, 'CVE_2021_EPSS.csv'), 'CVE-2021-23337;0.042880000;0.917260000\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ out: string; err: string }> {
  return runGroup(registerDb, [...args], work);
}

describe('palisade db', () => {
  it('imports, prints a per-feed summary with skip reasons, and no progress when not on a TTY', async () => {
    const db = join(work, 'cli.sqlite');
    const { out, err } = await run(['db', 'import', join(work, 'feeds'), '--db', db]);
    expect(err).toBe('');
    expect(out).toMatch(/^built .*cli\.sqlite \(\d+\.\d MiB\) in \d+\.\d s from 3 files\n/);
    expect(out).toContain('  epss: 1 records from 1 files\n');
    expect(out).toContain('  osv: 1 records from 2 files, skipped 1 (invalid JSON: 1)\n');
    expect(out).toMatch(/ {2}osv:npm +1 {2}2025-01-14T08:57:24\.130762Z\n/);
  });

  it('reports status as JSON', async () => {
    const { out } = await run(['db', 'status', '--json', '--db', join(work, 'cli.sqlite')]);
    const status: unknown = JSON.parse(out);
    expect(status).toMatchObject({
      schemaVersion: SCHEMA_VERSION,
      sources: [
        { source: 'epss', records: 1, snapshot: null },
        { source: 'osv:npm', records: 1, snapshot: '2025-01-14T08:57:24.130762Z' },
      ],
      skips: [{ feed: 'osv', reason: 'invalid JSON', count: 1 }],
    });
  });

  it('says how to build a DB that does not exist', async () => {
    await expect(run(['db', 'status'])).rejects.toThrow(/advisory DB not found at .*default\.sqlite; build it with `palisade db update` or `palisade db import PATH`/);
  });
});
