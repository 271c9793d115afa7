import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseImageReference } from '../image/reference.js';
import { forgetCelGraph } from './celview.js';
import { noFindings, type FindingsLookup, type ImageFinding } from './findings.js';
import type { Inventory } from './inventory.js';
import type { Container, ObjectMeta, Pod, PodLike, Service } from './model.js';
import { evaluatePodSecurity, type PssCheckId } from './pss/evaluate.js';
import { rbacRisks, resolveRbac, serviceAccountGrants, type Grant, type RbacRisks } from './rbac.js';
import { mapSelectorMatches } from './selector.js';

/**
 * The inventory graph: cluster → namespace → controller → pod → container → image, services and
 * ingresses → the pods they route to, exposure, and service accounts → bindings → roles. Nodes are
 * plain "views" (every field present, CEL-friendly) that the posture checks, the explorer and the
 * attack paths all read; edges are data. Views never point back up (a pod carries a summary of its
 * service account, the service account carries its pods), so they are trees a CEL program can walk.
 */

export type ExposureType = 'LoadBalancer' | 'NodePort' | 'Ingress' | 'hostNetwork' | 'hostPort';

export type Exposure = {
  type: ExposureType;
  /** What exposes the pod: "Service/shop/web", "Ingress/shop/web", "Pod/shop/web-0". */
  via: string;
  /** Reachable from the internet: a public LoadBalancer, an Ingress, or a node port / host port on a node with an ExternalIP. */
  internet: boolean;
  /** The LoadBalancer accepts any source address (no source ranges, or 0.0.0.0/0). */
  openToWorld: boolean;
};

export type ImageView = {
  kind: 'image';
  id: string;
  /** Normalised reference: docker.io/library/nginx:1.25. */
  ref: string;
  registry: string;
  repository: string;
  tag: string;
  /** Manifest digest from the pod status (or the reference); '' when unknown. */
  digest: string;
  findings: ImageFinding[];
};

export type ContainerView = {
  kind: 'container';
  id: string;
  cluster: string;
  namespace: string;
  pod: string;
  name: string;
  type: 'container' | 'initContainer' | 'ephemeralContainer';
  /** The image as written in the spec. */
  image: string;
  imageRef: ImageView;
  privileged: boolean;
  /** Effective: true unless allowPrivilegeEscalation is false. */
  allowPrivilegeEscalation: boolean;
  runAsNonRoot: boolean;
  /** Effective runAsUser (container, else pod); -1 when unset. */
  runAsUser: number;
  /** Neither runAsNonRoot nor a non-zero runAsUser is set: the image's user (often root) applies. */
  mayRunAsRoot: boolean;
  readOnlyRootFilesystem: boolean;
  capabilitiesAdded: string[];
  capabilitiesDropped: string[];
  hostPorts: number[];
  livenessProbe: boolean;
  readinessProbe: boolean;
  cpuLimit: string;
  memoryLimit: string;
  cpuRequest: string;
  memoryRequest: string;
  /** Effective pull policy (Always for :latest or untagged images when unset). */
  imagePullPolicy: string;
  /** The image is `:latest` or has neither tag nor digest. */
  latestTag: boolean;
};

export type ServiceAccountSummary = RbacRisks & {
  namespace: string;
  name: string;
  /** The ServiceAccount object exists in the inventory. */
  exists: boolean;
  /** automountServiceAccountToken on the ServiceAccount (true when unset). */
  automount: boolean;
  roles: string[];
  bindings: string[];
};

export type PodView = {
  kind: 'pod';
  id: string;
  cluster: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** 'pod' for a Pod object; 'template' for a controller's pod template with no Pod in the inventory (manifests). */
  source: 'pod' | 'template';
  /** Top controller: Deployment, StatefulSet, DaemonSet, CronJob, Job, ReplicaSet; '' for a naked pod. */
  controllerKind: string;
  controllerName: string;
  /** "Deployment/shop/web" or "Pod/shop/debug": the resource recommendations name. */
  owner: string;
  naked: boolean;
  node: string;
  hostNetwork: boolean;
  hostPID: boolean;
  hostIPC: boolean;
  hostPathVolumes: string[];
  /** Effective: the pod's automountServiceAccountToken, else the service account's, else true. */
  automountToken: boolean;
  serviceAccount: ServiceAccountSummary;
  exposures: Exposure[];
  exposed: boolean;
  internetExposed: boolean;
  privileged: boolean;
  containers: ContainerView[];
  images: ImageView[];
  /** Violated Pod Security Standards checks at the latest version. */
  pssBaseline: PssCheckId[];
  pssRestricted: PssCheckId[];
};

export type WorkloadView = {
  kind: 'workload';
  id: string;
  cluster: string;
  namespace: string;
  name: string;
  workloadKind: string;
  labels: Record<string, string>;
  replicas: number;
  /** "Deployment/ns/name" of the owning controller, '' when top-level. */
  ownedBy: string;
};

export type ServiceView = {
  kind: 'service';
  id: string;
  cluster: string;
  namespace: string;
  name: string;
  type: string;
  ports: number[];
  nodePorts: number[];
  sourceRanges: string[];
  internal: boolean;
  internet: boolean;
  openToWorld: boolean;
  pods: string[];
};

export type IngressView = {
  kind: 'ingress';
  id: string;
  cluster: string;
  namespace: string;
  name: string;
  hosts: string[];
  tls: boolean;
  services: string[];
  pods: string[];
};

export type ServiceAccountView = ServiceAccountSummary & {
  kind: 'serviceAccount';
  id: string;
  cluster: string;
  grants: Grant[];
  pods: PodView[];
};

export type BindingView = {
  kind: 'binding';
  id: string;
  cluster: string;
  bindingKind: string;
  namespace: string;
  name: string;
  role: string;
  roleMissing: boolean;
  subjects: { kind: string; name: string; namespace: string }[];
  risks: RbacRisks;
};

export type RoleView = {
  kind: 'role';
  id: string;
  cluster: string;
  roleKind: 'Role' | 'ClusterRole';
  namespace: string;
  name: string;
  aggregated: boolean;
  rules: { verbs: string[]; apiGroups: string[]; resources: string[]; nonResourceURLs: string[] }[];
  risks: RbacRisks;
};

export type NamespaceView = {
  kind: 'namespace';
  id: string;
  cluster: string;
  name: string;
  labels: Record<string, string>;
  networkPolicies: number;
  pods: number;
  /** The namespace object itself exists (namespaces referenced only by objects are listed too). */
  exists: boolean;
};

export type NodeView = {
  kind: 'node';
  id: string;
  cluster: string;
  name: string;
  /** Allocatable CPU in millicores (0 when unknown). */
  allocatableCpuMillis: number;
  externalIPs: string[];
  kubeletVersion: string;
};

export type ClusterView = {
  kind: 'cluster';
  id: string;
  name: string;
  problems: string[];
  unknownObjects: number;
};

export type EdgeType = 'contains' | 'maintains' | 'runs' | 'uses-image' | 'routes-to' | 'exposes' | 'uses-service-account' | 'bound-by' | 'grants';

export interface Edge {
  from: string;
  to: string;
  type: EdgeType;
}

export interface KubeGraph {
  clusters: ClusterView[];
  namespaces: NamespaceView[];
  nodes: NodeView[];
  workloads: WorkloadView[];
  pods: PodView[];
  containers: ContainerView[];
  images: ImageView[];
  services: ServiceView[];
  ingresses: IngressView[];
  serviceAccounts: ServiceAccountView[];
  bindings: BindingView[];
  roles: RoleView[];
  edges: Edge[];
  inventories: readonly Inventory[];
}

// ---------------------------------------------------------------------------------------------

const ExposureDataSchema = z.object({
  internalLoadBalancerAnnotations: z.array(z.object({ key: z.string(), value: z.string() })),
  sourceRangesAnnotation: z.string(),
});
type ExposureData = z.infer<typeof ExposureDataSchema>;
let exposureData: ExposureData | undefined;
function loadExposureData(): ExposureData {
  exposureData ??= ExposureDataSchema.parse(parseYaml(readFileSync(new URL('./exposure.yaml', import.meta.url), 'utf8')));
  return exposureData;
}

const OPEN_RANGES = new Set(['0.0.0.0/0', '::/0', '0.0.0.0/0.0.0.0']);

function serviceSourceRanges(svc: Service, data: ExposureData): string[] {
  const fromSpec = svc.spec.loadBalancerSourceRanges ?? [];
  if (fromSpec.length > 0) return fromSpec;
  const annotation = svc.metadata.annotations?.[data.sourceRangesAnnotation];
  return annotation ? annotation.split(',').map((s) => s.trim()).filter((s) => s.length > 0) : [];
}

function isInternalLoadBalancer(meta: ObjectMeta, data: ExposureData): boolean {
  const annotations = meta.annotations ?? {};
  return data.internalLoadBalancerAnnotations.some((a) => annotations[a.key]?.toLowerCase() === a.value.toLowerCase());
}

const DIGEST_IN_ID = /^@sha256:[a-f0-9]{64}$/;

function quantity(value: number | string | undefined): string {
  return value === undefined ? '' : String(value);
}

/** Millicores from a CPU quantity ("4", "3920m", "0.5"). */
export function cpuMillis(value: number | string | undefined): number {
  if (value === undefined) return 0;
  const text = String(value).trim();
  if (text.endsWith('m')) return Math.round(Number(text.slice(0, -1))) || 0;
  return Math.round(Number(text) * 1000) || 0;
}

interface ImageParts {
  ref: string;
  registry: string;
  repository: string;
  tag: string;
  digest: string;
  latest: boolean;
}

const imagePartsCache = new Map<string, ImageParts>();

function imageParts(image: string): ImageParts {
  let parts = imagePartsCache.get(image);
  if (parts === undefined) {
    parts = parseImageParts(image);
    if (imagePartsCache.size > 100_000) imagePartsCache.clear();
    imagePartsCache.set(image, parts);
  }
  return parts;
}

function parseImageParts(image: string): ImageParts {
  try {
    const ref = parseImageReference(image);
    const explicitTag = /:[^/@]+(@|$)/.test(image);
    const tag = ref.tag ?? '';
    const ref2 = `${ref.registry}/${ref.repository}${tag ? `:${tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
    return {
      ref: ref2,
      registry: ref.registry,
      repository: ref.repository,
      tag,
      digest: ref.digest ?? '',
      latest: ref.digest === undefined && (tag === 'latest' || !explicitTag),
    };
  } catch {
    return { ref: image, registry: '', repository: image, tag: '', digest: '', latest: false };
  }
}

function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export interface GraphOptions {
  findings?: FindingsLookup;
}

/** Builds the graph of one or more clusters' inventories. */
export function buildGraph(inventories: readonly Inventory[], options: GraphOptions = {}): KubeGraph {
  const lookup = options.findings ?? noFindings;
  const data = loadExposureData();
  const graph: KubeGraph = {
    clusters: [],
    namespaces: [],
    nodes: [],
    workloads: [],
    pods: [],
    containers: [],
    images: [],
    services: [],
    ingresses: [],
    serviceAccounts: [],
    bindings: [],
    roles: [],
    edges: [],
    inventories,
  };
  const images = new Map<string, ImageView>();
  const imageView = (parts: ImageParts, digest: string): ImageView => {
    const key = digest || parts.ref;
    let view = images.get(key);
    if (view === undefined) {
      view = {
        kind: 'image',
        id: `image/${key}`,
        ref: parts.ref,
        registry: parts.registry,
        repository: parts.repository,
        tag: parts.tag,
        digest,
        findings: [...lookup({ digest, ref: parts.ref })],
      };
      images.set(key, view);
    }
    return view;
  };

  for (const inv of inventories) buildCluster(graph, inv, data, imageView);
  graph.images = [...images.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return graph;
}

/**
 * Replaces every image's findings from a lookup, for callers that learn which images run from the
 * graph itself (the server: build, ask its store for those images, attach). Containers point at
 * their image views, so paths, posture and the explorer see the new findings.
 */
export function attachFindings(graph: KubeGraph, lookup: FindingsLookup): void {
  for (const image of graph.images) image.findings = [...lookup({ digest: image.digest, ref: image.ref })];
  forgetCelGraph(graph);
}

function buildCluster(graph: KubeGraph, inv: Inventory, data: ExposureData, imageView: (parts: ImageParts, digest: string) => ImageView): void {
  const c = inv.cluster;
  const clusterId = `${c}`;
  const edge = (from: string, to: string, type: EdgeType): void => void graph.edges.push({ from, to, type });
  const o = inv.objects;
  graph.clusters.push({ kind: 'cluster', id: clusterId, name: c, problems: [...inv.problems], unknownObjects: inv.unknown.length });

  // nodes
  const nodeExternal = o.Node.some((n) => (n.status?.addresses ?? []).some((a) => a.type === 'ExternalIP'));
  for (const n of o.Node) {
    const name = n.metadata.name ?? '';
    graph.nodes.push({
      kind: 'node',
      id: `${c}/Node/${name}`,
      cluster: c,
      name,
      allocatableCpuMillis: cpuMillis(n.status?.allocatable?.cpu),
      externalIPs: (n.status?.addresses ?? []).filter((a) => a.type === 'ExternalIP').map((a) => a.address),
      kubeletVersion: n.status?.nodeInfo?.kubeletVersion ?? '',
    });
    edge(clusterId, `${c}/Node/${name}`, 'contains');
  }

  // RBAC
  const rbac = resolveRbac(inv);
  const saObjects = new Map(o.ServiceAccount.map((sa) => [podKey(sa.metadata.namespace ?? '', sa.metadata.name ?? ''), sa]));
  const saSummaries = new Map<string, ServiceAccountSummary & { grants: Grant[] }>();
  const saSummary = (namespace: string, name: string): ServiceAccountSummary & { grants: Grant[] } => {
    const key = podKey(namespace, name);
    let s = saSummaries.get(key);
    if (s === undefined) {
      const grants = serviceAccountGrants(rbac, namespace, name);
      const obj = saObjects.get(key);
      s = {
        namespace,
        name,
        exists: obj !== undefined,
        automount: obj?.automountServiceAccountToken !== false,
        ...rbacRisks(grants),
        roles: [...new Set(grants.map((g) => g.role))].sort(),
        bindings: [...new Set(grants.map((g) => g.binding))].sort(),
        grants,
      };
      saSummaries.set(key, s);
    }
    return s;
  };
  for (const sa of o.ServiceAccount) saSummary(sa.metadata.namespace ?? '', sa.metadata.name ?? '');

  for (const b of rbac.bindings) {
    const risks = rbacRisks(
      b.rules.map((r) => ({
        verbs: r.verbs,
        apiGroups: r.apiGroups ?? [],
        resources: r.resources ?? [],
        resourceNames: r.resourceNames ?? [],
        nonResourceURLs: r.nonResourceURLs ?? [],
        scope: b.kind === 'ClusterRoleBinding' ? '*' : b.namespace,
        role: b.role,
        binding: b.id,
      })),
    );
    graph.bindings.push({
      kind: 'binding',
      id: `${c}/${b.id}`,
      cluster: c,
      bindingKind: b.kind,
      namespace: b.namespace,
      name: b.name,
      role: b.role,
      roleMissing: b.roleMissing,
      subjects: b.subjects.map((s) => ({ kind: s.kind, name: s.name, namespace: s.namespace ?? (s.kind === 'ServiceAccount' ? b.namespace : '') })),
      risks,
    });
    edge(`${c}/${b.id}`, `${c}/${b.role}`, 'grants');
    for (const s of b.subjects) {
      if (s.kind === 'ServiceAccount') edge(`${c}/ServiceAccount/${s.namespace ?? b.namespace}/${s.name}`, `${c}/${b.id}`, 'bound-by');
    }
  }
  const roleView = (roleKind: 'Role' | 'ClusterRole', namespace: string, name: string, rules: readonly { verbs: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[]; nonResourceURLs?: string[] }[], aggregated: boolean): RoleView => {
    const id = roleKind === 'ClusterRole' ? `ClusterRole/${name}` : `Role/${namespace}/${name}`;
    return {
      kind: 'role',
      id: `${c}/${id}`,
      cluster: c,
      roleKind,
      namespace,
      name,
      aggregated,
      rules: rules.map((r) => ({ verbs: r.verbs, apiGroups: r.apiGroups ?? [], resources: r.resources ?? [], nonResourceURLs: r.nonResourceURLs ?? [] })),
      risks: rbacRisks(
        rules.map((r) => ({
          verbs: r.verbs,
          apiGroups: r.apiGroups ?? [],
          resources: r.resources ?? [],
          resourceNames: r.resourceNames ?? [],
          nonResourceURLs: r.nonResourceURLs ?? [],
          scope: roleKind === 'ClusterRole' ? '*' : namespace,
          role: id,
          binding: '',
        })),
      ),
    };
  };
  for (const r of o.ClusterRole) {
    const name = r.metadata.name ?? '';
    graph.roles.push(roleView('ClusterRole', '', name, rbac.clusterRoleRules.get(name) ?? [], (r.aggregationRule?.clusterRoleSelectors ?? []).length > 0));
  }
  for (const r of o.Role) graph.roles.push(roleView('Role', r.metadata.namespace ?? '', r.metadata.name ?? '', r.rules ?? [], false));

  // controllers
  const ownerOf = new Map<string, { kind: string; name: string }>();
  const workloads: { kind: string; meta: ObjectMeta; template: PodLike; replicas: number }[] = [];
  const addWorkload = (kind: string, meta: ObjectMeta, template: PodLike, replicas: number): void => {
    workloads.push({ kind, meta, template, replicas });
    const owner = meta.ownerReferences?.find((r) => r.controller === true) ?? meta.ownerReferences?.[0];
    if (owner !== undefined) ownerOf.set(`${kind}/${meta.namespace ?? ''}/${meta.name ?? ''}`, { kind: owner.kind, name: owner.name });
  };
  for (const kind of ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job'] as const) {
    for (const w of o[kind]) addWorkload(kind, w.metadata, w.spec.template, w.spec.replicas ?? 1);
  }
  for (const cj of o.CronJob) addWorkload('CronJob', cj.metadata, cj.spec.jobTemplate.spec.template, 1);
  const topController = (kind: string, namespace: string, name: string): { kind: string; name: string } => {
    let current = { kind, name };
    for (let i = 0; i < 4; i += 1) {
      const next = ownerOf.get(`${current.kind}/${namespace}/${current.name}`);
      if (next === undefined) break;
      current = next;
    }
    return current;
  };
  for (const w of workloads) {
    const ns = w.meta.namespace ?? '';
    const name = w.meta.name ?? '';
    const owner = ownerOf.get(`${w.kind}/${ns}/${name}`);
    const id = `${c}/${w.kind}/${ns}/${name}`;
    graph.workloads.push({
      kind: 'workload',
      id,
      cluster: c,
      namespace: ns,
      name,
      workloadKind: w.kind,
      labels: w.meta.labels ?? {},
      replicas: w.replicas,
      ownedBy: owner ? `${owner.kind}/${ns}/${owner.name}` : '',
    });
    if (owner) edge(`${c}/${owner.kind}/${ns}/${owner.name}`, id, 'maintains');
    else edge(`${c}/Namespace/${ns}`, id, 'contains');
  }

  // pods: real ones, then templates of top-level controllers that have none
  const podInputs: { pod: PodLike; meta: ObjectMeta; status: Pod['status']; source: 'pod' | 'template'; controller: { kind: string; name: string } | undefined }[] = [];
  const controllersWithPods = new Set<string>();
  for (const p of o.Pod) {
    const ns = p.metadata.namespace ?? '';
    const ref = p.metadata.ownerReferences?.find((r) => r.controller === true) ?? p.metadata.ownerReferences?.[0];
    const controller = ref ? topController(ref.kind, ns, ref.name) : undefined;
    if (controller) controllersWithPods.add(`${controller.kind}/${ns}/${controller.name}`);
    podInputs.push({ pod: p, meta: p.metadata, status: p.status, source: 'pod', controller });
  }
  for (const w of workloads) {
    const ns = w.meta.namespace ?? '';
    const name = w.meta.name ?? '';
    if (ownerOf.has(`${w.kind}/${ns}/${name}`)) continue;
    if (controllersWithPods.has(`${w.kind}/${ns}/${name}`)) continue;
    podInputs.push({
      pod: w.template,
      meta: { name, namespace: ns, labels: w.template.metadata?.labels ?? {}, annotations: w.template.metadata?.annotations ?? {} },
      status: undefined,
      source: 'template',
      controller: { kind: w.kind, name },
    });
  }

  // services and ingresses (selectors resolved against the pods)
  const podsByNs = new Map<string, { name: string; labels: Record<string, string>; id: string }[]>();
  const podId = (ns: string, name: string, source: 'pod' | 'template', controller?: { kind: string; name: string }): string =>
    source === 'pod' ? `${c}/Pod/${ns}/${name}` : `${c}/${controller?.kind ?? 'Pod'}/${ns}/${name}/template`;
  for (const input of podInputs) {
    const ns = input.meta.namespace ?? '';
    const list = podsByNs.get(ns) ?? [];
    list.push({ name: input.meta.name ?? '', labels: input.meta.labels ?? {}, id: podId(ns, input.meta.name ?? '', input.source, input.controller) });
    podsByNs.set(ns, list);
  }
  const exposuresByPod = new Map<string, Exposure[]>();
  const addExposure = (id: string, e: Exposure): void => {
    const list = exposuresByPod.get(id) ?? [];
    list.push(e);
    exposuresByPod.set(id, list);
  };
  const servicePods = new Map<string, { name: string; id: string }[]>();
  for (const s of o.Service) {
    const ns = s.metadata.namespace ?? '';
    const name = s.metadata.name ?? '';
    const id = `${c}/Service/${ns}/${name}`;
    const type = s.spec.type ?? 'ClusterIP';
    const pods = (podsByNs.get(ns) ?? []).filter((p) => mapSelectorMatches(s.spec.selector, p.labels));
    servicePods.set(`${ns}/${name}`, pods);
    const ranges = serviceSourceRanges(s, data);
    const internal = type === 'LoadBalancer' && isInternalLoadBalancer(s.metadata, data);
    const openToWorld = type === 'LoadBalancer' && !internal && (ranges.length === 0 || ranges.some((r) => OPEN_RANGES.has(r)));
    const internet = (type === 'LoadBalancer' && !internal) || (type === 'NodePort' && nodeExternal) || (s.spec.externalIPs ?? []).length > 0;
    graph.services.push({
      kind: 'service',
      id,
      cluster: c,
      namespace: ns,
      name,
      type,
      ports: (s.spec.ports ?? []).map((p) => p.port ?? 0),
      nodePorts: (s.spec.ports ?? []).map((p) => p.nodePort ?? 0).filter((p) => p > 0),
      sourceRanges: ranges,
      internal,
      internet,
      openToWorld,
      pods: pods.map((p) => p.name),
    });
    edge(`${c}/Namespace/${ns}`, id, 'contains');
    for (const p of pods) {
      edge(id, p.id, 'routes-to');
      if (type === 'LoadBalancer' || type === 'NodePort') {
        addExposure(p.id, { type: type === 'LoadBalancer' ? 'LoadBalancer' : 'NodePort', via: `Service/${ns}/${name}`, internet, openToWorld });
      }
    }
  }
  for (const ing of o.Ingress) {
    const ns = ing.metadata.namespace ?? '';
    const name = ing.metadata.name ?? '';
    const id = `${c}/Ingress/${ns}/${name}`;
    const backends = new Set<string>();
    if (ing.spec.defaultBackend?.service?.name) backends.add(ing.spec.defaultBackend.service.name);
    for (const rule of ing.spec.rules ?? []) for (const path of rule.http?.paths ?? []) if (path.backend.service?.name) backends.add(path.backend.service.name);
    const services = [...backends].sort();
    const pods = new Map<string, { name: string; id: string }>();
    for (const svc of services) {
      edge(id, `${c}/Service/${ns}/${svc}`, 'routes-to');
      for (const p of servicePods.get(`${ns}/${svc}`) ?? []) pods.set(p.id, p);
    }
    graph.ingresses.push({
      kind: 'ingress',
      id,
      cluster: c,
      namespace: ns,
      name,
      hosts: (ing.spec.rules ?? []).map((r) => r.host ?? '*'),
      tls: (ing.spec.tls ?? []).length > 0,
      services,
      pods: [...pods.values()].map((p) => p.name).sort(),
    });
    edge(`${c}/Namespace/${ns}`, id, 'contains');
    for (const p of pods.values()) addExposure(p.id, { type: 'Ingress', via: `Ingress/${ns}/${name}`, internet: true, openToWorld: true });
  }

  // pod views. Pods made from one template (same owner and template hash, no ephemeral
  // containers) share their Pod Security Standards result; pods of one service account share its
  // summary (views are read-only, like the image views containers share).
  const pssCache = new Map<string, PssChecks>();
  const pssOf = (pod: PodLike, meta: ObjectMeta, ns: string): PssChecks => {
    const hash = meta.labels?.['pod-template-hash'] ?? meta.labels?.['controller-revision-hash'];
    const owner = meta.ownerReferences?.find((r) => r.controller === true);
    const cacheable = hash !== undefined && owner !== undefined && (pod.spec.ephemeralContainers ?? []).length === 0;
    const key = cacheable ? `${ns}/${owner.kind}/${owner.name}/${hash}` : '';
    const hit = cacheable ? pssCache.get(key) : undefined;
    if (hit !== undefined) return hit;
    const violations = evaluatePodSecurity(pod, 'restricted');
    const result = { baseline: violations.filter((v) => v.level === 'baseline').map((v) => v.check), restricted: violations.map((v) => v.check) };
    if (cacheable) pssCache.set(key, result);
    return result;
  };
  const saViews = new Map<ServiceAccountSummary, ServiceAccountSummary>();
  const saView = (summary: ServiceAccountSummary): ServiceAccountSummary => {
    let view = saViews.get(summary);
    if (view === undefined) {
      view = stripGrants(summary);
      saViews.set(summary, view);
    }
    return view;
  };
  const saPods = new Map<string, PodView[]>();
  for (const input of podInputs) {
    const ns = input.meta.namespace ?? '';
    const name = input.meta.name ?? '';
    const spec = input.pod.spec;
    const id = podId(ns, name, input.source, input.controller);
    const saName = spec.serviceAccountName ?? spec.serviceAccount ?? 'default';
    const sa = saSummary(ns, saName);
    const statusDigests = new Map<string, string>();
    for (const statuses of [input.status?.containerStatuses, input.status?.initContainerStatuses, input.status?.ephemeralContainerStatuses]) {
      for (const s of statuses ?? []) {
        const id = s.imageID ?? '';
        const at = id.lastIndexOf('@sha256:');
        if (at >= 0 && DIGEST_IN_ID.test(id.slice(at))) statusDigests.set(s.name, id.slice(at + 1));
      }
    }
    const containers: ContainerView[] = [];
    const visit = (list: Container[] | undefined, type: ContainerView['type']): void => {
      for (const ctr of list ?? []) containers.push(containerView(c, ns, name, id, ctr, type, input.pod, statusDigests, imageView));
    };
    visit(spec.initContainers, 'initContainer');
    visit(spec.containers, 'container');
    visit(spec.ephemeralContainers, 'ephemeralContainer');

    const owner = input.controller ? `${input.controller.kind}/${ns}/${input.controller.name}` : `Pod/${ns}/${name}`;
    if (spec.hostNetwork === true) addExposure(id, { type: 'hostNetwork', via: owner, internet: nodeExternal, openToWorld: false });
    if (containers.some((x) => x.hostPorts.length > 0)) addExposure(id, { type: 'hostPort', via: owner, internet: nodeExternal, openToWorld: false });
    const exposures = exposuresByPod.get(id) ?? [];
    // One image view per image id (imageView), so identity dedupes.
    const imagesOfPod: ImageView[] = [];
    for (const x of containers) if (!imagesOfPod.includes(x.imageRef)) imagesOfPod.push(x.imageRef);
    const pss = pssOf(input.pod, input.meta, ns);
    const view: PodView = {
      kind: 'pod',
      id,
      cluster: c,
      namespace: ns,
      name,
      labels: input.meta.labels ?? {},
      source: input.source,
      controllerKind: input.controller?.kind ?? '',
      controllerName: input.controller?.name ?? '',
      owner,
      naked: input.controller === undefined,
      node: spec.nodeName ?? '',
      hostNetwork: spec.hostNetwork === true,
      hostPID: spec.hostPID === true,
      hostIPC: spec.hostIPC === true,
      hostPathVolumes: (spec.volumes ?? []).filter((v) => v.hostPath !== undefined).map((v) => v.hostPath?.path ?? ''),
      automountToken: spec.automountServiceAccountToken ?? sa.automount,
      serviceAccount: saView(sa),
      exposures,
      exposed: exposures.length > 0,
      internetExposed: exposures.some((e) => e.internet),
      privileged: containers.some((x) => x.privileged),
      containers,
      images: imagesOfPod,
      pssBaseline: pss.baseline,
      pssRestricted: pss.restricted,
    };
    graph.pods.push(view);
    graph.containers.push(...containers);
    if (input.controller) edge(`${c}/${input.controller.kind}/${ns}/${input.controller.name}`, id, 'maintains');
    else edge(`${c}/Namespace/${ns}`, id, 'contains');
    edge(id, `${c}/ServiceAccount/${ns}/${saName}`, 'uses-service-account');
    for (const x of containers) {
      edge(id, x.id, 'runs');
      edge(x.id, x.imageRef.id, 'uses-image');
    }
    for (const e of exposures) edge(`${c}/${e.via}`, id, 'exposes');
    const key = podKey(ns, saName);
    const list = saPods.get(key) ?? [];
    list.push(view);
    saPods.set(key, list);
  }

  for (const [key, s] of [...saSummaries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    graph.serviceAccounts.push({ ...stripGrants(s), kind: 'serviceAccount', id: `${c}/ServiceAccount/${s.namespace}/${s.name}`, cluster: c, grants: s.grants, pods: saPods.get(key) ?? [] });
  }

  // namespaces (objects and every namespace an object names)
  const nsNames = new Set<string>(o.Namespace.map((n) => n.metadata.name ?? ''));
  const nsObjects = new Map(o.Namespace.map((n) => [n.metadata.name ?? '', n]));
  for (const p of graph.pods) if (p.cluster === c) nsNames.add(p.namespace);
  for (const s of graph.services) if (s.cluster === c) nsNames.add(s.namespace);
  const policies = new Map<string, number>();
  for (const np of o.NetworkPolicy) policies.set(np.metadata.namespace ?? '', (policies.get(np.metadata.namespace ?? '') ?? 0) + 1);
  const podCount = new Map<string, number>();
  for (const input of podInputs) podCount.set(input.meta.namespace ?? '', (podCount.get(input.meta.namespace ?? '') ?? 0) + 1);
  for (const name of [...nsNames].filter((n) => n !== '').sort()) {
    graph.namespaces.push({
      kind: 'namespace',
      id: `${c}/Namespace/${name}`,
      cluster: c,
      name,
      labels: nsObjects.get(name)?.metadata.labels ?? {},
      networkPolicies: policies.get(name) ?? 0,
      pods: podCount.get(name) ?? 0,
      exists: nsObjects.has(name),
    });
    edge(clusterId, `${c}/Namespace/${name}`, 'contains');
  }
}

/** A pod's violated Pod Security Standards checks (restricted level, latest version). */
interface PssChecks {
  baseline: PssCheckId[];
  restricted: PssCheckId[];
}

function stripGrants(s: ServiceAccountSummary & { grants?: Grant[] }): ServiceAccountSummary {
  return {
    namespace: s.namespace,
    name: s.name,
    exists: s.exists,
    automount: s.automount,
    clusterAdmin: s.clusterAdmin,
    wildcard: s.wildcard,
    readSecrets: s.readSecrets,
    readSecretsClusterWide: s.readSecretsClusterWide,
    createPods: s.createPods,
    exec: s.exec,
    escalate: s.escalate,
    bind: s.bind,
    impersonate: s.impersonate,
    nodeProxy: s.nodeProxy,
    roles: s.roles,
    bindings: s.bindings,
  };
}

function containerView(
  cluster: string,
  namespace: string,
  pod: string,
  podId: string,
  ctr: Container,
  type: ContainerView['type'],
  podLike: PodLike,
  statusDigests: ReadonlyMap<string, string>,
  imageView: (parts: ImageParts, digest: string) => ImageView,
): ContainerView {
  const sc = ctr.securityContext;
  const psc = podLike.spec.securityContext;
  const parts = imageParts(ctr.image ?? '');
  const digest = statusDigests.get(ctr.name) ?? parts.digest;
  const runAsNonRoot = sc?.runAsNonRoot ?? psc?.runAsNonRoot ?? false;
  const runAsUser = sc?.runAsUser ?? psc?.runAsUser ?? -1;
  const privileged = sc?.privileged === true;
  return {
    kind: 'container',
    id: `${podId}/${ctr.name}`,
    cluster,
    namespace,
    pod,
    name: ctr.name,
    type,
    image: ctr.image ?? '',
    imageRef: imageView(parts, digest),
    privileged,
    allowPrivilegeEscalation: privileged || sc?.allowPrivilegeEscalation !== false,
    runAsNonRoot,
    runAsUser,
    mayRunAsRoot: !runAsNonRoot && runAsUser <= 0,
    readOnlyRootFilesystem: sc?.readOnlyRootFilesystem === true,
    capabilitiesAdded: sc?.capabilities?.add ?? [],
    capabilitiesDropped: sc?.capabilities?.drop ?? [],
    hostPorts: (ctr.ports ?? []).map((p) => p.hostPort ?? 0).filter((p) => p > 0),
    livenessProbe: ctr.livenessProbe !== undefined,
    readinessProbe: ctr.readinessProbe !== undefined,
    cpuLimit: quantity(ctr.resources?.limits?.cpu),
    memoryLimit: quantity(ctr.resources?.limits?.memory),
    cpuRequest: quantity(ctr.resources?.requests?.cpu),
    memoryRequest: quantity(ctr.resources?.requests?.memory),
    imagePullPolicy: ctr.imagePullPolicy ?? (parts.latest ? 'Always' : 'IfNotPresent'),
    latestTag: parts.latest,
  };
}

export interface RunningImage {
  cluster: string;
  namespace: string;
  pod: string;
  container: string;
  image: string;
  digest: string;
}

/** Images running in Pods (templates excluded), for the server's running-digests table; sorted. */
export function runningImages(graph: KubeGraph): RunningImage[] {
  const out: RunningImage[] = [];
  for (const p of graph.pods) {
    if (p.source !== 'pod') continue;
    for (const x of p.containers) out.push({ cluster: p.cluster, namespace: p.namespace, pod: p.name, container: x.name, image: x.image, digest: x.imageRef.digest });
  }
  const key = (r: RunningImage): string => `${r.cluster}\u0000${r.namespace}\u0000${r.pod}\u0000${r.container}`;
  return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
