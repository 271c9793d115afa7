import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAdvisoryDb } from '../../test/server-support.js';
import { silentLogger } from '../core/index.js';
import { createAdvisoryProvider, type AdvisoryProvider } from './advisory.js';

describe('advisory provider', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-advisory-'));
  const path = join(dir, 'advisories.sqlite');
  let provider: AdvisoryProvider;

  beforeAll(async () => {
    await buildAdvisoryDb(path, { builtAt: '2024-07-01T00:00:00Z' });
    provider = createAdvisoryProvider(path, silentLogger);
  });
  afterAll(() => {
    provider.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a replaced build open until its last lease is released', async () => {
    const first = provider.acquire();
    const second = provider.acquire();
    expect(first?.builtAt).toBe('2024-07-01T00:00:00.000Z');
    // An update replaces the file by rename; the scheduler's refresh loads the new build.
    await buildAdvisoryDb(path, { builtAt: '2024-07-02T00:00:00Z' });
    expect(provider.refresh()).toBe(true);
    expect(provider.current()?.builtAt).toBe('2024-07-02T00:00:00.000Z');
    // Scans that began with the old build finish with it.
    expect(first?.db.info().builtAt).toBe('2024-07-01T00:00:00.000Z');
    first?.release();
    first?.release(); // idempotent: the second holder still has it
    expect(second?.db.info().builtAt).toBe('2024-07-01T00:00:00.000Z');
    second?.release();
    expect(() => second?.db.info()).toThrow(/not open/);
  });

  it('closes a replaced build at once when nothing holds it, and never the current one on release', async () => {
    const lease = provider.acquire();
    lease?.release();
    expect(provider.current()?.db.info().builtAt).toBe('2024-07-02T00:00:00.000Z');
    const old = provider.current()?.db;
    await buildAdvisoryDb(path, { builtAt: '2024-07-03T00:00:00Z' });
    expect(provider.refresh()).toBe(true);
    expect(() => old?.info()).toThrow(/not open/);
    expect(provider.current()?.db.info().builtAt).toBe('2024-07-03T00:00:00.000Z');
  });
});
