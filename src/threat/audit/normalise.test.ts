import { describe, expect, it } from 'vitest';
import { parseJson, type JsonObject } from './json.js';
import { decodeRecord } from './normalise.js';

/** A metadata-level event as kube-apiserver writes it (the inner record of the cloud shapes). */
const inner: JsonObject = {
  kind: 'Event',
  apiVersion: 'audit.k8s.io/v1',
  level: 'Metadata',
  auditID: '7a1f6c2e-93b4-4d1e-a0c8-5b2f3e9d8c71',
  stage: 'ResponseComplete',
  requestURI: '/api/v1/namespaces/payments/pods/api-0/exec?command=sh&stdin=true&tty=true',
  verb: 'create',
  user: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
  sourceIPs: ['52.95.110.1'],
  userAgent: 'kubectl/v1.30.2 (darwin/arm64) kubernetes/3968350',
  objectRef: { resource: 'pods', namespace: 'payments', name: 'api-0', apiVersion: 'v1', subresource: 'exec' },
  responseStatus: { metadata: {}, code: 101 },
  requestReceivedTimestamp: '2026-11-20T10:00:00.123456Z',
  stageTimestamp: '2026-11-20T10:00:04.654321Z',
  annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
};
const innerText = JSON.stringify(inner);

function summary(value: JsonObject, cluster = ''): { events: string[]; skipped: string[] } {
  const d = decodeRecord(value, cluster);
  return {
    events: d.events.map((e) => `${e.cluster}|${e.event.user.username}|${e.event.verb}|${e.event.objectRef?.resource ?? ''}/${e.event.objectRef?.subresource ?? ''}|${e.event.objectRef?.namespace ?? ''}/${e.event.objectRef?.name ?? ''}|${e.event.responseStatus?.code ?? ''}`),
    skipped: d.skipped,
  };
}

const EXEC = 'kubernetes-admin|create|pods/exec|payments/api-0|101';

describe('decodeRecord', () => {
  it.each<[string, JsonObject, string[], string[]]>([
    ['a plain audit event', inner, [`|${EXEC}`], []],
    ['an EventList from the webhook backend', { kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items: [inner, inner] }, [`|${EXEC}`, `|${EXEC}`], []],
    [
      'an EKS log event exported from CloudWatch Logs',
      { timestamp: 1795000000123, message: innerText, ingestionTime: 1795000000456, logStreamName: 'kube-apiserver-audit-0f1e2d3c4b5a69788', eventId: '38192010000000000000000000000000000000000000000000000000' },
      [`|${EXEC}`],
      [],
    ],
    [
      'an EKS CloudWatch subscription payload',
      {
        messageType: 'DATA_MESSAGE',
        owner: '123456789012',
        logGroup: '/aws/eks/prod-eu/cluster',
        logStream: 'kube-apiserver-audit-0f1e2d3c4b5a69788',
        subscriptionFilters: ['to-siem'],
        logEvents: [
          { id: '38192010000000000000000000000000000000000000000000000001', timestamp: 1795000000123, message: innerText },
          { id: '38192010000000000000000000000000000000000000000000000002', timestamp: 1795000000124, message: '{"kind":"Event","apiVersion":"audit.k8s.io/v1"' },
        ],
      },
      [`prod-eu|${EXEC}`],
      ['embedded message is not JSON'],
    ],
    ['a CloudWatch control message', { messageType: 'CONTROL_MESSAGE', owner: 'CloudwatchLogs', logGroup: '', logStream: '', logEvents: [] }, [], ['CloudWatch control message']],
    [
      'an AKS diagnostic record (storage account)',
      {
        time: '2026-11-20T10:00:04.6600000Z',
        resourceId: '/SUBSCRIPTIONS/0B1C2D3E-0000-4000-8000-1234567890AB/RESOURCEGROUPS/RG-PROD/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS-PROD-WEU',
        category: 'kube-audit-admin',
        operationName: 'Microsoft.ContainerService/managedClusters/diagnosticLogs/Read',
        properties: { log: innerText, stream: 'stdout', pod: 'kube-apiserver-6d8f9c7b5-2xk4p' },
      },
      [`aks-prod-weu|${EXEC}`],
      [],
    ],
    [
      'an AKS Event Hubs batch with a record of another category',
      {
        records: [
          { time: '2026-11-20T10:00:04Z', resourceId: '/subscriptions/x/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-dev', category: 'kube-audit', properties: { log: innerText } },
          { time: '2026-11-20T10:00:05Z', resourceId: '/subscriptions/x/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-dev', category: 'kube-apiserver', properties: { log: 'I1120 10:00:05.000000 1 trace.go:236] Trace' } },
        ],
      },
      [`aks-dev|${EXEC}`],
      ['AKS log category kube-apiserver is not kube-audit'],
    ],
    [
      'a GKE Cloud Logging entry for exec',
      {
        insertId: '8f7e6d5c-4b3a-2918-a7b6-c5d4e3f2a1b0',
        logName: 'projects/shop-prod/logs/cloudaudit.googleapis.com%2Factivity',
        operation: { id: '7a1f6c2e-93b4-4d1e-a0c8-5b2f3e9d8c71', producer: 'k8s.io', first: true, last: true },
        protoPayload: {
          '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
          authenticationInfo: { principalEmail: 'alice@example.com' },
          authorizationInfo: [{ granted: true, permission: 'io.k8s.core.v1.pods.exec.create', resource: 'core/v1/namespaces/payments/pods/api-0/exec' }],
          methodName: 'io.k8s.core.v1.pods.exec.create',
          requestMetadata: { callerIp: '34.118.9.20', callerSuppliedUserAgent: 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350' },
          resourceName: 'core/v1/namespaces/payments/pods/api-0/exec',
          serviceName: 'k8s.io',
          status: { code: 0 },
        },
        receiveTimestamp: '2026-11-20T10:00:05.012345Z',
        resource: { type: 'k8s_cluster', labels: { cluster_name: 'gke-prod', location: 'europe-west1', project_id: 'shop-prod' } },
        timestamp: '2026-11-20T10:00:00.123456Z',
        labels: { 'authorization.k8s.io/decision': 'allow' },
      },
      ['gke-prod|alice@example.com|create|pods/exec|payments/api-0|101'],
      [],
    ],
    [
      'a GKE entry for a refused cluster-scoped create',
      {
        insertId: 'a1',
        protoPayload: {
          '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
          authenticationInfo: { principalEmail: 'system:serviceaccount:default:default' },
          methodName: 'io.k8s.authorization.rbac.v1.clusterrolebindings.create',
          requestMetadata: { callerIp: '10.12.0.7', callerSuppliedUserAgent: 'curl/8.5.0' },
          resourceName: 'rbac.authorization.k8s.io/v1/clusterrolebindings/pwn',
          serviceName: 'k8s.io',
          status: { code: 7, message: 'PERMISSION_DENIED' },
          request: { kind: 'ClusterRoleBinding', apiVersion: 'rbac.authorization.k8s.io/v1', roleRef: { kind: 'ClusterRole', name: 'cluster-admin' } },
        },
        resource: { type: 'k8s_cluster', labels: { cluster_name: 'gke-prod' } },
        timestamp: '2026-11-20T10:01:00Z',
      },
      ['gke-prod|system:serviceaccount:default:default|create|clusterrolebindings/|/pwn|403'],
      [],
    ],
    ['a GKE entry of another service', { protoPayload: { serviceName: 'container.googleapis.com', methodName: 'google.container.v1.ClusterManager.UpdateCluster', resourceName: 'projects/p/zones/z/clusters/c' }, timestamp: '2026-11-20T10:01:00Z' }, [], ['GKE entry is not from k8s.io']],
    ['an unknown audit API version', { ...inner, apiVersion: 'audit.k8s.io/v2' }, [], ['unknown apiVersion audit.k8s.io/v2']],
    ['an event without a verb', { ...inner, verb: null }, [], ['bad or missing field verb']],
    ['an event with no user', Object.fromEntries(Object.entries(inner).filter(([k]) => k !== 'user')), [], ['bad or missing field user']],
    ['an event with a numeric username', { ...inner, user: { username: 42 } }, [], ['bad or missing field user.username']],
    ['an unrelated JSON object', { level: 'info', msg: 'started' }, [], ['not an audit event (no apiVersion, and not an EKS, AKS or GKE log record)']],
    ['another API object', { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'x' } }, [], ['unknown apiVersion v1']],
  ])('%s', (_name, value, events, skipped) => {
    expect(summary(value)).toEqual({ events, skipped });
  });

  it('fills defaults for optional fields an event leaves out, for rules and for CEL', () => {
    const sparse = parseJson('{"apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","verb":"get","user":{"username":"bob"},"requestReceivedTimestamp":"2026-11-20T10:00:00Z","stageTimestamp":"2026-11-20T10:00:00Z"}');
    if (typeof sparse !== 'object' || sparse === null || Array.isArray(sparse)) throw new Error('bad fixture');
    const [e] = decodeRecord(sparse).events;
    expect(e?.event.user.groups).toEqual([]);
    expect(e?.event.sourceIPs).toEqual([]);
    expect(e?.raw.userAgent).toBe('');
    expect(e?.raw.auditID).toBe('');
  });

  it('refuses a list holding more items than the cap', () => {
    const d = decodeRecord({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: Array.from({ length: 10_001 }, () => 0) });
    expect(d).toEqual({ events: [], skipped: ['EventList holds more than 10000 items'] });
  });
});
