import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { KIND_SCHEMAS } from '../model.js';
import { evaluatePodSecurity, parsePssVersion, PSS_CHECK_IDS } from './evaluate.js';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const dir = resolve(repoRoot, '../shared/conformance/pss');
const present = existsSync(resolve(dir, 'manifest.json'));
if (!present) console.warn(`skipping the Pod Security Standards conformance run: ${dir} is absent (it holds kubernetes/pod-security-admission test/testdata)`);

const CaseSchema = z.object({
  file: z.string(),
  level: z.enum(['baseline', 'restricted']),
  version: z.string(),
  expect: z.enum(['allow', 'deny']),
  check: z.string(),
  expectErrorSubstring: z.string().optional(),
});

describe.skipIf(!present)('Pod Security Standards conformance (../shared/conformance/pss)', () => {
  it('targets every fixture right, for every level and policy version', () => {
    const manifest = z.object({ cases: z.array(CaseSchema) }).parse(JSON.parse(readFileSync(resolve(dir, 'manifest.json'), 'utf8')));
    const counts = new Map<string, { allow: number; deny: number; wrong: number }>();
    const wrong: string[] = [];
    for (const c of manifest.cases) {
      const pod = KIND_SCHEMAS.Pod.parse(parseYaml(readFileSync(resolve(dir, c.file), 'utf8')));
      const violations = evaluatePodSecurity(pod, c.level, c.version);
      const key = `${c.level} ${c.version}`;
      const count = counts.get(key) ?? { allow: 0, deny: 0, wrong: 0 };
      counts.set(key, count);
      let right: boolean;
      if (c.expect === 'allow') {
        right = violations.length === 0;
      } else {
        const hit = violations.find((v) => v.check === c.check);
        right = hit !== undefined && hit.message.includes(c.expectErrorSubstring ?? '') && hit.paths.length > 0;
      }
      if (right) count[c.expect] += 1;
      else {
        count.wrong += 1;
        wrong.push(`${c.file} expected ${c.expect} by ${c.check}, got ${JSON.stringify(violations.map((v) => v.message))}`);
      }
    }
    const lines = [...counts]
      .sort(([a], [b]) => {
        const [la = '', va = ''] = a.split(' ');
        const [lb = '', vb = ''] = b.split(' ');
        return la.localeCompare(lb) || parsePssVersion(va) - parsePssVersion(vb);
      })
      .map(([k, v]) => `${k.padEnd(18)} allowed ${String(v.allow).padStart(3)}  denied ${String(v.deny).padStart(3)}  wrong ${v.wrong}`);
    const total = manifest.cases.length;
    console.log(`Pod Security Standards fixtures: ${total - wrong.length}/${total} right\n${lines.join('\n')}`);
    expect(wrong.slice(0, 20)).toEqual([]);
    expect(total).toBe(4537);
  });

  it('knows every check the fixtures name', () => {
    const manifest = z.object({ cases: z.array(CaseSchema) }).parse(JSON.parse(readFileSync(resolve(dir, 'manifest.json'), 'utf8')));
    const named = new Set(manifest.cases.filter((c) => c.expect === 'deny').map((c) => c.check));
    expect([...named].filter((n) => !(PSS_CHECK_IDS as readonly string[]).includes(n))).toEqual([]);
  });
});
