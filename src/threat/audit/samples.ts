import { z } from 'zod';
import { AppError } from '../../core/index.js';
import { isJsonObject, parseJson, type JsonObject, type JsonValue } from './json.js';

/**
 * Samples of audit rules and detectors are written as the fields that matter, merged over a
 * complete, ordinary event (a kubectl request by a human user from a private address). Objects
 * merge key by key, arrays and scalars replace, and `null` removes a field from the base.
 */
export const SAMPLE_BASE_EVENT: JsonObject = {
  kind: 'Event',
  apiVersion: 'audit.k8s.io/v1',
  level: 'RequestResponse',
  auditID: '00000000-0000-4000-8000-000000000000',
  stage: 'ResponseComplete',
  requestURI: '/api/v1/namespaces/default/pods/web-0',
  verb: 'get',
  user: { username: 'alice@example.com', groups: ['developers', 'system:authenticated'] },
  sourceIPs: ['10.20.30.40'],
  userAgent: 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350',
  objectRef: { resource: 'pods', namespace: 'default', name: 'web-0', apiVersion: 'v1' },
  responseStatus: { metadata: {}, code: 200 },
  requestReceivedTimestamp: '2026-11-20T10:00:00.000000Z',
  stageTimestamp: '2026-11-20T10:00:00.021000Z',
  annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed by RoleBinding "dev/default"' },
};

export function mergeSample(base: JsonValue, patch: JsonValue): JsonValue {
  if (!isJsonObject(base) || !isJsonObject(patch)) return patch;
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else {
      const prior = out[key];
      out[key] = prior === undefined ? value : mergeSample(prior, value);
    }
  }
  return out;
}

/** YAML-decoded sample → JSON (YAML may hold dates or other non-JSON values; refuse those). */
export function sampleJson(sample: unknown, where: string): JsonValue {
  const text = JSON.stringify(sample);
  if (text === undefined) throw new AppError('BAD_INPUT', `${where}: sample is not JSON data`);
  return parseJson(text);
}

/** One sample → the event it stands for; the auditID and times follow its position. */
export function sampleEvent(sample: unknown, index: number, where: string): JsonObject {
  const merged = mergeSample(mergeSample(SAMPLE_BASE_EVENT, { auditID: `00000000-0000-4000-8000-${String(index + 1).padStart(12, '0')}` }), sampleJson(sample, where));
  if (!isJsonObject(merged)) throw new AppError('BAD_INPUT', `${where}: a sample must be a mapping of event fields`);
  return merged;
}

/** Detector samples: scenarios of events in order; `repeat` expands one event n times, `every` apart. */
const stepSchema = z.object({
  repeat: z.number().int().min(1).max(10_000).optional(),
  every: z.string().regex(/^\d+(ms|s|m|h|d)$/).optional(),
  event: z.record(z.string(), z.unknown()),
});
const scenarioSchema = z.object({
  name: z.string().min(1),
  steps: z.array(stepSchema).min(1),
  /** How many alerts of this detector the scenario must raise (fire) — quiet scenarios must raise none. */
  alerts: z.number().int().min(1).optional(),
});
export const detectorSamplesSchema = z.strictObject({
  detector: z.string().min(1),
  /** params to use instead of the loaded ones (e.g. a short learning window). */
  params: z.record(z.string(), z.unknown()).optional(),
  fire: z.array(scenarioSchema).min(1),
  quiet: z.array(scenarioSchema).min(1),
});
export type DetectorSamples = z.infer<typeof detectorSamplesSchema>;
export type DetectorScenario = z.infer<typeof scenarioSchema>;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The events of a scenario: each step's event merged over the base, repeated, with times moved along. */
export function scenarioEvents(scenario: DetectorScenario, where: string): JsonObject[] {
  const out: JsonObject[] = [];
  let n = 0;
  for (const step of scenario.steps) {
    const base = sampleEvent(step.event, n, where);
    const start = Date.parse(typeof base.requestReceivedTimestamp === 'string' ? base.requestReceivedTimestamp : '');
    const m = /^(\d+)(ms|s|m|h|d)$/.exec(step.every ?? '1s');
    const stepMs = Number(m?.[1] ?? 1) * (UNIT_MS[m?.[2] ?? 's'] ?? 1000);
    for (let i = 0; i < (step.repeat ?? 1); i++) {
      const at = new Date(start + i * stepMs).toISOString();
      out.push({ ...base, auditID: `00000000-0000-4000-9000-${String(n + 1).padStart(12, '0')}`, requestReceivedTimestamp: at, stageTimestamp: at });
      n += 1;
    }
  }
  return out;
}
