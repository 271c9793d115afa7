import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock, silentLogger } from '../core/index.js';
import { importFeeds } from '../vulndb/import.js';
import { runGroup } from './__fixtures__/run.js';
import { registerMatch } from './match.js';

const repo = join(import.meta.dirname, '..', '..');
const sbom = (name: string): string => join(repo, 'src', 'sbom', '__fixtures__', name);

describe('palisade match', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-cli-match-'));
  const dbPath = join(dir, 'vulndb.sqlite');

  beforeAll(async () => {
    await importFeeds({
      inputs: [join(repo, 'src', 'match', '__fixtures__', 'feeds')],
      dbPath,
      clock: fixedClock('2025-03-01T00:00:00Z'),
      log: silentLogger,
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function run(args: string[]): Promise<{ out: string; err: string }> {
    return runGroup(registerMatch, ['match', ...args], dir);
  }

  it('prints a table and notes the skipped SBOM entries on stderr', async () => {
    const { out, err } = await run(['--packages', sbom('cyclonedx-trivy.json'), '--db', dbPath]);
    expect(out).toBe(
      [
        'PACKAGE  INSTALLED         ADVISORY        SEVERITY  FIX STATE  FIXED VERSION',
        'zlib1g   1:1.2.13.dfsg-1   CVE-2023-45853  critical  unfixed',
        'libssl3  3.0.11-1~deb12u2  CVE-2023-5678   low       fixed      3.0.13-1~deb12u1',
        '',
        '2 findings',
        '',
      ].join('\n'),
    );
    expect(err).toBe(
      `palisade: skipped 3 entries of ${sbom('cyclonedx-trivy.json')} (invalid component: Invalid input: expected string, received undefined: 1, no purl: 1, unsupported purl type 'github': 1)\n`,
    );
  });

  it('writes JSON with schemaVersion 1 to --output', async () => {
    const output = join(dir, 'findings.json');
    const { out } = await run(['--packages', sbom('cyclonedx-syft.json'), '--db', dbPath, '--format', 'json', '--output', output]);
    expect(out).toBe('');
    const doc: unknown = JSON.parse(readFileSync(output, 'utf8'));
    expect(doc).toMatchObject({
      schemaVersion: 1,
      findings: [
        { advisoryId: 'CVE-2021-44228', installedVersion: '2.14.1', fixedVersions: ['2.15.0'], kev: { cveId: 'CVE-2021-44228', knownRansomwareUse: true } },
        { advisoryId: 'CVE-2020-14343', installedVersion: '5.3.1', aliases: ['GHSA-8q59-q68h-6hv4', 'PYSEC-2021-142'] },
      ],
    });
  });

  it('refuses to run without a DB, saying how to get one', async () => {
    await expect(run(['--packages', sbom('cyclonedx-syft.json')])).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `no advisory DB at ${join(dir, 'default.sqlite')}: run 'palisade db import PATH…' (local feed copies) or 'palisade db update' first, or pass --db`,
    });
  });
});
