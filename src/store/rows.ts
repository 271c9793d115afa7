import { z } from 'zod';
import { FIX_STATES, SEVERITIES, distroSchema, findingSchema, packageSchema } from '../core/index.js';
import { ALERT_SEVERITIES, ALERT_STATUSES, type Alert } from '../threat/alert.js';

/** zod schemas of what the store reads back: table rows and the JSON bodies it wrote. */
const text = z.string();
const optText = z.string().nullable();
const int = z.coerce.number();

/** Findings are stored as JSON in the shape of core's Finding. */
export { findingSchema };

export const sbomBodySchema = z.object({ distro: distroSchema.optional(), packages: z.array(packageSchema) });

export const imageRow = z.object({
  digest: text,
  registry: text,
  repository: text,
  first_seen_at: text,
  pushed_at: optText,
  pulled_at: optText,
  status: z.enum(['pending', 'done', 'failed']),
  error: optText,
  distro: optText,
  platform: optText,
  package_count: int,
  scanned_at: optText,
  evaluated_at: optText,
  critical: int,
  high: int,
  medium: int,
  low: int,
  other: int,
  fixable: int,
  disabled_findings: int,
  running: int,
  tags: optText,
});

export const jobRow = z.object({
  id: text,
  kind: z.enum(['scan', 'rematch']),
  digest: text,
  registry: text,
  repository: text,
  force_pull: int,
  state: z.enum(['queued', 'running', 'done', 'failed']),
  attempts: int,
  lease_owner: optText,
  lease_until: optText,
  created_at: text,
  last_error: optText,
});

export const scanRow = z.object({
  id: text,
  digest: text,
  kind: z.enum(['pull', 'rematch']),
  status: z.enum(['done', 'failed']),
  worker: text,
  started_at: text,
  finished_at: text,
  duration_ms: int,
  findings: int,
  db_built_at: optText,
  error: optText,
});

/** Lists are bounded: the store turns them into SQL parameters when it marks findings. */
const MAX_CRITERIA = 500;
export const disableCriteriaSchema = z
  .object({
    cves: z.array(z.string().min(1).max(200)).min(1).max(MAX_CRITERIA).optional(),
    digests: z.array(z.string().regex(/^sha256:[a-f0-9]{64}$/)).min(1).max(MAX_CRITERIA).optional(),
    repositories: z.array(z.string().min(1).max(500)).min(1).max(MAX_CRITERIA).optional(),
    osReleases: z.array(z.string().min(1).max(100)).min(1).max(MAX_CRITERIA).optional(),
    severityBelow: z.enum(SEVERITIES).optional(),
    fixStates: z.array(z.enum(FIX_STATES)).min(1).optional(),
  })
  .strict();

export const disableRuleRow = z.object({
  id: text,
  name: text,
  criteria: text,
  justification: text,
  author: text,
  created_at: text,
  expires_at: optText,
  revoked_at: optText,
  revoked_by: optText,
});

const isoTime = z
  .string()
  .max(64)
  .refine((t) => !Number.isNaN(Date.parse(t)), 'expected an ISO 8601 time')
  .transform((t) => new Date(t).toISOString());
const short = z.string().max(1024);
const shortList = z.array(short).max(64);

/** The shared alert model (src/threat/alert.ts) as it crosses a boundary: a sensor batch, a stored body. Sizes bounded. */
export const alertSchema = z.object({
  id: z.string().min(1).max(128),
  groupKey: z.string().min(1).max(4096),
  rule: z.string().min(1).max(200),
  title: z.string().max(500),
  severity: z.enum(ALERT_SEVERITIES),
  source: z.enum(['audit', 'runtime']),
  time: isoTime,
  lastSeen: isoTime,
  cluster: z.string().max(200).optional(),
  message: z.string().max(8192),
  subject: z.object({
    user: short.optional(),
    groups: shortList.default([]),
    serviceAccount: short.optional(),
    sourceIPs: shortList.default([]),
    userAgent: short.optional(),
  }),
  target: z.object({
    apiGroup: short.optional(),
    apiVersion: short.optional(),
    resource: short.optional(),
    subresource: short.optional(),
    namespace: short.optional(),
    name: short.optional(),
    node: short.optional(),
    container: short.optional(),
    image: short.optional(),
  }),
  mitre: z.object({ tactics: shortList, techniques: shortList }),
  evidence: z.array(z.unknown()).max(100),
  count: z.number().int().min(1),
  status: z.enum(ALERT_STATUSES),
}) satisfies z.ZodType<Alert>;

export const alertRow = z.object({
  id: text,
  status: z.enum(ALERT_STATUSES),
  first_seen: text,
  last_seen: text,
  count: int,
  received_at: text,
  status_changed_at: optText,
  status_changed_by: optText,
  body: text,
});

export function parseRows<T>(rows: unknown[], schema: z.ZodType<T>): T[] {
  return rows.map((row) => schema.parse(row));
}
