import { checkAuditEvent, type AuditEvent } from './event.js';
import { isJsonObject, parseJson, type JsonObject, type JsonValue } from './json.js';

/**
 * Turns one decoded JSON record into `audit.k8s.io/v1` Events. Recognised shapes:
 * - a plain audit Event (kube-apiserver `--audit-log-path`), or an EventList (the webhook backend);
 * - EKS control-plane logs exported from CloudWatch Logs: a log event `{timestamp, message, ...}`
 *   whose `message` is the audit Event as a string, or a subscription-filter payload
 *   `{messageType, logGroup, logStream, logEvents: [...]}`; the cluster name comes from the log
 *   group `/aws/eks/<cluster>/cluster`;
 * - AKS diagnostic-setting records (`category` `kube-audit` or `kube-audit-admin`, the Event in
 *   `properties.log`), one per line (storage account) or as `{records: [...]}` (Event Hubs); the
 *   cluster name comes from `resourceId` `.../managedClusters/<cluster>`;
 * - GKE Cloud Logging entries whose `protoPayload` is a `google.cloud.audit.AuditLog` from
 *   `k8s.io`, rebuilt into an Event (GKE does not log user groups, so rules on groups do not see them).
 */

export interface DecodedEvent {
  event: AuditEvent;
  raw: JsonObject;
  cluster: string;
}

export interface DecodedRecord {
  events: DecodedEvent[];
  /** One reason per part of the record that could not be used. */
  skipped: string[];
}

/** Records nest at most this deep (records → record → message), and carry at most this many items. */
const MAX_DEPTH = 3;
export const MAX_ITEMS_PER_RECORD = 10_000;

const isRecord = isJsonObject;

function str(v: JsonValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function parseEmbedded(text: string): { ok: true; value: JsonValue } | { ok: false; reason: string } {
  try {
    return { ok: true, value: parseJson(text) };
  } catch {
    return { ok: false, reason: 'embedded message is not JSON' };
  }
}

function eksCluster(logGroup: string | undefined): string | undefined {
  const m = logGroup === undefined ? null : /^\/aws\/eks\/([^/]+)\/cluster$/.exec(logGroup);
  return m?.[1];
}

function aksCluster(resourceId: string | undefined): string | undefined {
  const m = resourceId === undefined ? null : /\/managedclusters\/([^/]+)/i.exec(resourceId);
  return m?.[1]?.toLowerCase();
}

/** gRPC status codes as GKE logs them → the HTTP status kube-apiserver answered with. */
const GRPC_TO_HTTP: Record<number, number> = {
  0: 200,
  1: 499,
  2: 500,
  3: 400,
  4: 504,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 400,
  10: 409,
  11: 400,
  12: 501,
  13: 500,
  14: 503,
  15: 500,
  16: 401,
};

/** `core/v1/namespaces/default/pods/web-0/exec` → group, version, namespace, resource, name, subresource. */
function parseGkeResourceName(resourceName: string): JsonObject {
  const parts = resourceName.split('/').filter((p) => p.length > 0);
  const [group = '', version = '', ...rest] = parts;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest.splice(0, 2);
  }
  const [resource, name, subresource] = rest;
  const ref: JsonObject = { apiVersion: version };
  if (group !== 'core') ref.apiGroup = group;
  if (resource !== undefined) ref.resource = resource;
  if (namespace !== undefined) ref.namespace = namespace;
  if (name !== undefined) ref.name = name;
  if (subresource !== undefined) ref.subresource = subresource;
  return ref;
}

const STREAMING_SUBRESOURCES = new Set(['exec', 'attach', 'portforward', 'proxy']);

/** GKE logs success as gRPC 0; kube-apiserver answered 101 for streams, 201 for creates, else 200. */
function successCode(verb: string, subresource: JsonValue | undefined): number {
  if (typeof subresource === 'string' && STREAMING_SUBRESOURCES.has(subresource)) return 101;
  return verb === 'create' ? 201 : 200;
}

function fromGke(entry: JsonObject, payload: JsonObject): { ok: true; value: JsonObject; cluster?: string } | { ok: false; reason: string } {
  if (str(payload.serviceName) !== 'k8s.io') return { ok: false, reason: 'GKE entry is not from k8s.io' };
  const method = str(payload.methodName);
  const resourceName = str(payload.resourceName);
  if (method === undefined || resourceName === undefined) return { ok: false, reason: 'GKE entry without methodName or resourceName' };
  const verb = method.slice(method.lastIndexOf('.') + 1);
  const auth = isRecord(payload.authenticationInfo) ? payload.authenticationInfo : {};
  const meta = isRecord(payload.requestMetadata) ? payload.requestMetadata : {};
  const status = isRecord(payload.status) ? payload.status : {};
  const grpc = typeof status.code === 'number' ? status.code : 0;
  const time = str(entry.timestamp) ?? str(entry.receiveTimestamp) ?? '';
  const operation = isRecord(entry.operation) ? entry.operation : {};
  const labels = isRecord(entry.labels) ? entry.labels : {};
  const annotations: JsonObject = {};
  for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') annotations[k] = v;
  const callerIp = str(meta.callerIp);
  const resource = isRecord(entry.resource) && isRecord(entry.resource.labels) ? entry.resource.labels : {};
  const objectRef = parseGkeResourceName(resourceName);
  const event: JsonObject = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: payload.request !== undefined ? (payload.response !== undefined ? 'RequestResponse' : 'Request') : 'Metadata',
    auditID: str(operation.id) ?? str(entry.insertId) ?? '',
    stage: 'ResponseComplete',
    requestURI: `/${resourceName}`,
    verb,
    user: { username: str(auth.principalEmail) ?? '', groups: [] },
    sourceIPs: callerIp === undefined ? [] : [callerIp],
    userAgent: str(meta.callerSuppliedUserAgent) ?? '',
    objectRef,
    responseStatus: { code: grpc === 0 ? successCode(verb, objectRef.subresource) : (GRPC_TO_HTTP[grpc] ?? 500), message: str(status.message) ?? '' },
    requestReceivedTimestamp: time,
    stageTimestamp: time,
    annotations,
  };
  if (payload.request !== undefined) event.requestObject = payload.request;
  if (payload.response !== undefined) event.responseObject = payload.response;
  return { ok: true, value: event, cluster: str(resource.cluster_name) };
}

function decodeInto(value: JsonValue, cluster: string, out: DecodedRecord, depth: number): void {
  if (depth > MAX_DEPTH) {
    out.skipped.push('record nests too deep');
    return;
  }
  if (!isRecord(value)) {
    out.skipped.push(Array.isArray(value) ? 'top-level JSON array (expected one record per line)' : 'not a JSON object');
    return;
  }
  const apiVersion = str(value.apiVersion);
  if (apiVersion !== undefined && apiVersion.startsWith('audit.k8s.io/')) {
    if (value.kind === 'EventList') {
      decodeItems(value.items, cluster, out, depth, 'EventList');
      return;
    }
    const checked = checkAuditEvent(value);
    if (checked.ok) out.events.push({ event: checked.event, raw: checked.raw, cluster });
    else out.skipped.push(checked.reason);
    return;
  }
  // EKS: CloudWatch Logs subscription payload, or one exported log event.
  if (Array.isArray(value.logEvents)) {
    if (value.messageType === 'CONTROL_MESSAGE') {
      out.skipped.push('CloudWatch control message');
      return;
    }
    decodeItems(value.logEvents, eksCluster(str(value.logGroup)) ?? cluster, out, depth, 'logEvents');
    return;
  }
  const message = str(value.message);
  if (message !== undefined && message.startsWith('{')) {
    const inner = parseEmbedded(message);
    if (inner.ok) decodeInto(inner.value, eksCluster(str(value.logGroup) ?? str(value.logGroupName)) ?? cluster, out, depth + 1);
    else out.skipped.push(inner.reason);
    return;
  }
  // AKS: diagnostic records (storage account lines or an Event Hubs batch).
  if (Array.isArray(value.records)) {
    decodeItems(value.records, cluster, out, depth, 'records');
    return;
  }
  const category = str(value.category);
  if (category !== undefined && isRecord(value.properties)) {
    if (category !== 'kube-audit' && category !== 'kube-audit-admin') {
      out.skipped.push(`AKS log category ${category.slice(0, 40)} is not kube-audit`);
      return;
    }
    const log = str(value.properties.log);
    if (log === undefined) {
      out.skipped.push('AKS record without properties.log');
      return;
    }
    const inner = parseEmbedded(log);
    if (inner.ok) decodeInto(inner.value, aksCluster(str(value.resourceId)) ?? cluster, out, depth + 1);
    else out.skipped.push(inner.reason);
    return;
  }
  // GKE: Cloud Logging entry with an AuditLog payload.
  if (isRecord(value.protoPayload)) {
    const converted = fromGke(value, value.protoPayload);
    if (!converted.ok) {
      out.skipped.push(converted.reason);
      return;
    }
    const checked = checkAuditEvent(converted.value);
    if (checked.ok) out.events.push({ event: checked.event, raw: checked.raw, cluster: converted.cluster ?? cluster });
    else out.skipped.push(`GKE entry: ${checked.reason}`);
    return;
  }
  if (apiVersion !== undefined) out.skipped.push(`unknown apiVersion ${apiVersion.slice(0, 40)}`);
  else out.skipped.push('not an audit event (no apiVersion, and not an EKS, AKS or GKE log record)');
}

function decodeItems(items: JsonValue | undefined, cluster: string, out: DecodedRecord, depth: number, what: string): void {
  if (!Array.isArray(items)) {
    out.skipped.push(`${what} is not a list`);
    return;
  }
  if (items.length > MAX_ITEMS_PER_RECORD) {
    out.skipped.push(`${what} holds more than ${MAX_ITEMS_PER_RECORD} items`);
    return;
  }
  for (const item of items) decodeInto(item, cluster, out, depth + 1);
}

export function decodeRecord(value: JsonValue, cluster = ''): DecodedRecord {
  const out: DecodedRecord = { events: [], skipped: [] };
  decodeInto(value, cluster, out, 0);
  return out;
}
