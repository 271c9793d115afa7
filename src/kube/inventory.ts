import { CLUSTER_SCOPED, KIND_SCHEMAS, KNOWN_KINDS, isKnownKind, type KindObject, type KnownKind } from './model.js';

/**
 * The inventory of one cluster: typed objects per kind, objects of unknown kinds (CRDs) and
 * objects that did not fit their schema kept as `unknown` and counted, and what could not be read
 * ("could not read X: reason"). Live collection and file loading both feed a builder; the builder
 * keys objects by kind/namespace/name, so a watch event replaces or deletes the object it names.
 */

export type ObjectsByKind = { [K in KnownKind]: KindObject<K>[] };

export interface UnknownObject {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  /** Why it is unknown: an unknown kind, or the schema error of a known kind. */
  reason: string;
  source: string;
}

export interface Inventory {
  cluster: string;
  objects: ObjectsByKind;
  unknown: UnknownObject[];
  /** Unknown objects counted by `apiVersion/kind`. */
  unknownCounts: Record<string, number>;
  /** What could not be read, one sentence each: "could not read secrets: 403 Forbidden". */
  problems: string[];
}

export interface InventoryLimits {
  /** Objects kept per cluster; further objects are counted in `problems`, not kept. */
  maxObjects: number;
}

export const DEFAULT_INVENTORY_LIMITS: InventoryLimits = { maxObjects: 2_000_000 };

/** The identity fields of a raw object; the kind's zod schema validates the rest. */
interface RawIdentity {
  body: Record<string, unknown>;
  apiVersion: string | undefined;
  kind: string | undefined;
  name: string | undefined;
  namespace: string | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function rawIdentity(raw: unknown): RawIdentity | undefined {
  if (!isRecord(raw)) return undefined;
  const meta = raw.metadata;
  if (meta !== undefined && !isRecord(meta)) return undefined;
  return {
    body: raw,
    apiVersion: optionalString(raw.apiVersion),
    kind: optionalString(raw.kind),
    name: meta ? optionalString(meta.name) : undefined,
    namespace: meta ? optionalString(meta.namespace) : undefined,
  };
}

/** Secret and ConfigMap payloads are dropped here, before anything else sees the object. */
const PAYLOAD_FIELDS: Partial<Record<string, readonly string[]>> = {
  Secret: ['data', 'stringData'],
  ConfigMap: ['data', 'binaryData'],
};

function stripPayload(kind: string, raw: Record<string, unknown>): Record<string, unknown> {
  const drop = PAYLOAD_FIELDS[kind];
  if (drop === undefined) return raw;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) if (!drop.includes(key)) out[key] = value;
  // kubectl's last-applied annotation carries the whole object, values included: drop it too.
  const meta = out.metadata;
  if (typeof meta === 'object' && meta !== null && !Array.isArray(meta) && 'annotations' in meta) {
    const annotations = meta.annotations;
    if (typeof annotations === 'object' && annotations !== null) {
      const kept = Object.fromEntries(
        Object.entries(annotations).filter(([k]) => k !== 'kubectl.kubernetes.io/last-applied-configuration'),
      );
      out.metadata = { ...meta, annotations: kept };
    }
  }
  return out;
}

export function objectKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

export interface InventoryBuilder {
  readonly cluster: string;
  /** Adds or replaces an object. `kindHint` is for list items that carry no kind (API list responses). */
  upsert(raw: unknown, source: string, kindHint?: string): void;
  remove(raw: unknown, kindHint?: string): void;
  /** Forgets every object of a kind (before a fresh list replaces them). */
  clearKind(kind: string): void;
  problem(message: string): void;
  size(): number;
  build(): Inventory;
}

interface Entry {
  kind: string;
  typed: boolean;
  value: unknown;
  unknown?: UnknownObject;
}

export function createInventoryBuilder(cluster: string, limits: InventoryLimits = DEFAULT_INVENTORY_LIMITS): InventoryBuilder {
  const entries = new Map<string, Entry>();
  const problems: string[] = [];
  let dropped = 0;

  const identify = (raw: unknown, kindHint?: string) => {
    const parsed = rawIdentity(raw);
    if (parsed === undefined) return undefined;
    // Metadata-only lists (PartialObjectMetadataList) name their items PartialObjectMetadata: the hint says what they are.
    const own = parsed.kind === 'PartialObjectMetadata' ? undefined : parsed.kind;
    const kind = own ?? kindHint ?? '';
    const namespace = CLUSTER_SCOPED.has(kind) ? '' : (parsed.namespace ?? '');
    const name = parsed.name ?? '';
    return { data: parsed, kind, namespace, name };
  };

  return {
    cluster,
    upsert(raw, source, kindHint) {
      const id = identify(raw, kindHint);
      if (id === undefined) {
        const key = `?/${source}/${entries.size}`;
        entries.set(key, {
          kind: '',
          typed: false,
          value: undefined,
          unknown: { apiVersion: '', kind: '', namespace: '', name: '', reason: 'not a Kubernetes object (no kind/metadata)', source },
        });
        return;
      }
      const key = objectKey(id.kind, id.namespace, id.name);
      if (!entries.has(key) && entries.size >= limits.maxObjects) {
        dropped += 1;
        return;
      }
      const apiVersion = id.data.apiVersion ?? '';
      if (isKnownKind(id.kind)) {
        const body = stripPayload(id.kind, id.data.kind === id.kind ? id.data.body : { ...id.data.body, kind: id.kind });
        const typed = KIND_SCHEMAS[id.kind].safeParse(body);
        if (typed.success) {
          entries.set(key, { kind: id.kind, typed: true, value: typed.data });
          return;
        }
        const issue = typed.error.issues[0];
        const reason = `does not fit the ${id.kind} schema at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`;
        entries.set(key, { kind: id.kind, typed: false, value: undefined, unknown: { apiVersion, kind: id.kind, namespace: id.namespace, name: id.name, reason, source } });
        return;
      }
      const reason = id.kind === '' ? 'object has no kind' : `unknown kind ${apiVersion}/${id.kind}`;
      entries.set(key, { kind: id.kind, typed: false, value: undefined, unknown: { apiVersion, kind: id.kind, namespace: id.namespace, name: id.name, reason, source } });
    },
    remove(raw, kindHint) {
      const id = identify(raw, kindHint);
      if (id !== undefined) entries.delete(objectKey(id.kind, id.namespace, id.name));
    },
    clearKind(kind) {
      for (const [key, entry] of entries) if (entry.kind === kind) entries.delete(key);
    },
    problem(message) {
      problems.push(message);
    },
    size: () => entries.size,
    build() {
      const objects = emptyObjects();
      const unknown: UnknownObject[] = [];
      const sorted = [...entries.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      for (const [, entry] of sorted) {
        if (entry.typed && isKnownKind(entry.kind)) pushTyped(objects, entry.kind, entry.value);
        else if (entry.unknown !== undefined) unknown.push(entry.unknown);
      }
      const unknownCounts: Record<string, number> = {};
      for (const u of unknown) {
        const key = u.kind === '' ? '(no kind)' : `${u.apiVersion}/${u.kind}`;
        unknownCounts[key] = (unknownCounts[key] ?? 0) + 1;
      }
      const allProblems = [...problems];
      if (dropped > 0) allProblems.push(`could not keep ${dropped} objects: the inventory holds at most ${limits.maxObjects} objects per cluster`);
      return { cluster, objects, unknown, unknownCounts, problems: allProblems };
    },
  };
}

export function emptyObjects(): ObjectsByKind {
  return {
    ClusterRole: [],
    ClusterRoleBinding: [],
    ConfigMap: [],
    CronJob: [],
    DaemonSet: [],
    Deployment: [],
    Ingress: [],
    Job: [],
    MutatingWebhookConfiguration: [],
    Namespace: [],
    NetworkPolicy: [],
    Node: [],
    Pod: [],
    ReplicaSet: [],
    Role: [],
    RoleBinding: [],
    Secret: [],
    Service: [],
    ServiceAccount: [],
    StatefulSet: [],
    ValidatingWebhookConfiguration: [],
  };
}

/** Re-parses nothing: the values were produced by the kind's schema. */
function pushTyped(objects: ObjectsByKind, kind: KnownKind, value: unknown): void {
  const list: unknown[] = objects[kind];
  list.push(value);
}

/** Counts per kind, for the inventory summary. */
export function inventoryCounts(inv: Inventory): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of KNOWN_KINDS) {
    const n = inv.objects[kind].length;
    if (n > 0) out[kind] = n;
  }
  return out;
}
