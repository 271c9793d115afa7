import { z } from 'zod';
import { isJsonObject, parseJson, type JsonObject, type JsonValue } from './json.js';

/**
 * Kubernetes audit events (`audit.k8s.io/v1` Event, also the older `v1beta1` which has the same
 * fields). The schema is tolerant: unknown fields pass through, optional fields get defaults, and
 * only what detection needs is required (apiVersion, stage, verb, user, timestamps).
 */

export const SUPPORTED_AUDIT_API_VERSIONS = ['audit.k8s.io/v1', 'audit.k8s.io/v1beta1'] as const;
const SUPPORTED = new Set<string>(SUPPORTED_AUDIT_API_VERSIONS);

const objectRefSchema = z.looseObject({
  resource: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string().optional(),
  uid: z.string().optional(),
  apiGroup: z.string().optional(),
  apiVersion: z.string().optional(),
  resourceVersion: z.string().optional(),
  subresource: z.string().optional(),
});

const userSchema = z.looseObject({
  username: z.string().default(''),
  uid: z.string().optional(),
  groups: z.array(z.string()).default([]),
  extra: z.record(z.string(), z.array(z.string())).optional(),
});

export const auditEventSchema = z.looseObject({
  kind: z.literal('Event').optional(),
  apiVersion: z.enum(SUPPORTED_AUDIT_API_VERSIONS),
  level: z.string().optional(),
  auditID: z.string().default(''),
  stage: z.string(),
  requestURI: z.string().default(''),
  verb: z.string().min(1),
  user: userSchema,
  impersonatedUser: userSchema.optional(),
  sourceIPs: z.array(z.string()).default([]),
  userAgent: z.string().default(''),
  objectRef: objectRefSchema.optional(),
  responseStatus: z.looseObject({ code: z.number().optional(), reason: z.string().optional(), message: z.string().optional(), status: z.string().optional() }).optional(),
  requestObject: z.unknown().optional(),
  responseObject: z.unknown().optional(),
  requestReceivedTimestamp: z.string().min(1),
  stageTimestamp: z.string().min(1),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type AuditEvent = z.output<typeof auditEventSchema>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringArray(v: unknown): v is string[] {
  if (!Array.isArray(v)) return false;
  for (const item of v) if (typeof item !== 'string') return false;
  return true;
}

function optString(v: unknown): boolean {
  return v === undefined || typeof v === 'string';
}

function isUser(v: unknown): boolean {
  return isRecord(v) && typeof v.username === 'string' && isStringArray(v.groups) && optString(v.uid) && (v.extra === undefined || isRecord(v.extra));
}

/**
 * The fast path: true when the value already has every field the schema would require or default,
 * with the right types, so the zod parse (several µs per event) can be skipped. Anything this guard
 * refuses goes through `auditEventSchema`, which fills defaults or says what is wrong. The guard
 * checks a subset of the schema that is exactly as strict for the fields detection reads.
 */
export function isCompleteAuditEvent(v: JsonValue): v is JsonObject & AuditEvent {
  if (!isJsonObject(v)) return false;
  if (v.apiVersion !== 'audit.k8s.io/v1' && v.apiVersion !== 'audit.k8s.io/v1beta1') return false;
  if (v.kind !== undefined && v.kind !== 'Event') return false;
  if (typeof v.auditID !== 'string' || typeof v.stage !== 'string' || typeof v.requestURI !== 'string') return false;
  if (typeof v.verb !== 'string' || v.verb.length === 0 || !isUser(v.user)) return false;
  if (v.impersonatedUser !== undefined && !isUser(v.impersonatedUser)) return false;
  if (!isStringArray(v.sourceIPs) || typeof v.userAgent !== 'string' || !optString(v.level)) return false;
  if (typeof v.requestReceivedTimestamp !== 'string' || typeof v.stageTimestamp !== 'string') return false;
  if (v.requestReceivedTimestamp.length === 0 || v.stageTimestamp.length === 0) return false;
  const ref = v.objectRef;
  if (ref !== undefined) {
    if (!isRecord(ref)) return false;
    for (const key of ['resource', 'namespace', 'name', 'uid', 'apiGroup', 'apiVersion', 'resourceVersion', 'subresource']) {
      if (!optString(ref[key])) return false;
    }
  }
  const status = v.responseStatus;
  if (status !== undefined) {
    if (!isRecord(status) || (status.code !== undefined && typeof status.code !== 'number')) return false;
    if (!optString(status.reason) || !optString(status.message) || !optString(status.status)) return false;
  }
  const ann = v.annotations;
  if (ann !== undefined) {
    if (!isRecord(ann)) return false;
    for (const value of Object.values(ann)) if (typeof value !== 'string') return false;
  }
  return true;
}

/** `event` is the typed view; `raw` the same event as JSON, which CEL conditions read. */
export type EventCheck = { ok: true; event: AuditEvent; raw: JsonObject } | { ok: false; reason: string };

/** Validates one decoded value as an audit event; the reason names the first problem. */
export function checkAuditEvent(v: JsonValue): EventCheck {
  if (isCompleteAuditEvent(v)) return { ok: true, event: v, raw: v };
  if (isRecord(v) && typeof v.apiVersion === 'string' && v.apiVersion.startsWith('audit.k8s.io/') && !SUPPORTED.has(v.apiVersion)) {
    return { ok: false, reason: `unknown apiVersion ${v.apiVersion.slice(0, 40)}` };
  }
  const parsed = auditEventSchema.safeParse(v);
  if (parsed.success) {
    // The slow path (events missing optional fields): give CEL the event with its defaults filled.
    const raw = parseJson(JSON.stringify(parsed.data));
    return isJsonObject(raw) ? { ok: true, event: parsed.data, raw } : { ok: false, reason: 'event is not an object' };
  }
  const issue = parsed.error.issues[0];
  const path = issue?.path.join('.') ?? '';
  if (path === 'apiVersion') {
    return { ok: false, reason: isRecord(v) && typeof v.apiVersion === 'string' ? `unknown apiVersion ${v.apiVersion.slice(0, 40)}` : 'missing apiVersion' };
  }
  return { ok: false, reason: `bad or missing field ${path || '(event)'}` };
}

/** What the match blocks and templates read, extracted once per event. */
export interface AuditFacts {
  event: AuditEvent;
  /** The same event as JSON, for CEL. */
  raw: JsonObject;
  cluster: string;
  verb: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  apiGroup: string;
  user: string;
  groups: readonly string[];
  code: number;
  sourceIPs: readonly string[];
  userAgent: string;
  userAgentLower: string;
  uri: string;
  /** ISO time: requestReceivedTimestamp (when the request was made). */
  time: string;
}

export function auditFacts(event: AuditEvent, raw: JsonObject, cluster = ''): AuditFacts {
  const ref = event.objectRef;
  return {
    event,
    raw,
    cluster,
    verb: event.verb,
    resource: ref?.resource ?? '',
    subresource: ref?.subresource ?? '',
    namespace: ref?.namespace ?? '',
    name: ref?.name ?? '',
    apiGroup: ref?.apiGroup ?? '',
    user: event.user.username,
    groups: event.user.groups,
    code: event.responseStatus?.code ?? 0,
    sourceIPs: event.sourceIPs,
    userAgent: event.userAgent,
    userAgentLower: event.userAgent.toLowerCase(),
    uri: event.requestURI,
    time: event.requestReceivedTimestamp,
  };
}

/** `namespace/name` for `system:serviceaccount:<namespace>:<name>` users. */
export function serviceAccountOf(username: string): string | undefined {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  return m ? `${m[1]}/${m[2]}` : undefined;
}
