import { stringify } from 'yaml';
import { AppError } from '../core/index.js';
import { serviceDnsNames, type TlsMaterial } from './tls.js';

/**
 * `palisade admission manifests`: the objects that install the webhook — Namespace, ServiceAccount,
 * RBAC (read namespaces for namespaceObject and selectors), ConfigMap with the assignments, TLS
 * Secret (self-signed) or cert-manager Certificate, Service, Deployment (2 replicas, spread, restricted
 * security context), PodDisruptionBudget and the ValidatingWebhookConfiguration (caBundle, namespace
 * selector excluding system namespaces, timeout, failurePolicy Ignore by default, sideEffects
 * NoneOnDryRun because dry runs are not recorded).
 */

export interface ManifestOptions {
  namespace: string;
  image: string;
  replicas: number;
  failurePolicy: 'Ignore' | 'Fail';
  timeoutSeconds: number;
  /** Namespaces the webhook never sees (the API server does not call it for them). */
  excludedNamespaces: readonly string[];
  /** Text of the assignments file to mount (omit to run the default assignments). */
  assignmentsYaml?: string;
  /** Self-signed material (caBundle + Secret), or cert-manager (Certificate + CA injection). */
  tls: { mode: 'self-signed'; material: TlsMaterial } | { mode: 'cert-manager'; issuer: string };
  /** Findings server for gated deployment, and where violation records go when `recordsTokenSecret` is set. */
  server?: string;
  /** A Secret in `namespace` whose `token` key is the server's admission token: the webhook ships its violation records to `server`. */
  recordsTokenSecret?: string;
  /** Cluster name put on shipped records, when the server does not tie the token to one. */
  cluster?: string;
}

const NAME = 'palisade-admission';
const LABELS = { 'app.kubernetes.io/name': NAME, 'app.kubernetes.io/part-of': 'palisade' };

export function admissionManifests(o: ManifestOptions): string {
  if (o.replicas < 1) throw new AppError('BAD_INPUT', '--replicas must be at least 1');
  if (o.timeoutSeconds < 1 || o.timeoutSeconds > 30) throw new AppError('BAD_INPUT', '--timeout must be 1-30 seconds (the API server caps webhooks at 30)');
  if (o.recordsTokenSecret !== undefined && o.server === undefined) throw new AppError('BAD_INPUT', '--token-secret needs --server URL: the palisade server the violation records go to');
  const meta = (name: string, namespaced = true): Record<string, unknown> => ({ name, ...(namespaced ? { namespace: o.namespace } : {}), labels: LABELS });
  const docs: Record<string, unknown>[] = [];
  docs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.namespace, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } });
  docs.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(NAME), automountServiceAccountToken: true });
  docs.push({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: meta(NAME, false),
    // Namespaces for namespaceObject and selectors; Services for the unique-selector lookup.
    rules: [{ apiGroups: [''], resources: ['namespaces', 'services'], verbs: ['get', 'list', 'watch'] }],
  });
  docs.push({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: meta(NAME, false),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
    subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: o.namespace }],
  });
  if (o.assignmentsYaml !== undefined) {
    docs.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(`${NAME}-assignments`), data: { 'assignments.yaml': o.assignmentsYaml } });
  }
  const secretName = `${NAME}-tls`;
  let caBundle: string | undefined;
  if (o.tls.mode === 'self-signed') {
    caBundle = Buffer.from(o.tls.material.ca ?? o.tls.material.cert).toString('base64');
    docs.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta(secretName),
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': Buffer.from(o.tls.material.cert).toString('base64'), 'tls.key': Buffer.from(o.tls.material.key).toString('base64') },
    });
  } else {
    docs.push({
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: meta(NAME),
      spec: { secretName, dnsNames: serviceDnsNames(NAME, o.namespace), issuerRef: { name: o.tls.issuer, kind: 'Issuer' }, privateKey: { algorithm: 'ECDSA', size: 256 } },
    });
  }
  docs.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(NAME),
    spec: { selector: { 'app.kubernetes.io/name': NAME }, ports: [{ name: 'https', port: 443, targetPort: 'https' }] },
  });
  const args = ['admission', '--tls-cert', '/tls/tls.crt', '--tls-key', '/tls/tls.key', '--port', '8443'];
  if (o.assignmentsYaml !== undefined) args.push('--assignments', '/config/assignments.yaml');
  if (o.server) args.push('--server', o.server);
  if (o.cluster) args.push('--cluster', o.cluster);
  // The token reaches the webhook from its Secret, never on the command line.
  const env = o.recordsTokenSecret === undefined ? [] : [{ name: 'PALISADE_ADMISSION_TOKEN', valueFrom: { secretKeyRef: { name: o.recordsTokenSecret, key: 'token' } } }];
  const probe = { httpGet: { path: '/healthz', port: 'https', scheme: 'HTTPS' }, periodSeconds: 10 };
  docs.push({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(NAME),
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: { 'app.kubernetes.io/name': NAME } },
      template: {
        metadata: { labels: LABELS, annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/scheme': 'https', 'prometheus.io/port': '8443' } },
        spec: {
          serviceAccountName: NAME,
          automountServiceAccountToken: true,
          securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { 'app.kubernetes.io/name': NAME } } },
          ],
          containers: [
            {
              name: 'webhook',
              image: o.image,
              imagePullPolicy: 'IfNotPresent',
              args,
              ...(env.length > 0 ? { env } : {}),
              ports: [{ name: 'https', containerPort: 8443 }],
              readinessProbe: probe,
              livenessProbe: probe,
              lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'tls', mountPath: '/tls', readOnly: true },
                ...(o.assignmentsYaml !== undefined ? [{ name: 'config', mountPath: '/config', readOnly: true }] : []),
              ],
            },
          ],
          volumes: [
            { name: 'tls', secret: { secretName } },
            ...(o.assignmentsYaml !== undefined ? [{ name: 'config', configMap: { name: `${NAME}-assignments` } }] : []),
          ],
        },
      },
    },
  });
  docs.push({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(NAME),
    spec: { maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': NAME } } },
  });
  const excluded = [...new Set([...o.excludedNamespaces, o.namespace])].sort();
  docs.push({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: {
      name: NAME,
      labels: LABELS,
      ...(o.tls.mode === 'cert-manager' ? { annotations: { 'cert-manager.io/inject-ca-from': `${o.namespace}/${NAME}` } } : {}),
    },
    webhooks: [
      {
        name: 'validate.admission.palisade.dev',
        admissionReviewVersions: ['v1'],
        sideEffects: 'NoneOnDryRun',
        failurePolicy: o.failurePolicy,
        timeoutSeconds: o.timeoutSeconds,
        matchPolicy: 'Equivalent',
        clientConfig: { service: { name: NAME, namespace: o.namespace, path: '/validate', port: 443 }, ...(caBundle ? { caBundle } : {}) },
        namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: excluded }] },
        rules: [{ apiGroups: ['*'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: ['*'], scope: '*' }],
      },
    ],
  });
  const header = [
    '# Palisade admission webhook. Generated by `palisade admission manifests`.',
    `# failurePolicy ${o.failurePolicy}: alert on palisade_admission_evaluation_errors_total (GET /metrics) and on webhook call failures`,
    '# (apiserver_admission_webhook_rejection_count{name="validate.admission.palisade.dev"}).',
  ].join('\n');
  return `${header}\n${docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n')}`;
}
