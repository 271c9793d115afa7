import { z } from 'zod';
import { AppError } from '../../core/index.js';
import { keywordSet, type KeywordSet, type RuleSet, type RuleSeverity } from '../../rules/index.js';
import type { AlertMitre } from '../alert.js';
import type { RuntimeFacts } from './engine.js';

/**
 * Stateful runtime detectors: code behind the same alert model as rules. Each has an id, title,
 * severity and MITRE tags like a rule, settings in `params:` blocks of the rule files (a user rules
 * directory overrides them key by key), and samples (`detectors/<id>.samples.yaml`) that the one
 * generic test runs. They work on event time and hold bounded state.
 */
export interface DetectorHit {
  message: string;
  groupKey?: string;
}

export interface RuntimeDetector {
  readonly id: string;
  readonly title: string;
  readonly severity: RuleSeverity;
  readonly mitre: AlertMitre;
  observe(f: RuntimeFacts): DetectorHit | undefined;
}

/** The scanner's per-image file index: absolute paths of regular files and links, or undefined when the image was never scanned. */
export type ImageFileLookup = (imageDigest: string) => ReadonlySet<string> | undefined;

export interface RuntimeDetectorDeps {
  imageFiles?: ImageFileLookup;
}

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const durationSchema = z.string().transform((text, ctx) => {
  const m = DURATION.exec(text.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `'${text}' is not a duration like 10s, 5m or 1h` });
    return z.NEVER;
  }
  return Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000);
});

function params<T extends z.ZodType>(set: RuleSet, id: string, schema: T): z.output<T> {
  const parsed = schema.safeParse(set.params.get(id) ?? {});
  if (!parsed.success) {
    throw new AppError('BAD_INPUT', `params of detector ${id} are malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

function listValues(set: RuleSet, values: readonly string[], where: string): string[] {
  const out: string[] = [];
  for (const v of values) {
    if (v.startsWith('$')) {
      const list = set.lists.get(v.slice(1));
      if (list === undefined) throw new AppError('BAD_INPUT', `${where} names unknown list ${v}: define it under 'lists'`);
      out.push(...list);
    } else out.push(v);
  }
  return out;
}

function matches(set: KeywordSet, value: string): boolean {
  if (set.any || set.exact.has(value)) return true;
  for (const p of set.prefixes) if (value.startsWith(p)) return true;
  return false;
}

function timeMs(f: RuntimeFacts): number {
  const ms = Date.parse(f.event.time);
  return Number.isNaN(ms) ? 0 : ms;
}

/** Where a process runs, for keys: the container id, or `host`. */
function placeKey(f: RuntimeFacts): string {
  return f.event.process.container?.id ?? 'host';
}

/** Drops the oldest entries of an insertion-ordered map beyond `max`. */
function bound<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done) return;
    map.delete(oldest.value);
  }
}

// ---------------------------------------------------------------------------------------------
// K8S.NODE_ReconnaissanceArtifactsBurst

export const RECON_BURST_ID = 'K8S.NODE_ReconnaissanceArtifactsBurst';

const reconParamsSchema = z.object({
  commands: z.array(z.string()).default(['$recon_commands']),
  /** Distinct reconnaissance commands within `window` in one container (or one host session) that make a burst. */
  threshold: z.number().int().min(2).default(5),
  window: durationSchema.default(30_000),
  /** Host processes are keyed by their parent (one shell session); containers by container. */
  maxKeys: z.number().int().positive().default(10_000),
});

export function createReconBurstDetector(set: RuleSet): RuntimeDetector {
  const p = params(set, RECON_BURST_ID, reconParamsSchema);
  const commands = new Set(listValues(set, p.commands, `detector ${RECON_BURST_ID}`));
  const seen = new Map<string, { commands: Map<string, number>; firedAt: number }>();
  return {
    id: RECON_BURST_ID,
    title: 'Burst of multiple reconnaissance commands could indicate initial activity after compromise',
    severity: 'low',
    mitre: { tactics: ['Discovery', 'Collection'], techniques: ['T1082', 'T1016', 'T1057', 'T1087'] },
    observe(f) {
      if (f.kind !== 'exec') return undefined;
      const name = f.names.find((n) => commands.has(n));
      if (name === undefined) return undefined;
      const at = timeMs(f);
      const key = f.event.process.container ? placeKey(f) : `host:${f.event.process.ppid}`;
      let entry = seen.get(key);
      if (entry === undefined) {
        entry = { commands: new Map(), firedAt: Number.NEGATIVE_INFINITY };
        seen.set(key, entry);
        bound(seen, p.maxKeys);
      }
      for (const [cmd, when] of entry.commands) if (at - when > p.window) entry.commands.delete(cmd);
      entry.commands.set(name, at);
      if (entry.commands.size < p.threshold || at - entry.firedAt <= p.window) return undefined;
      entry.firedAt = at;
      const list = [...entry.commands.keys()].sort().join(', ');
      const where = f.event.process.container ? `container ${f.event.process.container.podName || f.event.process.container.id.slice(0, 12)}` : `host session of pid ${f.event.process.ppid}`;
      return {
        message: `${entry.commands.size} reconnaissance commands within ${p.window / 1000}s in ${where} on ${f.event.node || '(node)'}: ${list}`,
        groupKey: `${RECON_BURST_ID}|${f.event.node}|${key}|${Math.floor(at / p.window)}`,
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// PAL_DropThenExec: a file made executable or downloaded into a temporary folder, then run

export const DROP_THEN_EXEC_ID = 'PAL_DropThenExec';

const dropParamsSchema = z.object({
  dirs: z.array(z.string()).default(['$temp_dirs']),
  window: durationSchema.default(600_000),
  maxPaths: z.number().int().positive().default(10_000),
});

/** Paths a command makes executable (`chmod +x P`, `chmod 755 P`) or downloads to (`curl -o P`, `wget -O P`). */
export function droppedPaths(args: readonly string[]): string[] {
  const name = (args[0] ?? '').split('/').pop() ?? '';
  const out: string[] = [];
  if (name === 'chmod') {
    const mode = args.slice(1).find((a) => !a.startsWith('-'));
    if (mode !== undefined && (/\+[rwX]*x/.test(mode) || /^[0-7]*[1357][0-7]{0,2}$/.test(mode))) {
      const rest = args.slice(args.indexOf(mode) + 1).filter((a) => !a.startsWith('-'));
      out.push(...rest);
    }
  } else if (name === 'curl' || name === 'wget') {
    for (let i = 1; i < args.length; i++) {
      const a = args[i] ?? '';
      if ((a === '-o' || a === '-O' || a === '--output' || a === '--output-document') && args[i + 1] !== undefined) out.push(args[i + 1] ?? '');
      else if (a.startsWith('--output=') || a.startsWith('--output-document=')) out.push(a.slice(a.indexOf('=') + 1));
    }
  }
  return out.filter((p) => p.startsWith('/'));
}

export function createDropThenExecDetector(set: RuleSet): RuntimeDetector {
  const p = params(set, DROP_THEN_EXEC_ID, dropParamsSchema);
  const dirs = listValues(set, p.dirs, `detector ${DROP_THEN_EXEC_ID}`);
  const dropped = new Map<string, { at: number; by: string }>();
  return {
    id: DROP_THEN_EXEC_ID,
    title: 'File dropped in a temporary folder then executed',
    severity: 'medium',
    mitre: { tactics: ['Execution', 'CommandAndControl'], techniques: ['T1105', 'T1222.002'] },
    observe(f) {
      if (f.kind !== 'exec') return undefined;
      const proc = f.event.process;
      const at = timeMs(f);
      for (const path of droppedPaths(proc.args)) {
        if (!dirs.some((d) => path.startsWith(d))) continue;
        const key = `${placeKey(f)}\u0000${path}`;
        dropped.delete(key);
        dropped.set(key, { at, by: proc.cmdline.slice(0, 200) });
        bound(dropped, p.maxPaths);
      }
      if (proc.exe === '') return undefined;
      const key = `${placeKey(f)}\u0000${proc.exe}`;
      const drop = dropped.get(key);
      if (drop === undefined || at - drop.at > p.window || at < drop.at) return undefined;
      dropped.delete(key);
      return {
        message: `${proc.exe} ran in ${proc.container ? `container ${proc.container.podName || proc.container.id.slice(0, 12)}` : 'the host'} on ${f.event.node || '(node)'} ${Math.round((at - drop.at) / 1000)}s after \`${drop.by}\``,
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// PAL_BinaryDrift: an executable that is not in the container's image

export const DRIFT_ID = 'PAL_BinaryDrift';

const driftPolicySchema = z.strictObject({
  namespaces: z.array(z.string()).optional(),
  images: z.array(z.string()).optional(),
  action: z.enum(['alert', 'ignore']),
});
const driftParamsSchema = z.object({
  /** What happens where no policy matches. */
  default: z.enum(['alert', 'ignore']).default('alert'),
  /** First match wins; `namespaces` and `images` take `*`, `prefix*` and `$lists`. */
  policies: z.array(driftPolicySchema).default([]),
});

export interface DriftCounters {
  judged: number;
  drift: number;
  /** Container executions whose image has no file index (never scanned) or no digest. */
  unknownImage: number;
  ignoredByPolicy: number;
}

export function normaliseExePath(exe: string): string {
  const path = exe.endsWith(' (deleted)') ? exe.slice(0, -' (deleted)'.length) : exe;
  return path.startsWith('/') ? path : `/${path}`;
}

export function createDriftDetector(set: RuleSet, lookup: ImageFileLookup | undefined): RuntimeDetector & { counters(): DriftCounters } {
  const p = params(set, DRIFT_ID, driftParamsSchema);
  const policies = p.policies.map((pol) => ({
    namespaces: pol.namespaces && keywordSet(listValues(set, pol.namespaces, `detector ${DRIFT_ID}`)),
    images: pol.images && keywordSet(listValues(set, pol.images, `detector ${DRIFT_ID}`)),
    action: pol.action,
  }));
  const counters: DriftCounters = { judged: 0, drift: 0, unknownImage: 0, ignoredByPolicy: 0 };
  const actionFor = (namespace: string, image: string): 'alert' | 'ignore' => {
    for (const pol of policies) {
      if (pol.namespaces && !matches(pol.namespaces, namespace)) continue;
      if (pol.images && !matches(pol.images, image)) continue;
      return pol.action;
    }
    return p.default;
  };
  return {
    id: DRIFT_ID,
    title: 'Drift binary detected executing in the container',
    severity: 'high',
    mitre: { tactics: ['Execution', 'DefenseEvasion'], techniques: ['T1204.002', 'T1105'] },
    counters: () => ({ ...counters }),
    observe(f) {
      if (f.kind !== 'exec' || lookup === undefined) return undefined;
      const c = f.event.process.container;
      if (c === undefined || f.event.process.exe === '') return undefined;
      if (actionFor(c.podNamespace, c.image) === 'ignore') {
        counters.ignoredByPolicy += 1;
        return undefined;
      }
      const files = c.imageDigest === '' ? undefined : lookup(c.imageDigest);
      if (files === undefined) {
        counters.unknownImage += 1;
        return undefined;
      }
      counters.judged += 1;
      const exe = f.event.process.exe;
      const path = normaliseExePath(exe);
      if (files.has(path) && !exe.endsWith(' (deleted)')) return undefined;
      counters.drift += 1;
      return {
        message: `${exe} is not in image ${c.image || c.imageDigest} yet runs in ${c.podNamespace ? `${c.podNamespace}/${c.podName}` : `container ${c.id.slice(0, 12)}`} on ${f.event.node || '(node)'}: ${f.event.process.cmdline.slice(0, 200)}`,
        groupKey: `${DRIFT_ID}|${f.event.node}|${c.id}|${path}`,
      };
    },
  };
}

export const RUNTIME_DETECTOR_IDS = [RECON_BURST_ID, DROP_THEN_EXEC_ID, DRIFT_ID] as const;

export function createRuntimeDetectors(set: RuleSet, deps: RuntimeDetectorDeps = {}): RuntimeDetector[] {
  return [createReconBurstDetector(set), createDropThenExecDetector(set), createDriftDetector(set, deps.imageFiles)];
}
