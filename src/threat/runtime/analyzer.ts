import type { RuleSet } from '../../rules/index.js';
import type { AlertCandidate, AlertMitre, AlertSeverity, AlertSubject, AlertTarget } from '../alert.js';
import { createRuntimeDetectors, type ImageFileLookup, type RuntimeDetector } from './detectors.js';
import { createRuntimeRuleEngine, runtimeFacts, runtimeVariables, type RuntimeFacts, type RuntimeRuleEngine } from './engine.js';
import type { RuntimeEvent, RuntimeProcess } from './event.js';

/**
 * The runtime pipeline for one node: each event → rules (indexed by event kind, pre-filtered by
 * their match block, then CEL) and stateful detectors → alert candidates that name the node, the
 * container, pod and image, the process tree, and carry the event as evidence.
 */
export interface RuntimeAnalyzerOptions {
  ruleSet: RuleSet;
  /** The scanner's per-image file index for binary drift (absent: drift is not judged). */
  imageFiles?: ImageFileLookup;
  cluster?: string;
  /** Longest command line kept in evidence. Default 4 KiB. */
  maxEvidenceCmdline?: number;
}

export interface RuntimeCounters {
  events: number;
  byKind: Record<string, number>;
  candidates: number;
}

export interface RuntimeAnalyzer {
  readonly engine: RuntimeRuleEngine;
  readonly detectors: readonly RuntimeDetector[];
  analyze(event: RuntimeEvent): AlertCandidate[];
  counters(): RuntimeCounters;
}

function cap(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The event made small: what an analyst needs to see, nothing unbounded. */
export function runtimeEvidence(event: RuntimeEvent, maxCmdline: number): Record<string, unknown> {
  const p = event.process;
  const proc = (x: RuntimeProcess) => ({
    pid: x.pid,
    ppid: x.ppid,
    name: x.name,
    exe: x.exe,
    cmdline: cap(x.cmdline, maxCmdline),
    cwd: x.cwd,
    uid: x.uid,
    gid: x.gid,
    startTime: x.startTime,
    capEff: x.capEff,
    stdin: x.stdin,
    stdout: x.stdout,
    nsChanged: x.nsChanged,
    truncated: x.truncated,
    tree: x.ancestors.map((a) => ({ pid: a.pid, name: a.name, exe: a.exe, cmdline: cap(a.cmdline, 512) })),
  });
  const out: Record<string, unknown> = { kind: event.kind, time: event.time, node: event.node, source: event.source, process: proc(p) };
  out.container = p.container ?? { host: true };
  if ('connection' in event) out.connection = event.connection;
  if (event.kind === 'open') out.file = event.file;
  if (event.kind === 'signal') out.signalTarget = { ...event.target, signal: event.signal };
  return out;
}

function subjectOf(event: RuntimeEvent): AlertSubject {
  const subject: AlertSubject = { user: `uid:${event.process.uid}`, groups: [], sourceIPs: [] };
  if ('connection' in event && event.connection.remoteIP !== '') subject.sourceIPs.push(event.connection.remoteIP);
  return subject;
}

function targetOf(event: RuntimeEvent): AlertTarget {
  const c = event.process.container;
  if (c === undefined) return { resource: 'nodes', name: event.node, node: event.node };
  const t: AlertTarget = { node: event.node, container: c.name || c.id };
  if (c.podName) {
    t.resource = 'pods';
    t.namespace = c.podNamespace;
    t.name = c.podName;
  }
  if (c.image || c.imageDigest) t.image = c.image || c.imageDigest;
  return t;
}

/** One alert per rule, node, container (or host) and executable; connections also by peer. */
function groupKeyOf(rule: string, event: RuntimeEvent): string {
  const peer = 'connection' in event ? `${event.connection.remoteIP}:${event.connection.remotePort}` : '';
  return [rule, event.node, event.process.container?.id ?? 'host', event.process.exe || event.process.name, peer].join('|');
}

export function createRuntimeAnalyzer(options: RuntimeAnalyzerOptions): RuntimeAnalyzer {
  const engine = createRuntimeRuleEngine(options.ruleSet);
  const detectors = createRuntimeDetectors(options.ruleSet, { imageFiles: options.imageFiles });
  const maxCmdline = options.maxEvidenceCmdline ?? 4096;
  const counters: RuntimeCounters = { events: 0, byKind: {}, candidates: 0 };

  function candidate(f: RuntimeFacts, rule: string, title: string, severity: AlertSeverity, mitre: AlertMitre, message: string, groupKey?: string): AlertCandidate {
    const e = f.event;
    const c: AlertCandidate = {
      rule,
      title,
      severity,
      source: 'runtime',
      time: e.time,
      message,
      subject: subjectOf(e),
      target: targetOf(e),
      mitre: { tactics: [...mitre.tactics], techniques: [...mitre.techniques] },
      evidence: [runtimeEvidence(e, maxCmdline)],
      groupKey: groupKey ?? groupKeyOf(rule, e),
    };
    if (options.cluster) c.cluster = options.cluster;
    return c;
  }

  return {
    engine,
    detectors,
    analyze(event) {
      counters.events += 1;
      counters.byKind[event.kind] = (counters.byKind[event.kind] ?? 0) + 1;
      const f = runtimeFacts(event);
      const out: AlertCandidate[] = [];
      for (const hit of engine.evaluate(f, () => runtimeVariables(f))) {
        const r = hit.rule.rule;
        out.push(candidate(f, r.id, r.title, r.severity, { tactics: r.tactics, techniques: r.techniques }, hit.message));
      }
      for (const d of detectors) {
        const hit = d.observe(f);
        if (hit) out.push(candidate(f, d.id, d.title, d.severity, d.mitre, hit.message, hit.groupKey));
      }
      counters.candidates += out.length;
      return out;
    },
    counters: () => ({ ...counters, byKind: { ...counters.byKind } }),
  };
}
