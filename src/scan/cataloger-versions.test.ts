import { describe, expect, it } from 'vitest';
import { catalogersKey } from './cache.js';
import { SCAN_CATALOGER_VERSIONS } from './cataloger-versions.js';
import { SCAN_CATALOGERS } from './catalogers.js';

describe('SCAN_CATALOGER_VERSIONS', () => {
  it('lists the id and version of every cataloger the scan runs, so the cache key is the same without loading them', () => {
    const loaded = SCAN_CATALOGERS.map((c) => `${c.id}@${c.version}`).sort();
    const listed = SCAN_CATALOGER_VERSIONS.map((c) => `${c.id}@${c.version}`).sort();
    expect(listed, 'update src/scan/cataloger-versions.ts to match the catalogers').toEqual(loaded);
    expect(catalogersKey(SCAN_CATALOGER_VERSIONS)).toBe(catalogersKey(SCAN_CATALOGERS));
  });
});
