import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { AppError, errorMessage, type Clock, type Logger } from '../core/index.js';
import { buildCidrSet, keywordSet, RULE_SEVERITIES, type KeywordSet, type RuleSeverity } from '../rules/index.js';

/**
 * The one alert model of Palisade, shared by control-plane detection (audit events) and runtime
 * detection (the node sensor). An alert names the rule, who did it (subject), to what (target),
 * the evidence (the events, capped), MITRE ATT&CK, and a status a person moves along. Repeats of
 * the same rule by the same subject on the same target within a window are grouped into one alert
 * with a count.
 */

export const ALERT_SEVERITIES = RULE_SEVERITIES;
export type AlertSeverity = RuleSeverity;
export const ALERT_STATUSES = ['new', 'acknowledged', 'resolved', 'dismissed'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];
export type AlertSource = 'audit' | 'runtime';

export interface AlertSubject {
  user?: string;
  groups: string[];
  /** `namespace/name` when the user is a service account. */
  serviceAccount?: string;
  sourceIPs: string[];
  userAgent?: string;
}

export interface AlertTarget {
  apiGroup?: string;
  apiVersion?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** Runtime alerts: the node the process ran on (Kubernetes node name), the container and image involved. */
  node?: string;
  container?: string;
  image?: string;
}

export interface AlertMitre {
  tactics: string[];
  techniques: string[];
}

/** What a rule or detector reports for one event; the grouper turns candidates into alerts. */
export interface AlertCandidate {
  rule: string;
  title: string;
  severity: AlertSeverity;
  source: AlertSource;
  /** ISO time of the event. */
  time: string;
  cluster?: string;
  message: string;
  subject: AlertSubject;
  target: AlertTarget;
  mitre: AlertMitre;
  /** The event(s) behind it, already made small by the producer. */
  evidence: unknown[];
  /** Overrides the default grouping key (rule, cluster, user, target). */
  groupKey?: string;
}

export interface Alert extends Omit<AlertCandidate, 'groupKey'> {
  id: string;
  groupKey: string;
  /** ISO time of the last grouped repeat. */
  lastSeen: string;
  count: number;
  status: AlertStatus;
}

export function defaultGroupKey(c: AlertCandidate): string {
  const t = c.target;
  return [c.rule, c.cluster ?? '', c.subject.user ?? '', t.namespace ?? '', t.resource ?? '', t.subresource ?? '', t.name ?? '', t.image ?? ''].join('|');
}

export function alertId(rule: string, groupKey: string, time: string): string {
  return createHash('sha256').update(`${rule}\n${groupKey}\n${time}`).digest('hex').slice(0, 20);
}

// ---------------------------------------------------------------------------------------------
// Suppression rules

export const suppressionSchema = z.strictObject({
  /** Rule id, or a prefix ending in `*`. */
  rule: z.string().min(1),
  users: z.array(z.string()).optional(),
  namespaces: z.array(z.string()).optional(),
  names: z.array(z.string()).optional(),
  clusters: z.array(z.string()).optional(),
  sourceIPs: z.array(z.string()).optional(),
  /** Stops applying after this date (ISO 8601). */
  until: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
  reason: z.string().min(1, 'say why the alert is suppressed'),
});
export type Suppression = z.infer<typeof suppressionSchema>;
export const suppressionFileSchema = z.strictObject({ suppressions: z.array(suppressionSchema) });

interface CompiledSuppression {
  source: Suppression;
  rule: KeywordSet;
  users?: KeywordSet;
  namespaces?: KeywordSet;
  names?: KeywordSet;
  clusters?: KeywordSet;
  ips?: ReturnType<typeof buildCidrSet>;
  untilMs: number;
}

function hasKeyword(set: KeywordSet | undefined, value: string | undefined): boolean {
  if (set === undefined) return true;
  const v = value ?? '';
  if (set.any || set.exact.has(v)) return true;
  return set.prefixes.some((p) => v.startsWith(p));
}

export function compileSuppressions(list: readonly Suppression[]): (c: AlertCandidate) => Suppression | undefined {
  const compiled: CompiledSuppression[] = list.map((s) => ({
    source: s,
    rule: keywordSet([s.rule]),
    users: s.users && keywordSet(s.users),
    namespaces: s.namespaces && keywordSet(s.namespaces),
    names: s.names && keywordSet(s.names),
    clusters: s.clusters && keywordSet(s.clusters),
    ips: s.sourceIPs && buildCidrSet(s.sourceIPs),
    untilMs: s.until === undefined ? Number.POSITIVE_INFINITY : Date.parse(s.until.length === 10 ? `${s.until}T23:59:59.999Z` : s.until),
  }));
  return (c) => {
    const at = Date.parse(c.time);
    for (const s of compiled) {
      if (at > s.untilMs) continue;
      if (!hasKeyword(s.rule, c.rule) || !hasKeyword(s.users, c.subject.user)) continue;
      if (!hasKeyword(s.namespaces, c.target.namespace) || !hasKeyword(s.names, c.target.name) || !hasKeyword(s.clusters, c.cluster)) continue;
      const ips = s.ips;
      if (ips !== undefined && !c.subject.sourceIPs.some((ip) => ips.has(ip))) continue;
      return s.source;
    }
    return undefined;
  };
}

// ---------------------------------------------------------------------------------------------
// Grouping

export interface GrouperOptions {
  /** Repeats within this many ms of the group's first event join it. Default 5 minutes. */
  windowMs?: number;
  /** Evidence events kept per alert. Default 5. */
  maxEvidence?: number;
  /** Open groups held at once; the oldest is emitted when more open. Default 10,000. */
  maxOpen?: number;
  suppressions?: readonly Suppression[];
  /** Called with each alert when its window closes (or on flush). */
  emit: (alert: Alert) => void;
}

export interface GrouperStats {
  candidates: number;
  grouped: number;
  suppressed: number;
  emitted: number;
}

export interface AlertGrouper {
  add(candidate: AlertCandidate): 'new' | 'grouped' | 'suppressed';
  /** Emits the groups whose window has closed by `now` (event time, ms). */
  closeUntil(nowMs: number): void;
  /** Emits every open group (end of input, shutdown). */
  flush(): void;
  stats(): GrouperStats;
}

export function createAlertGrouper(options: GrouperOptions): AlertGrouper {
  const windowMs = options.windowMs ?? 5 * 60_000;
  const maxEvidence = options.maxEvidence ?? 5;
  const maxOpen = options.maxOpen ?? 10_000;
  const suppressedBy = compileSuppressions(options.suppressions ?? []);
  const open = new Map<string, { alert: Alert; firstMs: number }>();
  const stats: GrouperStats = { candidates: 0, grouped: 0, suppressed: 0, emitted: 0 };

  const emitKey = (key: string): void => {
    const group = open.get(key);
    if (!group) return;
    open.delete(key);
    stats.emitted += 1;
    options.emit(group.alert);
  };

  return {
    add(candidate) {
      stats.candidates += 1;
      if (suppressedBy(candidate)) {
        stats.suppressed += 1;
        return 'suppressed';
      }
      const key = candidate.groupKey ?? defaultGroupKey(candidate);
      const atMs = Date.parse(candidate.time);
      const group = open.get(key);
      if (group && atMs - group.firstMs <= windowMs) {
        const a = group.alert;
        a.count += 1;
        if (atMs > Date.parse(a.lastSeen)) a.lastSeen = candidate.time;
        for (const e of candidate.evidence) if (a.evidence.length < maxEvidence) a.evidence.push(e);
        for (const ip of candidate.subject.sourceIPs) if (!a.subject.sourceIPs.includes(ip) && a.subject.sourceIPs.length < 16) a.subject.sourceIPs.push(ip);
        stats.grouped += 1;
        return 'grouped';
      }
      if (group) emitKey(key);
      if (open.size >= maxOpen) {
        const oldest = open.keys().next();
        if (!oldest.done) emitKey(oldest.value);
      }
      const { groupKey: _ignored, ...rest } = candidate;
      const alert: Alert = {
        ...rest,
        id: alertId(candidate.rule, key, candidate.time),
        groupKey: key,
        lastSeen: candidate.time,
        count: 1,
        status: 'new',
        evidence: candidate.evidence.slice(0, maxEvidence),
        subject: { ...candidate.subject, sourceIPs: [...candidate.subject.sourceIPs] },
      };
      open.set(key, { alert, firstMs: Number.isNaN(atMs) ? 0 : atMs });
      return 'new';
    },
    closeUntil(nowMs) {
      for (const [key, group] of open) {
        if (nowMs - group.firstMs > windowMs) emitKey(key);
      }
    },
    flush() {
      for (const key of [...open.keys()]) emitKey(key);
    },
    stats: () => ({ ...stats }),
  };
}

/** Stable order for printing: time, then rule, then id. */
export function compareAlerts(a: Alert, b: Alert): number {
  const at = Date.parse(a.time);
  const bt = Date.parse(b.time);
  if (at !== bt && !Number.isNaN(at) && !Number.isNaN(bt)) return at - bt;
  if (a.rule !== b.rule) return a.rule < b.rule ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Export: JSON lines for a SIEM, and an HMAC-signed webhook

export function alertToJsonLine(alert: Alert): string {
  return `${JSON.stringify({ schemaVersion: 1, ...alert })}\n`;
}

export const SIGNATURE_HEADER = 'x-palisade-signature';
export const TIMESTAMP_HEADER = 'x-palisade-timestamp';

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, keyed by the shared secret. */
export function signWebhookBody(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** For receivers: checks the signature in constant time and refuses stale timestamps (replay). */
export function verifyWebhookSignature(
  secret: string,
  timestamp: string,
  body: string,
  signature: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowSeconds - ts) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhookBody(secret, ts, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<{ status: number }>;

export interface WebhookSenderOptions {
  url: string;
  secret: string;
  clock: Clock;
  log: Logger;
  fetch?: FetchLike;
  timeoutMs?: number;
  /** Attempts per batch (network errors, 429 and 5xx are retried). Default 4. */
  attempts?: number;
  /** Waits between attempts; injectable so tests do not sleep. */
  sleep?: (ms: number) => Promise<void>;
  /** Names the webhook in logs and errors (default "alert webhook"). */
  name?: string;
}

export interface WebhookSender {
  /** Posts one batch; resolves when the receiver answered 2xx, throws AppError('UPSTREAM') after the last attempt. */
  send(alerts: readonly Alert[]): Promise<void>;
  /** Posts another JSON body (the server's finding events), signed and retried the same way; `what` counts it in the error. */
  post(body: string, what: string, headers?: Record<string, string>): Promise<void>;
}

export function createWebhookSender(options: WebhookSenderOptions): WebhookSender {
  if (options.secret.length < 16) throw new AppError('BAD_INPUT', 'the webhook secret is shorter than 16 characters: use a long random secret');
  const doFetch: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const attempts = options.attempts ?? 4;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const name = options.name ?? 'alert webhook';
  const post = async (body: string, what: string, extraHeaders: Record<string, string> = {}): Promise<void> => {
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const timestamp = Math.floor(options.clock.now().getTime() / 1000);
      const headers = {
        ...extraHeaders,
        'content-type': 'application/json',
        [TIMESTAMP_HEADER]: String(timestamp),
        [SIGNATURE_HEADER]: signWebhookBody(options.secret, timestamp, body),
      };
      try {
        const res = await doFetch(options.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
        if (res.status >= 200 && res.status < 300) return;
        last = `HTTP ${res.status}`;
        if (res.status !== 429 && res.status < 500) break;
      } catch (error) {
        last = errorMessage(error);
      }
      options.log.warn({ webhook: name, attempt, url: options.url, problem: last }, 'webhook delivery failed');
      if (attempt < attempts) await sleep(250 * 2 ** (attempt - 1));
    }
    throw new AppError('UPSTREAM', `${name} ${options.url} did not accept ${what} (${last}): check the URL and the receiver`);
  };
  return {
    send: (alerts) => post(JSON.stringify({ schemaVersion: 1, alerts }), `${alerts.length} alerts`),
    post,
  };
}
