import { z } from 'zod';

/**
 * The typed object model of the inventory: zod schemas for the Kubernetes kinds Palisade reads.
 * Every field is optional (real objects omit defaults) and fields Palisade does not use are
 * dropped (volumes keep theirs: the restricted-volumes check needs every source key), so a newer
 * API server never breaks parsing and the inventory stays small. An object that does not fit its kind's schema is
 * kept as `unknown` with the reason, and counted. Secret objects are reduced to metadata before
 * they reach this module's callers (see `stripSecret` in inventory.ts): values are never kept.
 */

const str = z.string();
const num = z.number();
const bool = z.boolean();
const strList = z.array(z.string());
const strMap = z.record(z.string(), z.string());
/** Kubernetes IntOrString (ports, maxUnavailable …). */
const intOrString = z.union([z.number(), z.string()]);

export const ObjectMetaSchema = z.object({
  name: str.optional(),
  generateName: str.optional(),
  namespace: str.optional(),
  uid: str.optional(),
  resourceVersion: str.optional(),
  labels: strMap.optional(),
  annotations: strMap.optional(),
  creationTimestamp: str.nullable().optional(),
  ownerReferences: z
    .array(z.object({ apiVersion: str.optional(), kind: str, name: str, uid: str.optional(), controller: bool.optional() }))
    .optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;

const SeLinuxOptionsSchema = z.object({ user: str.optional(), role: str.optional(), type: str.optional(), level: str.optional() });
const SeccompProfileSchema = z.object({ type: str.optional(), localhostProfile: str.optional() });
const AppArmorProfileSchema = z.object({ type: str.optional(), localhostProfile: str.optional() });
const WindowsOptionsSchema = z.object({ hostProcess: bool.optional(), runAsUserName: str.optional() });

export const SecurityContextSchema = z.object({
  privileged: bool.optional(),
  allowPrivilegeEscalation: bool.optional(),
  runAsUser: num.optional(),
  runAsGroup: num.optional(),
  runAsNonRoot: bool.optional(),
  readOnlyRootFilesystem: bool.optional(),
  procMount: str.optional(),
  capabilities: z.object({ add: strList.optional(), drop: strList.optional() }).optional(),
  seLinuxOptions: SeLinuxOptionsSchema.optional(),
  seccompProfile: SeccompProfileSchema.optional(),
  appArmorProfile: AppArmorProfileSchema.optional(),
  windowsOptions: WindowsOptionsSchema.optional(),
});
export type SecurityContext = z.infer<typeof SecurityContextSchema>;

const HandlerSchema = z.object({
  httpGet: z.object({ host: str.optional(), port: intOrString.optional(), path: str.optional() }).optional(),
  tcpSocket: z.object({ host: str.optional(), port: intOrString.optional() }).optional(),
  exec: z.object({ command: strList.optional() }).optional(),
  grpc: z.object({ port: num.optional() }).optional(),
});
export type Handler = z.infer<typeof HandlerSchema>;

/**
 * A resource quantity ("500m", "128Mi", or a bare number). The same values as IntOrString, string
 * first: nearly every quantity is a string, and a union tries its options in order (a failed
 * number check costs an issue object per value).
 */
const quantity = z.union([z.string(), z.number()]);
const ResourceListSchema = z.record(z.string(), quantity);

export const ContainerSchema = z.object({
  name: str.default(''),
  image: str.optional(),
  imagePullPolicy: str.optional(),
  command: strList.optional(),
  args: strList.optional(),
  ports: z
    .array(z.object({ name: str.optional(), containerPort: num.optional(), hostPort: num.optional(), protocol: str.optional() }))
    .optional(),
  securityContext: SecurityContextSchema.optional(),
  resources: z.object({ limits: ResourceListSchema.optional(), requests: ResourceListSchema.optional() }).optional(),
  livenessProbe: HandlerSchema.optional(),
  readinessProbe: HandlerSchema.optional(),
  startupProbe: HandlerSchema.optional(),
  lifecycle: z.object({ postStart: HandlerSchema.optional(), preStop: HandlerSchema.optional() }).optional(),
  volumeMounts: z.array(z.object({ name: str, mountPath: str.optional(), readOnly: bool.optional() })).optional(),
  restartPolicy: str.optional(),
});
export type Container = z.infer<typeof ContainerSchema>;

// Loose: the restricted-volumes check reads every volume source key.
export const VolumeSchema = z.looseObject({
  name: str.default(''),
  hostPath: z.object({ path: str.optional(), type: str.optional() }).optional(),
  secret: z.object({ secretName: str.optional() }).optional(),
  configMap: z.object({ name: str.optional() }).optional(),
  projected: z.object({}).optional(),
});
export type Volume = z.infer<typeof VolumeSchema>;

export const PodSecurityContextSchema = z.object({
  runAsUser: num.optional(),
  runAsGroup: num.optional(),
  runAsNonRoot: bool.optional(),
  fsGroup: num.optional(),
  seLinuxOptions: SeLinuxOptionsSchema.optional(),
  seccompProfile: SeccompProfileSchema.optional(),
  appArmorProfile: AppArmorProfileSchema.optional(),
  windowsOptions: WindowsOptionsSchema.optional(),
  sysctls: z.array(z.object({ name: str, value: str.optional() })).optional(),
});

export const PodSpecSchema = z.object({
  containers: z.array(ContainerSchema).default([]),
  initContainers: z.array(ContainerSchema).optional(),
  ephemeralContainers: z.array(ContainerSchema).optional(),
  volumes: z.array(VolumeSchema).optional(),
  securityContext: PodSecurityContextSchema.optional(),
  hostNetwork: bool.optional(),
  hostPID: bool.optional(),
  hostIPC: bool.optional(),
  hostUsers: bool.optional(),
  os: z.object({ name: str.optional() }).optional(),
  serviceAccountName: str.optional(),
  serviceAccount: str.optional(),
  automountServiceAccountToken: bool.optional(),
  nodeName: str.optional(),
});
export type PodSpec = z.infer<typeof PodSpecSchema>;

/** What the Pod Security Standards evaluate: a Pod, or a controller's pod template. */
export interface PodLike {
  metadata?: Pick<ObjectMeta, 'annotations' | 'labels'> | undefined;
  spec: PodSpec;
}

export const PodTemplateSchema = z.object({ metadata: ObjectMetaSchema.optional(), spec: PodSpecSchema.default({ containers: [] }) });

const LabelSelectorSchema = z.object({
  matchLabels: strMap.optional(),
  matchExpressions: z.array(z.object({ key: str, operator: str, values: strList.optional() })).optional(),
});
export type LabelSelector = z.infer<typeof LabelSelectorSchema>;

const PolicyRuleSchema = z.object({
  apiGroups: strList.optional(),
  resources: strList.optional(),
  resourceNames: strList.optional(),
  nonResourceURLs: strList.optional(),
  verbs: strList.default([]),
});
export type PolicyRule = z.infer<typeof PolicyRuleSchema>;

const SubjectSchema = z.object({ kind: str, name: str, namespace: str.optional(), apiGroup: str.optional() });
export type Subject = z.infer<typeof SubjectSchema>;

const meta = ObjectMetaSchema.default({});
const workload = z.object({
  selector: LabelSelectorSchema.optional(),
  replicas: num.optional(),
  template: PodTemplateSchema.default({ spec: { containers: [] } }),
});

const containerStatus = z.object({ name: str, image: str.optional(), imageID: str.optional(), ready: bool.optional() });

/** One schema per kind; the key is the kind name. */
export const KIND_SCHEMAS = {
  Namespace: z.object({ kind: z.literal('Namespace'), metadata: meta, status: z.object({ phase: str.optional() }).optional() }),
  Node: z.object({
    kind: z.literal('Node'),
    metadata: meta,
    spec: z.object({ unschedulable: bool.optional(), providerID: str.optional() }).optional(),
    status: z
      .object({
        allocatable: ResourceListSchema.optional(),
        capacity: ResourceListSchema.optional(),
        addresses: z.array(z.object({ type: str, address: str })).optional(),
        nodeInfo: z.object({ kubeletVersion: str.optional(), osImage: str.optional() }).optional(),
      })
      .optional(),
  }),
  Pod: z.object({
    kind: z.literal('Pod'),
    metadata: meta,
    spec: PodSpecSchema.default({ containers: [] }),
    status: z
      .object({
        phase: str.optional(),
        podIP: str.optional(),
        hostIP: str.optional(),
        containerStatuses: z.array(containerStatus).optional(),
        initContainerStatuses: z.array(containerStatus).optional(),
        ephemeralContainerStatuses: z.array(containerStatus).optional(),
      })
      .optional(),
  }),
  Deployment: z.object({ kind: z.literal('Deployment'), metadata: meta, spec: workload.default({ template: { spec: { containers: [] } } }) }),
  ReplicaSet: z.object({ kind: z.literal('ReplicaSet'), metadata: meta, spec: workload.default({ template: { spec: { containers: [] } } }) }),
  StatefulSet: z.object({ kind: z.literal('StatefulSet'), metadata: meta, spec: workload.default({ template: { spec: { containers: [] } } }) }),
  DaemonSet: z.object({ kind: z.literal('DaemonSet'), metadata: meta, spec: workload.default({ template: { spec: { containers: [] } } }) }),
  Job: z.object({ kind: z.literal('Job'), metadata: meta, spec: workload.default({ template: { spec: { containers: [] } } }) }),
  CronJob: z.object({
    kind: z.literal('CronJob'),
    metadata: meta,
    spec: z
      .object({
        schedule: str.optional(),
        jobTemplate: z.object({ spec: workload.default({ template: { spec: { containers: [] } } }) }).default({ spec: { template: { spec: { containers: [] } } } }),
      })
      .default({ jobTemplate: { spec: { template: { spec: { containers: [] } } } } }),
  }),
  Service: z.object({
    kind: z.literal('Service'),
    metadata: meta,
    spec: z
      .object({
        type: str.optional(),
        selector: strMap.optional(),
        ports: z.array(z.object({ name: str.optional(), port: num.optional(), targetPort: intOrString.optional(), nodePort: num.optional(), protocol: str.optional() })).optional(),
        loadBalancerSourceRanges: strList.optional(),
        externalIPs: strList.optional(),
      })
      .default({}),
  }),
  Ingress: z.object({
    kind: z.literal('Ingress'),
    metadata: meta,
    spec: z
      .object({
        ingressClassName: str.optional(),
        defaultBackend: z.object({ service: z.object({ name: str }).optional() }).optional(),
        tls: z.array(z.object({ hosts: strList.optional(), secretName: str.optional() })).optional(),
        rules: z
          .array(
            z.object({
              host: str.optional(),
              http: z
                .object({
                  paths: z.array(z.object({ path: str.optional(), backend: z.object({ service: z.object({ name: str }).optional() }) })).default([]),
                })
                .optional(),
            }),
          )
          .optional(),
      })
      .default({}),
  }),
  NetworkPolicy: z.object({
    kind: z.literal('NetworkPolicy'),
    metadata: meta,
    spec: z.object({ podSelector: LabelSelectorSchema.optional(), policyTypes: strList.optional() }).default({}),
  }),
  ServiceAccount: z.object({ kind: z.literal('ServiceAccount'), metadata: meta, automountServiceAccountToken: bool.optional() }),
  Role: z.object({ kind: z.literal('Role'), metadata: meta, rules: z.array(PolicyRuleSchema).nullable().optional() }),
  ClusterRole: z.object({
    kind: z.literal('ClusterRole'),
    metadata: meta,
    rules: z.array(PolicyRuleSchema).nullable().optional(),
    aggregationRule: z.object({ clusterRoleSelectors: z.array(LabelSelectorSchema).optional() }).optional(),
  }),
  RoleBinding: z.object({ kind: z.literal('RoleBinding'), metadata: meta, roleRef: z.object({ kind: str, name: str, apiGroup: str.optional() }), subjects: z.array(SubjectSchema).nullable().optional() }),
  ClusterRoleBinding: z.object({ kind: z.literal('ClusterRoleBinding'), metadata: meta, roleRef: z.object({ kind: str, name: str, apiGroup: str.optional() }), subjects: z.array(SubjectSchema).nullable().optional() }),
  ValidatingWebhookConfiguration: z.object({
    kind: z.literal('ValidatingWebhookConfiguration'),
    metadata: meta,
    webhooks: z.array(z.object({ name: str, failurePolicy: str.optional() })).optional(),
  }),
  MutatingWebhookConfiguration: z.object({
    kind: z.literal('MutatingWebhookConfiguration'),
    metadata: meta,
    webhooks: z.array(z.object({ name: str, failurePolicy: str.optional() })).optional(),
  }),
  /** Metadata only: `data` and `binaryData` are dropped before parsing. */
  ConfigMap: z.object({ kind: z.literal('ConfigMap'), metadata: meta }),
  /** Metadata and type only: `data` and `stringData` are dropped before parsing, never kept. */
  Secret: z.object({ kind: z.literal('Secret'), metadata: meta, type: str.optional() }),
} as const;

export type KnownKind = keyof typeof KIND_SCHEMAS;
export const KNOWN_KINDS = Object.keys(KIND_SCHEMAS).filter((k): k is KnownKind => k in KIND_SCHEMAS).sort();

export type KindObject<K extends KnownKind> = z.infer<(typeof KIND_SCHEMAS)[K]>;
export type Pod = KindObject<'Pod'>;
export type Service = KindObject<'Service'>;
export type Ingress = KindObject<'Ingress'>;
export type Node = KindObject<'Node'>;
export type ClusterRole = KindObject<'ClusterRole'>;
export type Role = KindObject<'Role'>;
export type RoleBinding = KindObject<'RoleBinding'>;
export type ClusterRoleBinding = KindObject<'ClusterRoleBinding'>;
export type ServiceAccount = KindObject<'ServiceAccount'>;
export type NetworkPolicy = KindObject<'NetworkPolicy'>;
export type Workload = KindObject<'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job'>;
export type CronJob = KindObject<'CronJob'>;

export function isKnownKind(kind: string): kind is KnownKind {
  return Object.hasOwn(KIND_SCHEMAS, kind);
}

/** Kinds that are namespaced (the rest are cluster-scoped). */
export const CLUSTER_SCOPED: ReadonlySet<string> = new Set([
  'Namespace',
  'Node',
  'ClusterRole',
  'ClusterRoleBinding',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

/** Controllers that own a pod template. */
export const CONTROLLER_KINDS = ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'] as const;
export type ControllerKind = (typeof CONTROLLER_KINDS)[number];
