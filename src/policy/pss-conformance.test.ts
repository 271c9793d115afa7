import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { bindAssignments, createPolicyEngine, isJson } from './engine.js';
import { loadLibrary } from './load.js';
import { sampleInput } from './samples.js';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const dir = resolve(repoRoot, '../shared/conformance/pss');
const present = existsSync(resolve(dir, 'manifest.json'));
if (!present) console.warn(`skipping the PSS initiatives conformance run: ${dir} is absent (kubernetes/pod-security-admission test/testdata)`);

const CaseSchema = z.object({
  file: z.string(),
  level: z.enum(['baseline', 'restricted']),
  version: z.string(),
  expect: z.enum(['allow', 'deny']),
  check: z.string(),
});

describe.skipIf(!present)('Pod Security initiatives agree with the Kubernetes PSS fixtures', () => {
  const library = loadLibrary();
  const engines = new Map<string, ReturnType<typeof createPolicyEngine>>();
  const engineFor = (level: string, version: string): ReturnType<typeof createPolicyEngine> => {
    const key = `${level} ${version}`;
    let engine = engines.get(key);
    if (engine === undefined) {
      engine = createPolicyEngine(
        bindAssignments(library, [
          { name: `pss-${level}`, initiative: `pod-security-${level}`, effect: 'Deny', match: {}, parameters: { 'pod-security-standards': { version } } },
        ]),
      );
      engines.set(key, engine);
    }
    return engine;
  };

  it.each(['baseline', 'restricted'] as const)('pod-security-%s: every fixture of every policy version', (level) => {
    const manifest = z.object({ cases: z.array(CaseSchema) }).parse(JSON.parse(readFileSync(resolve(dir, 'manifest.json'), 'utf8')));
    const wrong: string[] = [];
    let total = 0;
    for (const c of manifest.cases.filter((x) => x.level === level)) {
      total += 1;
      const raw: unknown = parseYaml(readFileSync(resolve(dir, c.file), 'utf8'));
      if (!isJson(raw)) throw new Error(`${c.file} is not an object`);
      const pod = { ...raw, metadata: { name: 'fixture', namespace: 'conformance', ...(isJson(raw.metadata) ? raw.metadata : {}) } };
      const result = engineFor(level, c.version).evaluate(sampleInput({ name: c.file, object: pod, operation: 'CREATE' }));
      if (result.errors.length > 0) wrong.push(`${c.file}: errors ${result.errors.map((e) => e.error).join('; ')}`);
      else if ((result.violations.length === 0) !== (c.expect === 'allow')) wrong.push(`${c.file} (${c.version}) expected ${c.expect}, got ${result.violations.map((v) => v.message).join('; ') || 'allow'}`);
    }
    console.log(`pod-security-${level}: ${total - wrong.length}/${total} fixtures agree`);
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(total).toBeGreaterThan(1000);
  });
});
