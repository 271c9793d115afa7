import { z } from 'zod';
import { AppError, errorMessage, type Clock, type Logger } from '../core/index.js';
import type { AdmissionInput, Evaluation, Json, PolicyEngine, Violation } from './engine.js';
import type { ImageGate } from './gating.js';
import { OPERATIONS } from './schema.js';

/**
 * The AdmissionReview v1 handler: parse the review (zod), evaluate the assigned policies and the
 * image gate, and answer allowed / denied (with every Deny violation and its field in the message),
 * warnings (Warn violations and evaluation problems) and audit records (Audit violations, and every
 * decision with violations). Dry-run requests are evaluated the same way but not recorded.
 */

const gvk = z.object({ group: z.string(), version: z.string(), kind: z.string().min(1) });

export const admissionReviewSchema = z.object({
  apiVersion: z.literal('admission.k8s.io/v1', { message: 'apiVersion must be admission.k8s.io/v1' }),
  kind: z.literal('AdmissionReview', { message: 'kind must be AdmissionReview' }),
  request: z.looseObject({
    uid: z.string().min(1),
    kind: gvk,
    resource: z.looseObject({ group: z.string(), version: z.string(), resource: z.string() }),
    subResource: z.string().optional(),
    name: z.string().optional(),
    namespace: z.string().optional(),
    operation: z.enum(OPERATIONS),
    userInfo: z.looseObject({ username: z.string().optional(), uid: z.string().optional(), groups: z.array(z.string()).optional() }).default({}),
    object: z.record(z.string(), z.unknown()).nullable().optional(),
    oldObject: z.record(z.string(), z.unknown()).nullable().optional(),
    dryRun: z.boolean().optional(),
  }),
});

type AdmissionReviewRequest = z.infer<typeof admissionReviewSchema>['request'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): value is string | undefined {
  return value === undefined || typeof value === 'string';
}

function isOperation(value: unknown): value is AdmissionReviewRequest['operation'] {
  return value === 'CREATE' || value === 'UPDATE' || value === 'DELETE' || value === 'CONNECT';
}

/**
 * The hot path's envelope check: accepts exactly the well-formed reviews `admissionReviewSchema`
 * accepts, builds the same request (kind reduced to group/version/kind, userInfo defaulted) without
 * zod walking and copying the object, and returns undefined for anything else, which then goes
 * through the schema for its error message. The objects themselves are read lazily by the engine.
 */
export function quickAdmissionRequest(body: unknown): AdmissionReviewRequest | undefined {
  if (!isPlainObject(body) || body.apiVersion !== 'admission.k8s.io/v1' || body.kind !== 'AdmissionReview') return undefined;
  const req = body.request;
  if (!isPlainObject(req)) return undefined;
  const { uid, kind, resource, operation, userInfo, object, oldObject } = req;
  if (typeof uid !== 'string' || uid.length === 0 || !isOperation(operation)) return undefined;
  if (!isPlainObject(kind) || typeof kind.group !== 'string' || typeof kind.version !== 'string' || typeof kind.kind !== 'string' || kind.kind.length === 0) return undefined;
  if (!isPlainObject(resource) || typeof resource.group !== 'string' || typeof resource.version !== 'string' || typeof resource.resource !== 'string') return undefined;
  if (!optionalString(req.subResource) || !optionalString(req.name) || !optionalString(req.namespace)) return undefined;
  if (req.dryRun !== undefined && typeof req.dryRun !== 'boolean') return undefined;
  if (object !== undefined && object !== null && !isPlainObject(object)) return undefined;
  if (oldObject !== undefined && oldObject !== null && !isPlainObject(oldObject)) return undefined;
  if (userInfo !== undefined) {
    if (!isPlainObject(userInfo) || !optionalString(userInfo.username) || !optionalString(userInfo.uid)) return undefined;
    const groups = userInfo.groups;
    if (groups !== undefined && !(Array.isArray(groups) && groups.every((g) => typeof g === 'string'))) return undefined;
  }
  return {
    ...req,
    uid,
    kind: { group: kind.group, version: kind.version, kind: kind.kind },
    resource: { ...resource, group: resource.group, version: resource.version, resource: resource.resource },
    operation,
    userInfo: userInfo ?? {},
  };
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string; reason?: string };
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReviewResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

export interface AuditRecord {
  time: string;
  uid: string;
  operation: string;
  kind: string;
  namespace: string;
  name: string;
  user: string;
  allowed: boolean;
  violations: Violation[];
  errors: string[];
}

export interface AuditSink {
  record(record: AuditRecord): void;
}

/** Keeps the newest `capacity` records in memory (served on /audit, read by tests). */
export function createMemoryAuditSink(capacity = 1000): AuditSink & { records(): AuditRecord[] } {
  const ring: AuditRecord[] = [];
  return {
    record(record) {
      ring.push(record);
      if (ring.length > capacity) ring.splice(0, ring.length - capacity);
    },
    records: () => [...ring],
  };
}

/** Namespace objects by name, for `namespaceObject` and namespace selectors. */
export interface NamespaceLookup {
  get(name: string): Json | null;
}

export const noNamespaces: NamespaceLookup = { get: () => null };

export interface AdmissionCounters {
  reviews: number;
  denied: number;
  warned: number;
  audited: number;
  dryRun: number;
  evaluationErrors: number;
  badRequests: number;
}

export interface AdmissionHandler {
  /** Answers one review body; throws AppError (BAD_INPUT) only when the body is not a usable AdmissionReview. */
  review(body: unknown): Promise<AdmissionReviewResponse>;
  readonly counters: AdmissionCounters;
}

export interface AdmissionHandlerDeps {
  engine: PolicyEngine;
  gate?: ImageGate;
  namespaces?: NamespaceLookup;
  audit: AuditSink;
  clock: Clock;
  log: Logger;
  /** Budget for one review, ms (keep it below the webhook's timeoutSeconds). */
  budgetMs?: number;
}

const MAX_MESSAGE_VIOLATIONS = 50;

function describe(v: Violation): string {
  return `[${v.policyId}] ${v.message}${v.field ? ` (field: ${v.field})` : ''}`;
}

export function denyMessage(violations: readonly Violation[]): string {
  const shown = violations.slice(0, MAX_MESSAGE_VIOLATIONS).map(describe);
  const more = violations.length > MAX_MESSAGE_VIOLATIONS ? `\n... and ${violations.length - MAX_MESSAGE_VIOLATIONS} more` : '';
  const policies = new Set(violations.map((v) => v.policyId)).size;
  return `palisade denied the request: ${violations.length} violation(s) of ${policies} polic${policies === 1 ? 'y' : 'ies'}:\n${shown.join('\n')}${more}`;
}

export function createAdmissionHandler(deps: AdmissionHandlerDeps): AdmissionHandler {
  const counters: AdmissionCounters = { reviews: 0, denied: 0, warned: 0, audited: 0, dryRun: 0, evaluationErrors: 0, badRequests: 0 };
  const namespaces = deps.namespaces ?? noNamespaces;
  const budget = deps.budgetMs ?? 8_000;

  return {
    counters,
    async review(body) {
      let req = quickAdmissionRequest(body);
      if (req === undefined) {
        const parsed = admissionReviewSchema.safeParse(body);
        if (!parsed.success) {
          counters.badRequests += 1;
          const issue = parsed.error.issues[0];
          throw new AppError('BAD_INPUT', `not an AdmissionReview v1 request: ${issue ? `${issue.path.join('.') || '(top)'}: ${issue.message}` : 'invalid'}`);
        }
        req = parsed.data.request;
      }
      const started = deps.clock.now().getTime();
      counters.reviews += 1;
      const object = req.object ?? null;
      const oldObject = req.oldObject ?? null;
      const namespace = req.namespace ?? '';
      const input: AdmissionInput = {
        operation: req.operation,
        group: req.kind.group,
        version: req.kind.version,
        kind: req.kind.kind,
        namespace,
        name: req.name ?? '',
        object: req.subResource ? null : object,
        oldObject,
        request: { ...req, object: undefined, oldObject: undefined },
        namespaceObject: namespace === '' ? null : namespaces.get(namespace),
      };
      if (req.subResource) {
        // Status and scale updates are not the object's spec: nothing to judge.
        return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: req.uid, allowed: true } };
      }
      let evaluation: Evaluation;
      try {
        evaluation = deps.engine.evaluate(input);
      } catch (error) {
        evaluation = { violations: [], applicable: [], errors: [{ policyId: '(engine)', assignment: '(all)', effect: 'Audit', failurePolicy: 'Ignore', error: errorMessage(error) }] };
      }
      const warnings: string[] = [];
      if (deps.gate) {
        const gated = await deps.gate.check(input, started + budget);
        evaluation.violations.push(...gated.violations);
        warnings.push(...gated.warnings);
      }
      const deny = evaluation.violations.filter((v) => v.effect === 'Deny');
      const failClosed = evaluation.errors.filter((e) => e.effect === 'Deny' && e.failurePolicy === 'Fail');
      for (const v of evaluation.violations) if (v.effect === 'Warn') warnings.push(describe(v));
      for (const e of evaluation.errors) {
        if (!(e.effect === 'Deny' && e.failurePolicy === 'Fail')) warnings.push(`[${e.policyId}] could not be evaluated: ${e.error}`);
      }
      if (evaluation.errors.length > 0) {
        counters.evaluationErrors += evaluation.errors.length;
        deps.log.error(
          { uid: req.uid, kind: req.kind.kind, namespace, name: input.name, errors: evaluation.errors.map((e) => `${e.assignment}: ${e.error}`) },
          'policy evaluation failed',
        );
      }
      const allowed = deny.length === 0 && failClosed.length === 0;
      const response: AdmissionResponse = { uid: req.uid, allowed };
      if (!allowed) {
        const message = [
          deny.length > 0 ? denyMessage(deny) : 'palisade denied the request',
          ...failClosed.map((e) => `[${e.policyId}] could not be evaluated and fails closed: ${e.error}`),
        ].join('\n');
        response.status = { code: 403, reason: 'Forbidden', message };
      }
      if (warnings.length > 0) response.warnings = warnings.slice(0, 100).map((w) => (w.length > 1000 ? `${w.slice(0, 997)}...` : w));
      const audited = evaluation.violations.filter((v) => v.effect === 'Audit');
      if (audited.length > 0) response.auditAnnotations = { 'palisade.dev/audit': audited.map((v) => v.policyId).join(',') };
      if (req.dryRun) counters.dryRun += 1;
      if (!allowed) counters.denied += 1;
      if (warnings.length > 0) counters.warned += 1;
      if (audited.length > 0) counters.audited += 1;
      if (!req.dryRun && (evaluation.violations.length > 0 || evaluation.errors.length > 0)) {
        deps.audit.record({
          time: deps.clock.now().toISOString(),
          uid: req.uid,
          operation: req.operation,
          kind: req.kind.kind,
          namespace,
          name: input.name,
          user: req.userInfo.username ?? '',
          allowed,
          violations: evaluation.violations,
          errors: evaluation.errors.map((e) => `${e.assignment}: ${e.error}`),
        });
      }
      return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
    },
  };
}
