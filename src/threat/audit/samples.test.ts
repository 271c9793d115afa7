import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { judgeSample, rulesWithoutSamples, sampleCases, type RuleSet } from '../../rules/index.js';
import { createAuditAnalyzer } from './analyzer.js';
import { DETECTOR_IDS } from './detectors.js';
import { loadAuditRuleSet } from './engine.js';
import { detectorSamplesSchema, sampleEvent, scenarioEvents } from './samples.js';
import { openDetectorState } from './state.js';

// The one generic test of every built-in audit rule and detector: each sample that must fire
// fires its rule (alone), each quiet sample does not, and no condition errors on a sample.

const here = dirname(fileURLToPath(import.meta.url));
const ruleSet = loadAuditRuleSet();

function analyzerFor(set: RuleSet) {
  return createAuditAnalyzer({ ruleSet: set, state: openDetectorState(':memory:') });
}

describe('audit rule samples', () => {
  it('every rule has samples', () => {
    expect(rulesWithoutSamples(ruleSet)).toEqual([]);
  });

  const cases = sampleCases(ruleSet).map((c) => [`${c.ruleId} ${c.kind} #${c.index + 1}`, c] as const);
  it.each(cases)('%s', (_name, c) => {
    const analyzer = analyzerFor(c.ruleSet);
    const event = sampleEvent(c.sample, c.index, `${c.ruleId} ${c.kind} #${c.index + 1}`);
    const skippedBefore = analyzer.counters().skipped.size;
    const fired = analyzer.analyzeValue(event).map((a) => a.rule).filter((id) => id === c.ruleId);
    expect(analyzer.counters().skipped.size, 'sample must be a valid audit event').toBe(skippedBefore);
    const stats = analyzer.engine.stats().get(c.ruleId);
    const errors = stats?.lastError ? [stats.lastError] : [];
    const verdict = judgeSample(c, fired, errors);
    expect(verdict.reason).toBe('');
    expect(verdict.passed).toBe(true);
  });
});

describe('audit detector samples', () => {
  const dir = join(here, 'detectors');
  const files = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.samples.yaml')).sort() : [];
  const docs = files.map((name) => detectorSamplesSchema.parse(parseYaml(readFileSync(join(dir, name), 'utf8'))));

  it('every detector has a samples file', () => {
    expect(docs.map((d) => d.detector).sort()).toEqual([...DETECTOR_IDS].sort());
  });

  const cases = docs.flatMap((doc) => [
    ...doc.fire.map((s) => [`${doc.detector} fire: ${s.name}`, doc, s, 'fire'] as const),
    ...doc.quiet.map((s) => [`${doc.detector} quiet: ${s.name}`, doc, s, 'quiet'] as const),
  ]);
  it.each(cases)('%s', (name, doc, scenario, kind) => {
    const params = new Map(ruleSet.params);
    if (doc.params) params.set(doc.detector, { ...(params.get(doc.detector) ?? {}), ...doc.params });
    const analyzer = analyzerFor({ ...ruleSet, rules: [], params });
    let alerts = 0;
    for (const event of scenarioEvents(scenario, name)) {
      alerts += analyzer.analyzeValue(event).filter((a) => a.rule === doc.detector).length;
    }
    expect(analyzer.counters().skipped.size).toBe(0);
    expect(alerts).toBe(kind === 'fire' ? (scenario.alerts ?? 1) : 0);
  });
});
