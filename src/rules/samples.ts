import type { RuleSet } from './load.js';

/**
 * The generic samples runner. Every rule carries `samples: { fire: [...], quiet: [...] }` beside it;
 * each area turns a sample into its own input (an audit event, an admission request, a process
 * event) and says which rule ids it triggered. The runner checks every rule against its samples,
 * alone, so one rule's sample never passes because another rule fired.
 */
export interface SampleCase {
  ruleId: string;
  kind: 'fire' | 'quiet';
  index: number;
  sample: unknown;
  /** The rule set with only this rule enabled and the samples' list overrides applied. */
  ruleSet: RuleSet;
}

/** A copy of the set in which only `ruleId` remains and `lists` replace the loaded lists of the same name. */
export function ruleSetForRule(set: RuleSet, ruleId: string, lists: Record<string, string[]> = {}): RuleSet {
  const merged = new Map(set.lists);
  for (const [name, items] of Object.entries(lists)) merged.set(name, [...items]);
  return { ...set, rules: set.rules.filter((r) => r.id === ruleId), lists: merged };
}

export function sampleCases(set: RuleSet): SampleCase[] {
  const cases: SampleCase[] = [];
  for (const rule of set.rules) {
    const samples = set.samples.get(rule.id);
    if (!samples) continue;
    const ruleSet = ruleSetForRule(set, rule.id, samples.lists);
    samples.fire.forEach((sample, index) => cases.push({ ruleId: rule.id, kind: 'fire', index, sample, ruleSet }));
    samples.quiet.forEach((sample, index) => cases.push({ ruleId: rule.id, kind: 'quiet', index, sample, ruleSet }));
  }
  return cases;
}

/** Rule ids that ship without samples: the generic test requires this to be empty. */
export function rulesWithoutSamples(set: RuleSet): string[] {
  return set.rules.filter((r) => !set.samples.has(r.id)).map((r) => r.id);
}

export interface SampleVerdict {
  passed: boolean;
  /** What went wrong, for the test message. */
  reason: string;
}

/** Judges one case from the rule ids the area says the sample triggered. */
export function judgeSample(c: SampleCase, fired: readonly string[], errors: readonly string[] = []): SampleVerdict {
  if (errors.length > 0) return { passed: false, reason: `condition errors: ${errors.join('; ')}` };
  const hit = fired.includes(c.ruleId);
  if (c.kind === 'fire' && !hit) return { passed: false, reason: `${c.ruleId} fire sample #${c.index + 1} did not fire it` };
  if (c.kind === 'quiet' && hit) return { passed: false, reason: `${c.ruleId} quiet sample #${c.index + 1} fired it` };
  return { passed: true, reason: '' };
}
