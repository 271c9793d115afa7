import { z } from 'zod';
import { paramSchemaSchema } from './json-schema.js';

/**
 * The YAML shapes of admission policies, their samples, initiatives and assignments. A policy is
 * data: match block, parameters (JSON schema with defaults) and CEL validations that hold for a
 * compliant object, with the variables of a Kubernetes ValidatingAdmissionPolicy (`object`,
 * `oldObject`, `request`, `params`, `namespaceObject`, `variables`) plus, for pod policies, `pod`
 * (the Pod or the controller's pod template) and, per container, `container`.
 */

export const EFFECTS = ['Audit', 'Deny', 'Warn', 'Disabled'] as const;
export type Effect = (typeof EFFECTS)[number];

/** Effects are case-insensitive in assignments, as in Azure Policy. */
export const effectSchema = z
  .string()
  .transform((s, ctx) => {
    const found = EFFECTS.find((e) => e.toLowerCase() === s.toLowerCase());
    if (found === undefined) {
      ctx.addIssue({ code: 'custom', message: `effect '${s}' is not one of ${EFFECTS.join(', ')}` });
      return z.NEVER;
    }
    return found;
  });

export const POLICY_SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type PolicySeverity = (typeof POLICY_SEVERITIES)[number];

export const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const;
export type Operation = (typeof OPERATIONS)[number];

export const labelSelectorSchema = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(
      z.strictObject({
        key: z.string(),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});
export type LabelSelectorSpec = z.infer<typeof labelSelectorSchema>;

/** Scope fields shared by a policy's match block and an assignment's (the assignment's win). */
export const scopeSchema = z.strictObject({
  namespaces: z.array(z.string()).optional(),
  excludedNamespaces: z.array(z.string()).optional(),
  labelSelector: labelSelectorSchema.optional(),
  namespaceSelector: labelSelectorSchema.optional(),
  /** Image patterns whose containers are skipped; `*` matches any run of characters. */
  excludedImages: z.array(z.string()).optional(),
  excludedContainers: z.array(z.string()).optional(),
});
export type Scope = z.infer<typeof scopeSchema>;

export const matchSchema = scopeSchema.extend({
  /** `Kind` (any API group) or `group/Kind` (`apps/Deployment`, `networking.k8s.io/Ingress`, `/Pod` for the core group). */
  kinds: z.array(z.string().min(1)).optional(),
  operations: z.array(z.enum(OPERATIONS)).optional(),
});
export type MatchSpec = z.infer<typeof matchSchema>;

export const validationSchema = z.strictObject({
  /** CEL; true when the object complies. */
  expression: z.string().min(1),
  /** `object` (once), `pod` (once per pod or pod template), `container` (once per container of each pod). */
  scope: z.enum(['object', 'pod', 'container']).optional(),
  message: z.string().min(1).optional(),
  /** CEL returning a string; evaluated only when the validation fails. */
  messageExpression: z.string().min(1).optional(),
  /** The field at fault, relative to the scope (`securityContext.privileged` for a container). */
  field: z.string().optional(),
  /** For container scope: which container lists to visit (default all three). */
  containers: z.array(z.enum(['containers', 'initContainers', 'ephemeralContainers'])).optional(),
});
export type Validation = z.infer<typeof validationSchema>;

export const policySchema = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9-]*$/, 'policy ids are lower-case letters, digits and dashes'),
  title: z.string().min(1),
  description: z.string().min(1),
  severity: z.enum(POLICY_SEVERITIES),
  defaultEffect: effectSchema,
  /** The effects an assignment may choose; Disabled is always allowed. */
  effects: z.array(effectSchema).default(['Audit', 'Deny', 'Warn', 'Disabled']),
  /** `pod` policies judge Pods and the pod templates of controllers; `object` policies the object itself. */
  target: z.enum(['pod', 'object']).default('object'),
  match: matchSchema.default({}),
  parameters: paramSchemaSchema.optional(),
  variables: z.array(z.strictObject({ name: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), expression: z.string().min(1) })).default([]),
  /** Other objects of the request's namespace the policy compares against, bound as `lookups.<name>` (lists). */
  lookups: z.array(z.strictObject({ name: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), kind: z.string().min(1) })).default([]),
  validations: z.array(validationSchema).min(1),
  /** What happens when a validation cannot be evaluated (a CEL runtime error): Ignore allows with a warning. */
  failurePolicy: z.enum(['Ignore', 'Fail']).default('Ignore'),
  /** The Azure Policy definition or other source this policy is equivalent to. */
  reference: z.string().optional(),
  tags: z.array(z.string()).default([]),
});
export type PolicyInput = z.input<typeof policySchema>;
export type Policy = z.output<typeof policySchema>;

export const sampleSchema = z.strictObject({
  name: z.string().min(1),
  object: z.record(z.string(), z.unknown()).nullable(),
  oldObject: z.record(z.string(), z.unknown()).optional(),
  operation: z.enum(OPERATIONS).default('CREATE'),
  params: z.record(z.string(), z.unknown()).optional(),
  namespaceObject: z.record(z.string(), z.unknown()).optional(),
  /** Other objects in the cluster, for policies with lookups. */
  objects: z.array(z.record(z.string(), z.unknown())).optional(),
  userInfo: z.strictObject({ username: z.string(), groups: z.array(z.string()).default([]) }).optional(),
  /** For fail samples: fields that must be named at fault (each must appear in the violations). */
  fields: z.array(z.string()).optional(),
});
export type Sample = z.infer<typeof sampleSchema>;

export const samplesFileSchema = z.strictObject({
  pass: z.array(sampleSchema).min(1, 'every policy needs at least one sample that must pass'),
  fail: z.array(sampleSchema).min(1, 'every policy needs at least one sample that must fail'),
});
export type SamplesFile = z.infer<typeof samplesFileSchema>;

export const initiativeSchema = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9-]*$/),
  title: z.string().min(1),
  description: z.string().min(1),
  reference: z.string().optional(),
  members: z
    .array(z.strictObject({ policy: z.string().min(1), parameters: z.record(z.string(), z.unknown()).optional(), effect: effectSchema.optional() }))
    .min(1),
});
export type Initiative = z.infer<typeof initiativeSchema>;

export const initiativesFileSchema = z.strictObject({ initiatives: z.array(initiativeSchema) });

export const SEVERITY_THRESHOLDS = ['critical', 'high', 'medium', 'low'] as const;

export const gatingRuleSchema = z.strictObject({
  name: z.string().min(1),
  effect: effectSchema.default('Deny'),
  scope: scopeSchema.extend({ images: z.array(z.string()).optional() }).default({}),
  /** Findings at or above this severity break the rule. */
  minSeverity: z.enum(SEVERITY_THRESHOLDS).optional(),
  /** These advisory ids (or aliases) break the rule whatever their severity. */
  cves: z.array(z.string()).default([]),
  /** Only findings with a fix count (a fix exists, so the image can be rebuilt). */
  fixedOnly: z.boolean().default(false),
  exemptions: z
    .array(
      z.strictObject({
        images: z.array(z.string()).optional(),
        findings: z.array(z.string()).optional(),
        until: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'until must be a date (2026-12-31)'),
        reason: z.string().min(1),
      }),
    )
    .default([]),
});
export type GatingRule = z.infer<typeof gatingRuleSchema>;

export const gatingSchema = z.strictObject({
  server: z.string().url().optional(),
  rules: z.array(gatingRuleSchema).default([]),
  /** Images without stored results: allow, audit, deny, or wait up to waitSeconds for a scan, then `afterWait`. */
  unscanned: z
    .strictObject({
      action: z.enum(['allow', 'audit', 'deny', 'wait']).default('audit'),
      waitSeconds: z.number().positive().max(25).default(5),
      afterWait: z.enum(['allow', 'audit', 'deny']).default('audit'),
    })
    .default({ action: 'audit', waitSeconds: 5, afterWait: 'audit' }),
});
export type GatingConfig = z.infer<typeof gatingSchema>;

export const assignmentSchema = z
  .strictObject({
    name: z.string().min(1),
    policy: z.string().optional(),
    initiative: z.string().optional(),
    effect: effectSchema.optional(),
    match: scopeSchema.default({}),
    /** For a policy: its parameters. For an initiative: parameters by member policy id. */
    parameters: z.record(z.string(), z.unknown()).default({}),
  })
  .refine((a) => (a.policy === undefined) !== (a.initiative === undefined), 'an assignment names exactly one of policy or initiative');
export type Assignment = z.infer<typeof assignmentSchema>;

export const assignmentsFileSchema = z.strictObject({
  assignments: z.array(assignmentSchema).default([]),
  gating: gatingSchema.optional(),
  /** Directories of user policies (relative to the assignments file), loaded beside the built-ins. */
  policyDirs: z.array(z.string()).default([]),
});
export type AssignmentsFile = z.infer<typeof assignmentsFileSchema>;
