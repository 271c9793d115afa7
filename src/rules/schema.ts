import { z } from 'zod';

/**
 * The YAML shape of rule files, shared by audit rules, runtime rules and admission policies. A file
 * holds any of: `lists` (named string lists), `macros` (named CEL snippets), `rules` (several rules)
 * or `rule` with its `samples` (one rule per file, the objects that must and must not trigger it),
 * and `params` (named settings blocks for code detectors, validated by their owner).
 *
 * A user rules directory uses the same shape and is merged over the built-ins: a list given as
 * `{ append: [...] }` extends the built-in list, a plain array replaces it; a macro replaces the
 * macro of that name; a rule whose id already exists is patched field by field (`enabled: false`
 * turns it off, `appendCondition` adds `&& (...)` to its condition) so nothing has to be copied.
 */

export const RULE_SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type RuleSeverity = (typeof RULE_SEVERITIES)[number];

/** A match value: strings (`*`, `prefix*`, `$list_name`) or numbers (response codes, `400-499` ranges as strings). */
const matchValues = z.array(z.union([z.string(), z.number()]));
export const matchBlockSchema = z
  .object({ not: z.record(z.string(), matchValues).optional() })
  .catchall(matchValues);
export type MatchBlock = z.infer<typeof matchBlockSchema>;

export const ruleSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'rule ids are letters, digits, _ . -'),
  title: z.string().min(1),
  description: z.string().optional(),
  severity: z.enum(RULE_SEVERITIES),
  tactics: z.array(z.string().min(1)).min(1),
  techniques: z.array(z.string().regex(/^T\d{4}(\.\d{3})?$/, 'MITRE technique ids look like T1610 or T1552.007')).default([]),
  match: matchBlockSchema.default({}),
  condition: z.string().min(1).optional(),
  output: z.string().min(1),
  /**
   * Output placeholders whose values, with the rule id, make the grouping key: repeats with the
   * same values within the grouping window become one alert. Default: the area's own key.
   */
  groupBy: z.array(z.string().min(1)).min(1).optional(),
  enabled: z.boolean().default(true),
  tags: z.array(z.string()).default([]),
  /** Where the detection comes from: a Defender alert type, a Falco rule name, or Palisade's own. */
  reference: z.string().optional(),
});
export type RuleInput = z.input<typeof ruleSchema>;
export type Rule = z.output<typeof ruleSchema>;

/** A partial rule in a user file: patches the built-in rule with the same id. */
export const rulePatchSchema = ruleSchema.partial().extend({
  id: z.string().min(1),
  appendCondition: z.string().min(1).optional(),
});
export type RulePatch = z.infer<typeof rulePatchSchema>;

const listValueSchema = z.union([z.array(z.string()), z.strictObject({ append: z.array(z.string()) })]);

export const samplesSchema = z.strictObject({
  /** Lists to use instead of the loaded ones while running these samples (for lists that ship empty). */
  lists: z.record(z.string(), z.array(z.string())).optional(),
  fire: z.array(z.unknown()).min(1, 'every rule needs at least one sample that must fire it'),
  quiet: z.array(z.unknown()).min(1, 'every rule needs at least one sample that must not fire it'),
});
export type Samples = z.infer<typeof samplesSchema>;

export const ruleFileSchema = z.strictObject({
  lists: z.record(z.string(), listValueSchema).optional(),
  macros: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'macro names are lower_snake_case'), z.string().min(1)).optional(),
  rules: z.array(z.unknown()).optional(),
  rule: z.unknown().optional(),
  samples: samplesSchema.optional(),
  params: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});
export type RuleFile = z.infer<typeof ruleFileSchema>;
