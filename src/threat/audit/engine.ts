import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CelInput } from '@bufbuild/cel';
import { createRuleEngine, loadRuleSet, type EngineSpec, type RuleEngine, type RuleSet } from '../../rules/index.js';
import { serviceAccountOf, type AuditFacts } from './event.js';
import { isJsonObject, jsonChild, type JsonObject, type JsonValue } from './json.js';

/** The built-in audit rules, lists and macros (copied beside the compiled code by the build). */
export const BUILTIN_AUDIT_RULES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'rules');

export function loadAuditRuleSet(userDirs: readonly string[] = []): RuleSet {
  return loadRuleSet(BUILTIN_AUDIT_RULES_DIR, userDirs);
}

const isRecord = isJsonObject;
const child = jsonChild;

/**
 * The object the request is about, whole: the request body for create and update; for patch the
 * request body is only the patch, so the response (the object after the patch, at level
 * RequestResponse) is used when the audit policy records it.
 */
export function subjectObject(event: JsonObject): JsonObject {
  const candidates = event.verb === 'patch' ? [event.responseObject, event.requestObject] : [event.requestObject, event.responseObject];
  for (const c of candidates) if (isRecord(c) && c.kind !== 'Status') return c;
  return {};
}

const TEMPLATE_KINDS = new Set(['Deployment', 'DaemonSet', 'StatefulSet', 'ReplicaSet', 'Job', 'ReplicationController']);

/** The pod spec inside a Pod, a workload's template, or a CronJob's job template. */
export function podSpecOf(object: JsonObject): JsonObject {
  const kind = object.kind;
  let spec: JsonValue | undefined;
  if (kind === 'Pod') spec = object.spec;
  else if (typeof kind === 'string' && TEMPLATE_KINDS.has(kind)) spec = child(child(object.spec, 'template'), 'spec');
  else if (kind === 'CronJob') spec = child(child(child(child(object.spec, 'jobTemplate'), 'spec'), 'template'), 'spec');
  else if (kind === 'PodTemplate') spec = child(object.template, 'spec');
  return isRecord(spec) ? spec : {};
}

/** Containers, init containers and ephemeral containers of a pod spec, in that order. */
export function containersOf(podSpec: JsonObject): JsonObject[] {
  const out: JsonObject[] = [];
  for (const key of ['containers', 'initContainers', 'ephemeralContainers']) {
    const list = podSpec[key];
    if (Array.isArray(list)) for (const c of list) if (isRecord(c)) out.push(c);
  }
  return out;
}

function imagesOf(event: JsonObject): string {
  const images = containersOf(podSpecOf(subjectObject(event)))
    .map((c) => c.image)
    .filter((i): i is string => typeof i === 'string');
  return images.length > 0 ? [...new Set(images)].join(', ') : '(no image)';
}

function bindingSubjectsOf(event: JsonObject): string {
  const subjects = child(subjectObject(event), 'subjects');
  if (!Array.isArray(subjects) || subjects.length === 0) return '(no subjects)';
  return subjects
    .map((s) => {
      const kind = typeof child(s, 'kind') === 'string' ? String(child(s, 'kind')) : '?';
      const name = typeof child(s, 'name') === 'string' ? String(child(s, 'name')) : '?';
      const ns = child(s, 'namespace');
      return typeof ns === 'string' && ns.length > 0 ? `${kind} ${ns}/${name}` : `${kind} ${name}`;
    })
    .join(', ');
}

function resourcePath(f: AuditFacts): string {
  const base = f.apiGroup ? `${f.resource}.${f.apiGroup}` : f.resource || f.uri;
  return f.subresource ? `${base}/${f.subresource}` : base;
}

function targetOf(f: AuditFacts): string {
  const name = f.name || '*';
  return f.namespace ? `${f.namespace}/${name}` : name;
}

export const AUDIT_ENGINE_SPEC: EngineSpec<AuditFacts> = {
  fields: {
    verbs: { kind: 'keyword', get: (f) => f.verb },
    resources: { kind: 'keyword', get: (f) => f.resource },
    subresources: { kind: 'keyword', get: (f) => f.subresource, omitted: [''] },
    apiGroups: { kind: 'keyword', get: (f) => f.apiGroup },
    namespaces: { kind: 'keyword', get: (f) => f.namespace },
    names: { kind: 'keyword', get: (f) => f.name },
    users: { kind: 'keyword', get: (f) => f.user },
    groups: { kind: 'keywords', get: (f) => f.groups },
    responseCodes: { kind: 'int', get: (f) => f.code },
    sourceIPs: { kind: 'cidr', get: (f) => f.sourceIPs },
    userAgents: { kind: 'substring', get: (f) => f.userAgentLower },
    uris: { kind: 'keyword', get: (f) => f.uri },
  },
  index: ['verbs', 'resources'],
  placeholders: {
    user: (f) => f.user || '(unknown user)',
    verb: (f) => f.verb,
    resource: resourcePath,
    target: targetOf,
    namespace: (f) => f.namespace || '(cluster)',
    name: (f) => f.name || '(none)',
    sourceIP: (f) => f.sourceIPs[0] ?? '(unknown address)',
    sourceIPs: (f) => f.sourceIPs.join(', ') || '(unknown address)',
    userAgent: (f) => f.userAgent || '(no user agent)',
    code: (f) => String(f.code),
    cluster: (f) => f.cluster || '(cluster)',
    images: (f) => imagesOf(f.raw),
    bindingSubjects: (f) => bindingSubjectsOf(f.raw),
    roleRef: (f) => {
      const ref = child(subjectObject(f.raw), 'roleRef');
      const kind = child(ref, 'kind');
      const name = child(ref, 'name');
      return typeof name === 'string' ? `${typeof kind === 'string' ? kind : 'Role'} ${name}` : '(no roleRef)';
    },
  },
};

export type AuditRuleEngine = RuleEngine<AuditFacts>;

export function createAuditRuleEngine(set: RuleSet): AuditRuleEngine {
  return createRuleEngine(set, AUDIT_ENGINE_SPEC);
}

/**
 * The CEL variables of an audit rule:
 * `event` (the whole audit Event), `object` (see subjectObject), `podSpec` and `containers` (from
 * the object, empty when it holds no pod), `user`, `groups`, `serviceAccount` (`ns/name` or ''),
 * `verb`, `resource`, `subresource`, `targetNamespace` (`namespace` is a reserved word in CEL), `name`, `code`, `sourceIPs`, `userAgent`, and
 * `lists` (bound by the engine).
 */
export function auditVariables(f: AuditFacts): Record<string, CelInput> {
  const object = subjectObject(f.raw);
  const podSpec = podSpecOf(object);
  return {
    event: f.raw,
    object,
    podSpec,
    containers: containersOf(podSpec),
    user: f.user,
    groups: [...f.groups],
    serviceAccount: serviceAccountOf(f.user) ?? '',
    verb: f.verb,
    resource: f.resource,
    subresource: f.subresource,
    targetNamespace: f.namespace,
    name: f.name,
    code: BigInt(f.code),
    sourceIPs: [...f.sourceIPs],
    userAgent: f.userAgent,
  };
}
