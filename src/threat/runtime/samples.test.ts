import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { judgeSample, rulesWithoutSamples, sampleCases } from '../../rules/index.js';
import { createRuntimeAnalyzer } from './analyzer.js';
import { RUNTIME_DETECTOR_IDS } from './detectors.js';
import { loadRuntimeRuleSet } from './engine.js';
import { runtimeDetectorSamplesSchema, sampleEvent, scenarioEvents } from './samples.js';

// The one generic test of every built-in runtime rule and detector: each sample that must fire
// fires its rule (alone), each quiet sample does not, and no condition errors on a sample.

const here = dirname(fileURLToPath(import.meta.url));
const ruleSet = loadRuntimeRuleSet();

describe('runtime rule samples', () => {
  it('every rule has samples', () => {
    expect(rulesWithoutSamples(ruleSet)).toEqual([]);
  });

  const cases = sampleCases(ruleSet).map((c) => [`${c.ruleId} ${c.kind} #${c.index + 1}`, c] as const);
  it.each(cases)('%s', (name, c) => {
    const analyzer = createRuntimeAnalyzer({ ruleSet: { ...c.ruleSet, params: ruleSet.params } });
    const event = sampleEvent(c.sample, c.index, name);
    const fired = analyzer.analyze(event).map((a) => a.rule).filter((id) => id === c.ruleId);
    const stats = analyzer.engine.stats().get(c.ruleId);
    const errors = stats?.lastError ? [stats.lastError] : [];
    const verdict = judgeSample(c, fired, errors);
    expect(verdict.reason).toBe('');
    expect(verdict.passed).toBe(true);
  });
});

describe('runtime detector samples', () => {
  const dir = join(here, 'detectors');
  const files = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.samples.yaml')).sort() : [];
  const docs = files.map((name) => runtimeDetectorSamplesSchema.parse(parseYaml(readFileSync(join(dir, name), 'utf8'))));

  it('every detector has a samples file', () => {
    expect(docs.map((d) => d.detector).sort()).toEqual([...RUNTIME_DETECTOR_IDS].sort());
  });

  const cases = docs.flatMap((doc) => [
    ...doc.fire.map((s) => [`${doc.detector} fire: ${s.name}`, doc, s, 'fire'] as const),
    ...doc.quiet.map((s) => [`${doc.detector} quiet: ${s.name}`, doc, s, 'quiet'] as const),
  ]);
  it.each(cases)('%s', (name, doc, scenario, kind) => {
    const params = new Map(ruleSet.params);
    if (doc.params) params.set(doc.detector, { ...(params.get(doc.detector) ?? {}), ...doc.params });
    const index = new Map(Object.entries(doc.imageFiles ?? {}).map(([digest, paths]) => [digest, new Set(paths)]));
    const analyzer = createRuntimeAnalyzer({ ruleSet: { ...ruleSet, rules: [], params }, imageFiles: (digest) => index.get(digest) });
    let alerts = 0;
    for (const event of scenarioEvents(scenario, name)) {
      alerts += analyzer.analyze(event).filter((a) => a.rule === doc.detector).length;
    }
    expect(alerts).toBe(kind === 'fire' ? (scenario.alerts ?? 1) : 0);
  });
});
