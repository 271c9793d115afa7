import { z } from 'zod';
import { AppError } from '../../core/index.js';
import type { RuleSet } from '../../rules/index.js';
import type { AlertCandidate, AlertSubject, AlertTarget } from '../alert.js';
import { createAuditDetectors, type AuditDetector } from './detectors.js';
import { auditVariables, createAuditRuleEngine, type AuditRuleEngine } from './engine.js';
import { auditFacts, serviceAccountOf, type AuditFacts } from './event.js';
import { isJsonObject, parseJson, type JsonObject, type JsonValue } from './json.js';
import { decodeRecord, type DecodedEvent } from './normalise.js';
import type { DetectorStateStore } from './state.js';

/**
 * The audit pipeline for one stream of records: decode (plain, EventList, EKS, AKS, GKE) → keep one
 * stage per request → rules (indexed, pre-filtered, then CEL) and detectors → alert candidates.
 * Bad records are skipped and counted by reason; nothing in the input can stop the stream.
 */
export interface AuditCounters {
  /** Lines or bodies read. */
  records: number;
  /** Events decoded from them. */
  events: number;
  /** Events that went through rules and detectors. */
  analysed: number;
  /** Records or parts skipped, by reason. */
  skipped: Map<string, number>;
  /** Events not analysed because of their stage (RequestReceived, or the second stage of one request). */
  ignoredStages: number;
  candidates: number;
}

export interface AuditAnalyzer {
  readonly engine: AuditRuleEngine;
  readonly detectors: readonly AuditDetector[];
  analyzeLine(text: string, cluster?: string): AlertCandidate[];
  analyzeValue(value: JsonValue, cluster?: string): AlertCandidate[];
  analyzeEvent(decoded: DecodedEvent): AlertCandidate[];
  /** Counts a record the caller could not even read (oversize line, I/O). */
  skip(reason: string): void;
  counters(): AuditCounters;
  /** Writes detector state (baselines) to the store. */
  persist(): void;
}

export interface AuditAnalyzerOptions {
  ruleSet: RuleSet;
  state: DetectorStateStore;
  /** Evidence events larger than this (serialized) lose their request/response objects. Default 16 KiB. */
  maxEvidenceBytes?: number;
}

const ANALYSED_STAGES = new Set(['ResponseComplete', 'ResponseStarted', 'Panic']);
const MAX_REMEMBERED_STARTED = 10_000;
const MAX_SKIP_REASONS = 64;

/** An event small enough to keep as evidence: request/response bodies go when the event is large. */
export function compactEvidence(raw: JsonObject, maxBytes: number): JsonObject {
  const size = JSON.stringify(raw).length;
  if (size <= maxBytes) return raw;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'requestObject' || key === 'responseObject') out[key] = { palisadeTruncated: true, bytes: JSON.stringify(value).length };
    else out[key] = value;
  }
  return out;
}

/** Alert times in one form (ms precision, UTC) so they sort and compare as text. */
function canonicalTime(time: string): string {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? time : new Date(ms).toISOString();
}

function subjectOf(f: AuditFacts): AlertSubject {
  const subject: AlertSubject = { user: f.user, groups: [...f.groups], sourceIPs: [...f.sourceIPs] };
  const sa = serviceAccountOf(f.user);
  if (sa !== undefined) subject.serviceAccount = sa;
  if (f.userAgent) subject.userAgent = f.userAgent;
  return subject;
}

function targetOf(f: AuditFacts): AlertTarget {
  const t: AlertTarget = {};
  const ref = f.event.objectRef;
  if (ref?.apiGroup) t.apiGroup = ref.apiGroup;
  if (ref?.apiVersion) t.apiVersion = ref.apiVersion;
  if (f.resource) t.resource = f.resource;
  if (f.subresource) t.subresource = f.subresource;
  if (f.namespace) t.namespace = f.namespace;
  if (f.name) t.name = f.name;
  return t;
}

/**
 * CloudWatch Logs exports to S3 write `<ISO timestamp> <message>` per line; the message is the
 * audit event. Cheap check first: JSON lines start with '{'.
 */
export function stripExportTimestamp(text: string): string {
  const first = text.charCodeAt(0);
  if (first < 48 || first > 57) return text;
  const space = text.indexOf(' ');
  if (space > 0 && space < 40 && text.charCodeAt(space + 1) === 123 && /^\d{4}-\d{2}-\d{2}T[\d:.]+Z?$/.test(text.slice(0, space))) return text.slice(space + 1);
  return text;
}

function parseFailure(text: string): string {
  try {
    JSON.parse(text);
    return 'not JSON';
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    return /end of JSON input|Unterminated string/.test(message) ? 'truncated JSON' : 'not JSON';
  }
}

export function createAuditAnalyzer(options: AuditAnalyzerOptions): AuditAnalyzer {
  const engine = createAuditRuleEngine(options.ruleSet);
  const detectors = createAuditDetectors(options.ruleSet, options.state);
  const maxEvidence = options.maxEvidenceBytes ?? 16 * 1024;
  const counters: AuditCounters = { records: 0, events: 0, analysed: 0, skipped: new Map(), ignoredStages: 0, candidates: 0 };
  const started = new Set<string>();

  const skip = (reason: string): void => {
    // Reasons can quote the input (an apiVersion, a log category): keep the map small.
    const key = counters.skipped.has(reason) || counters.skipped.size < MAX_SKIP_REASONS ? reason : 'other reasons';
    counters.skipped.set(key, (counters.skipped.get(key) ?? 0) + 1);
  };

  function analyzeEvent(decoded: DecodedEvent): AlertCandidate[] {
    counters.events += 1;
    const { event } = decoded;
    if (!ANALYSED_STAGES.has(event.stage)) {
      counters.ignoredStages += 1;
      return [];
    }
    // Long-running requests (exec, watch) log ResponseStarted and later ResponseComplete: judge the first.
    if (event.auditID !== '') {
      if (event.stage === 'ResponseStarted') {
        if (started.size >= MAX_REMEMBERED_STARTED) {
          const oldest = started.values().next();
          if (!oldest.done) started.delete(oldest.value);
        }
        started.add(event.auditID);
      } else if (started.delete(event.auditID)) {
        counters.ignoredStages += 1;
        return [];
      }
    }
    counters.analysed += 1;
    const f = auditFacts(event, decoded.raw, decoded.cluster);
    const out: AlertCandidate[] = [];
    for (const hit of engine.evaluate(f, () => auditVariables(f))) {
      const r = hit.rule.rule;
      const key = hit.groupKey === undefined ? undefined : `${r.id}|${f.cluster}|${hit.groupKey}`;
      out.push(candidate(f, r.id, r.title, r.severity, { tactics: r.tactics, techniques: r.techniques }, hit.message, key));
    }
    for (const d of detectors) {
      const hit = d.observe(f);
      if (hit) out.push(candidate(f, d.id, d.title, d.severity, d.mitre, hit.message, hit.groupKey));
    }
    counters.candidates += out.length;
    return out;
  }

  function candidate(
    f: AuditFacts,
    rule: string,
    title: string,
    severity: AlertCandidate['severity'],
    mitre: AlertCandidate['mitre'],
    message: string,
    groupKey?: string,
  ): AlertCandidate {
    const c: AlertCandidate = {
      rule,
      title,
      severity,
      source: 'audit',
      time: canonicalTime(f.time),
      message,
      subject: subjectOf(f),
      target: targetOf(f),
      mitre: { tactics: [...mitre.tactics], techniques: [...mitre.techniques] },
      evidence: [compactEvidence(f.raw, maxEvidence)],
    };
    if (f.cluster) c.cluster = f.cluster;
    if (groupKey !== undefined) c.groupKey = groupKey;
    return c;
  }

  function analyzeValue(value: JsonValue, cluster = ''): AlertCandidate[] {
    const decoded = decodeRecord(value, cluster);
    for (const reason of decoded.skipped) skip(reason);
    if (decoded.events.length === 1 && decoded.events[0]) return analyzeEvent(decoded.events[0]);
    const out: AlertCandidate[] = [];
    for (const e of decoded.events) out.push(...analyzeEvent(e));
    return out;
  }

  return {
    engine,
    detectors,
    analyzeEvent,
    analyzeValue,
    analyzeLine(text, cluster = '') {
      counters.records += 1;
      let value: JsonValue;
      try {
        value = parseJson(stripExportTimestamp(text));
      } catch {
        skip(parseFailure(text));
        return [];
      }
      return analyzeValue(value, cluster);
    },
    skip,
    counters: () => ({ ...counters, skipped: new Map(counters.skipped) }),
    persist() {
      for (const d of detectors) d.persist();
    },
  };
}

/** The largest audit webhook body accepted (kube-apiserver batches default to 400 events). */
export const MAX_EVENT_LIST_BYTES = 32 * 1024 * 1024;

const eventListHeadSchema = z.looseObject({
  kind: z.literal('EventList'),
  apiVersion: z.string().startsWith('audit.k8s.io/'),
  items: z.array(z.unknown()),
});

export interface EventListResult {
  candidates: AlertCandidate[];
  events: number;
  skipped: Record<string, number>;
}

/**
 * For the server's audit webhook endpoint (issue 4): one body that kube-apiserver's webhook
 * backend posted (an `audit.k8s.io/v1` EventList, as raw JSON text) → alert candidates. The route
 * authenticates the caller, bounds concurrency (answering 429 so the API server's batch backend
 * retries with back-off instead of the server buffering) and feeds the candidates to its grouper
 * and store. A malformed body is a BAD_INPUT error (the route answers 400); bad items inside a
 * good list are skipped and counted.
 */
export function analyzeEventList(body: string | Buffer, analyzer: AuditAnalyzer, cluster = ''): EventListResult {
  if (body.length > MAX_EVENT_LIST_BYTES) {
    throw new AppError('TOO_LARGE', `audit webhook body is ${body.length} bytes, over ${MAX_EVENT_LIST_BYTES}: lower --audit-webhook-batch-max-size`);
  }
  let value: JsonValue;
  try {
    value = parseJson(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    throw new AppError('BAD_INPUT', 'audit webhook body is not JSON: expected an audit.k8s.io/v1 EventList');
  }
  const head = eventListHeadSchema.safeParse(value);
  if (!head.success || !isJsonObject(value)) {
    throw new AppError('BAD_INPUT', 'audit webhook body is not an audit.k8s.io EventList: point --audit-webhook-config-file at this endpoint');
  }
  const before = analyzer.counters();
  const candidates = analyzer.analyzeValue(value, cluster);
  const after = analyzer.counters();
  const skipped: Record<string, number> = {};
  for (const [reason, n] of after.skipped) {
    const delta = n - (before.skipped.get(reason) ?? 0);
    if (delta > 0) skipped[reason] = delta;
  }
  return { candidates, events: after.events - before.events, skipped };
}
