import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fixedClock, silentLogger } from '../../src/core/index.js';
import { importFeeds, type ImportResult } from '../../src/vulndb/import.js';

/**
 * The advisory DB built from every frozen feed in ../shared/vulndata, shared by the tests that need
 * real data (the import checks, the mixed-app scan). Building takes a minute or two, so it is built
 * once per content of the feeds and of the importer's code, into the temp dir, with a lock so that
 * test files running in parallel wait for one build instead of starting their own.
 */
const REPO = resolve(import.meta.dirname, '../..');
export const VULNDATA = resolve(REPO, '../shared/vulndata');

export function vulndataPresent(): boolean {
  return existsSync(VULNDATA) && readdirSync(VULNDATA).some((f) => f.endsWith('.tar.gz'));
}

export interface FullDb {
  dbPath: string;
  result: ImportResult;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === '__fixtures__' ? [] : filesUnder(path);
    return e.name.endsWith('.test.ts') ? [] : [path];
  });
}

/** Changes when a feed archive or the code that reads feeds changes. */
function buildKey(inputs: string[]): string {
  const hash = createHash('sha256');
  for (const input of inputs) hash.update(`${input}:${statSync(input).size}:${statSync(input).mtimeMs}\n`);
  for (const file of [...filesUnder(join(REPO, 'src/vulndb')), ...filesUnder(join(REPO, 'src/core'))].sort()) {
    hash.update(file).update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

export async function fullDb(): Promise<FullDb> {
  const inputs = readdirSync(VULNDATA)
    .filter((f) => f.endsWith('.tar.gz'))
    .sort()
    .map((f) => join(VULNDATA, f));
  const dir = join(tmpdir(), `palisade-test-vulndb-${buildKey(inputs)}`);
  const dbPath = join(dir, 'vulndb.sqlite');
  const resultPath = join(dir, 'import-result.json');
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    if (existsSync(resultPath)) return { dbPath, result: JSON.parse(readFileSync(resultPath, 'utf8')) as ImportResult };
    try {
      mkdirSync(lock);
    } catch {
      // Another test file is building it: wait for its result.
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}; remove it if no test run is building the DB`);
      await new Promise((r) => setTimeout(r, 1000));
      continue;
    }
    try {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const result = await importFeeds({ inputs, dbPath, clock: fixedClock('2026-08-21T00:00:00Z'), log: silentLogger });
      writeFileSync(`${resultPath}.tmp`, JSON.stringify(result));
      renameSync(`${resultPath}.tmp`, resultPath);
      return { dbPath, result };
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}
