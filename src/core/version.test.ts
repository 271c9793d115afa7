import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PALISADE_VERSION } from './version.js';

describe('PALISADE_VERSION', () => {
  it('is the version package.json gives', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(PALISADE_VERSION).toBe(pkg.version);
  });
});
