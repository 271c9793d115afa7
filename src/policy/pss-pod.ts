import { PodTemplateSchema, type PodLike } from '../kube/model.js';

/**
 * The pod that `podSecurity(pod, level, version)` hands to the Pod Security Standards evaluator,
 * and exactly which of its fields decide the answer.
 *
 * The evaluator takes a `PodLike` as `PodTemplateSchema` (src/kube/model.ts) parses it: unknown
 * fields dropped, types checked, a few defaults filled. Two things here make that cheap on the
 * admission hot path without changing a result:
 *
 * - `PSS_POD_FIELDS` names every field of the schema: the annotations, which the evaluator reads,
 *   are a `value` read; the other metadata fields are `shape` or `type` reads, since the schema
 *   only checks their types (labels must be a map of strings, the name a string …) and their values
 *   change nothing but whether the pod parses; every pod spec field of the schema is a `value` read. `pssPodOf` first cuts the pod down to these fields, so the
 *   evaluator provably sees nothing else, and the engine can key its result memo on them (two pods
 *   of one ReplicaSet, which differ in name, uid and creationTimestamp, share one answer).
 * - `asPodLike` accepts, without copying, a pod that already has the parsed shape (every field of
 *   the right type, no default to fill), which a real pod always has; anything else goes through
 *   the schema, which fills the defaults and words the error exactly as before.
 */

/**
 * How much of the value at a path decides a result: `value` all of it; `shape` its structure (map
 * keys, list lengths, the type of every scalar) but not the scalars themselves; `type` only whether
 * it is absent, null, a string, number, bool, list or map.
 */
export type ReadMode = 'value' | 'shape' | 'type';

export interface FieldRead {
  /** Path from the pod. */
  path: readonly string[];
  mode: ReadMode;
}

/**
 * Metadata fields of ObjectMetaSchema and how each decides the evaluation: the evaluator reads the
 * annotations; the schema checks the rest only for their types (labels: a map of strings,
 * ownerReferences: a list of maps with string kind and name …).
 */
const METADATA_FIELDS: Record<string, ReadMode> = {
  annotations: 'value',
  labels: 'shape',
  ownerReferences: 'shape',
  name: 'type',
  generateName: 'type',
  namespace: 'type',
  uid: 'type',
  resourceVersion: 'type',
  creationTimestamp: 'type',
};

/** The fields of PodSpecSchema (the evaluator reads all of them, whole). */
const SPEC_FIELDS = [
  'containers',
  'initContainers',
  'ephemeralContainers',
  'volumes',
  'securityContext',
  'hostNetwork',
  'hostPID',
  'hostIPC',
  'hostUsers',
  'os',
  'serviceAccountName',
  'serviceAccount',
  'automountServiceAccountToken',
  'nodeName',
] as const;

export const PSS_POD_FIELDS: readonly FieldRead[] = [
  ...Object.entries(METADATA_FIELDS).map(([key, mode]) => ({ path: ['metadata', key], mode })),
  ...SPEC_FIELDS.map((key) => ({ path: ['spec', key], mode: 'value' as const })),
];

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pick(source: JsonObject, keys: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const key of keys) if (Object.hasOwn(source, key) && source[key] !== undefined) out[key] = source[key];
  return out;
}

const METADATA_KEYS = Object.keys(METADATA_FIELDS);

/** The pod reduced to PSS_POD_FIELDS (a non-object, or a non-object metadata or spec, is kept as it is). */
export function projectPssPod(pod: unknown): unknown {
  if (!isObject(pod)) return pod;
  const out: JsonObject = {};
  if (Object.hasOwn(pod, 'metadata') && pod.metadata !== undefined) out.metadata = isObject(pod.metadata) ? pick(pod.metadata, METADATA_KEYS) : pod.metadata;
  if (Object.hasOwn(pod, 'spec') && pod.spec !== undefined) out.spec = isObject(pod.spec) ? pick(pod.spec, SPEC_FIELDS) : pod.spec;
  return out;
}

// --- the parsed shape, checked by hand (mirrors src/kube/model.ts) ---------------------------------

type Guard = (value: unknown) => boolean;

const optional =
  (guard: Guard): Guard =>
  (value) =>
    value === undefined || guard(value);
const isString: Guard = (value) => typeof value === 'string';
const isNumber: Guard = (value) => typeof value === 'number' && Number.isFinite(value);
const isBoolean: Guard = (value) => typeof value === 'boolean';
const arrayOf =
  (guard: Guard): Guard =>
  (value) =>
    Array.isArray(value) && value.every(guard);
const recordOf =
  (guard: Guard): Guard =>
  (value) =>
    isObject(value) && Object.values(value).every(guard);
/** An object whose listed fields pass their guards (other fields are ignored, as the schema drops them). */
const shape =
  (fields: Record<string, Guard>): Guard =>
  (value) => {
    if (!isObject(value)) return false;
    for (const key in fields) {
      const guard = fields[key];
      if (guard !== undefined && !guard(value[key])) return false;
    }
    return true;
  };

const str = optional(isString);
const num = optional(isNumber);
const bool = optional(isBoolean);
const strList = optional(arrayOf(isString));
const intOrString = optional((v) => isNumber(v) || isString(v));

const isObjectMeta = shape({
  name: str,
  generateName: str,
  namespace: str,
  uid: str,
  resourceVersion: str,
  labels: optional(recordOf(isString)),
  annotations: optional(recordOf(isString)),
  creationTimestamp: (v) => v === undefined || v === null || isString(v),
  ownerReferences: optional(arrayOf(shape({ apiVersion: str, kind: isString, name: isString, uid: str, controller: bool }))),
});

const seLinuxOptions = optional(shape({ user: str, role: str, type: str, level: str }));
const profile = optional(shape({ type: str, localhostProfile: str }));
const windowsOptions = optional(shape({ hostProcess: bool, runAsUserName: str }));

const securityContext = optional(
  shape({
    privileged: bool,
    allowPrivilegeEscalation: bool,
    runAsUser: num,
    runAsGroup: num,
    runAsNonRoot: bool,
    readOnlyRootFilesystem: bool,
    procMount: str,
    capabilities: optional(shape({ add: strList, drop: strList })),
    seLinuxOptions,
    seccompProfile: profile,
    appArmorProfile: profile,
    windowsOptions,
  }),
);

const handler = optional(
  shape({
    httpGet: optional(shape({ host: str, port: intOrString, path: str })),
    tcpSocket: optional(shape({ host: str, port: intOrString })),
    exec: optional(shape({ command: strList })),
    grpc: optional(shape({ port: num })),
  }),
);

const resourceList = optional(recordOf((v) => isNumber(v) || isString(v)));

/** A container that needs no default: `name` is present (the schema would default it to ''). */
const isContainer = shape({
  name: isString,
  image: str,
  imagePullPolicy: str,
  command: strList,
  args: strList,
  ports: optional(arrayOf(shape({ name: str, containerPort: num, hostPort: num, protocol: str }))),
  securityContext,
  resources: optional(shape({ limits: resourceList, requests: resourceList })),
  livenessProbe: handler,
  readinessProbe: handler,
  startupProbe: handler,
  lifecycle: optional(shape({ postStart: handler, preStop: handler })),
  volumeMounts: optional(arrayOf(shape({ name: isString, mountPath: str, readOnly: bool }))),
  restartPolicy: str,
});

/** The volume schema is loose (the restricted-volumes check reads every source key): only its typed fields are checked. */
const isVolume = shape({
  name: isString,
  hostPath: optional(shape({ path: str, type: str })),
  secret: optional(shape({ secretName: str })),
  configMap: optional(shape({ name: str })),
  projected: optional(isObject),
});

const isPodSpec = shape({
  containers: arrayOf(isContainer),
  initContainers: optional(arrayOf(isContainer)),
  ephemeralContainers: optional(arrayOf(isContainer)),
  volumes: optional(arrayOf(isVolume)),
  securityContext: optional(
    shape({
      runAsUser: num,
      runAsGroup: num,
      runAsNonRoot: bool,
      fsGroup: num,
      seLinuxOptions,
      seccompProfile: profile,
      appArmorProfile: profile,
      windowsOptions,
      sysctls: optional(arrayOf(shape({ name: isString, value: str }))),
    }),
  ),
  hostNetwork: bool,
  hostPID: bool,
  hostIPC: bool,
  hostUsers: bool,
  os: optional(shape({ name: str })),
  serviceAccountName: str,
  serviceAccount: str,
  automountServiceAccountToken: bool,
  nodeName: str,
});

const isParsedPod = shape({ metadata: optional(isObjectMeta), spec: isPodSpec });

/**
 * True when `value` already is what PodTemplateSchema would return for it, up to fields the
 * schema drops (which the evaluator's types do not let it read).
 */
export function hasPodLikeShape(value: unknown): value is PodLike {
  return isParsedPod(value);
}

/** The evaluator's pod: the projection, as it is when it has the parsed shape, else parsed by the schema. */
export function pssPodOf(pod: unknown): { ok: true; pod: PodLike } | { ok: false; error: string } {
  const projected = projectPssPod(pod);
  if (hasPodLikeShape(projected)) return { ok: true, pod: projected };
  const parsed = PodTemplateSchema.safeParse(projected);
  if (!parsed.success) return { ok: false, error: parsed.error.issues[0]?.message ?? '' };
  return { ok: true, pod: parsed.data };
}
