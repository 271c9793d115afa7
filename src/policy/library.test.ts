import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIBRARY_DIR, loadLibrary } from './load.js';
import { runPolicySamples } from './samples.js';

const library = loadLibrary();
const cases = [...library.policies.values()].flatMap((loaded) => runPolicySamples(library, loaded));

describe('built-in policy library', () => {
  it('loads one policy per folder, each with samples', () => {
    const folders = readdirSync(LIBRARY_DIR).filter((name) => statSync(join(LIBRARY_DIR, name)).isDirectory()).sort();
    expect([...library.policies.keys()].sort()).toEqual(folders);
    expect(folders.length).toBe(48);
    for (const loaded of library.policies.values()) {
      expect(loaded.samples?.pass.length ?? 0, loaded.policy.id).toBeGreaterThan(0);
      expect(loaded.samples?.fail.length ?? 0, loaded.policy.id).toBeGreaterThan(0);
    }
  });

  it.each(cases.map((c) => [`${c.policyId} ${c.kind}: ${c.name}`, c] as const))('%s', (_label, c) => {
    expect(c.passed, c.detail).toBe(true);
  });
});
