import { readFileSync } from 'node:fs';
import { celList, isCelList, parse, plan, isCelError, type CelInput } from '@bufbuild/cel';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError, errorMessage, severityRank, SEVERITIES, type Severity } from '../../core/index.js';
import { createCelEnv } from '../../rules/cel.js';
import { celGraph, celListItems, createCelConverter } from '../celview.js';
import type { KubeGraph } from '../graph.js';

/**
 * Posture recommendations as data (recommendations.yaml): a CEL condition over one node kind of the
 * graph, with severity and remediation. The engine compiles each condition once, evaluates it on
 * every node of its target kind, and names the affected resources (the controller for pods and
 * containers, so ten replicas of a Deployment are one resource).
 */

export const TARGETS = ['container', 'pod', 'namespace', 'service', 'ingress', 'binding', 'role'] as const;
export type Target = (typeof TARGETS)[number];

const VARIABLE: Record<Target, string> = { container: 'c', pod: 'p', namespace: 'ns', service: 'svc', ingress: 'ing', binding: 'b', role: 'r' };

export const RecommendationSpecSchema = z.object({
  id: z.string().regex(/^[A-Z]+-\d+$/),
  title: z.string().min(1),
  severity: z.enum(SEVERITIES),
  category: z.enum(['workload', 'vulnerability', 'rbac', 'network']),
  target: z.enum(TARGETS),
  condition: z.string().min(1),
  remediation: z.string().min(1),
});
export type RecommendationSpec = z.infer<typeof RecommendationSpecSchema>;

export const PostureSettingsSchema = z.object({
  excludedNamespaces: z.array(z.string()),
  trustedRegistries: z.array(z.string()),
  allowedCapabilities: z.array(z.string()),
  allowedPullPolicies: z.array(z.string()),
  allowedHostPaths: z.array(z.string()),
  adminUiImages: z.array(z.string()),
  builtinRoles: z.array(z.string()),
});
export type PostureSettings = z.infer<typeof PostureSettingsSchema>;

export interface AffectedResource {
  cluster: string;
  kind: string;
  namespace: string;
  name: string;
  /** The container, for container checks; '' otherwise. */
  container: string;
  detail: string;
}

export interface Recommendation {
  id: string;
  title: string;
  severity: Severity;
  category: RecommendationSpec['category'];
  remediation: string;
  resources: AffectedResource[];
}

export interface PostureReport {
  recommendations: Recommendation[];
  /** Conditions that failed on some node (a bug in a custom recommendation): id → first error. */
  errors: Record<string, string>;
}

function readYaml(name: string): unknown {
  return parseYaml(readFileSync(new URL(`./${name}`, import.meta.url), 'utf8'));
}

let specsCache: RecommendationSpec[] | undefined;
let settingsCache: PostureSettings | undefined;
let envCache: ReturnType<typeof createCelEnv> | undefined;

/** The built-in recommendations (recommendations.yaml), read once. */
export function loadRecommendationSpecs(): RecommendationSpec[] {
  specsCache ??= z.object({ recommendations: z.array(RecommendationSpecSchema) }).parse(readYaml('recommendations.yaml')).recommendations;
  return specsCache;
}

/** The default settings (settings.yaml), read once; callers get their own copy. */
export function loadDefaultSettings(): PostureSettings {
  settingsCache ??= PostureSettingsSchema.parse(readYaml('settings.yaml'));
  return structuredClone(settingsCache);
}

function celEnvOnce(): ReturnType<typeof createCelEnv> {
  envCache ??= createCelEnv();
  return envCache;
}

/** Settings from a user file: any subset of settings.yaml's keys, the rest keep their defaults. */
export function mergeSettings(base: PostureSettings, override: unknown, source: string): PostureSettings {
  const parsed = PostureSettingsSchema.partial().strict().safeParse(override);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('BAD_INPUT', `${source}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}; allowed keys: ${Object.keys(PostureSettingsSchema.shape).join(', ')}`);
  }
  return { ...base, ...parsed.data };
}

type Program = (bindings: Record<string, CelInput>) => unknown;

interface Compiled {
  spec: RecommendationSpec;
  program: Program;
}

export function compileRecommendations(specs: readonly RecommendationSpec[]): Compiled[] {
  const env = celEnvOnce();
  return specs.map((spec) => {
    try {
      return { spec, program: plan(env, parse(spec.condition)) };
    } catch (error) {
      throw new AppError('BAD_INPUT', `recommendation ${spec.id}: the condition does not parse (${errorMessage(error)})`);
    }
  });
}

function splitOwner(owner: string): { kind: string; namespace: string; name: string } {
  const [kind = '', namespace = '', ...rest] = owner.split('/');
  return { kind, namespace, name: rest.join('/') };
}

/**
 * One node a target's conditions are evaluated on. Nodes with the same key give the same answer
 * and name the same resource (the replicas of one controller: same owner, container, image and
 * exposure), so only the first node of a key is a subject: it is evaluated once and, when a
 * condition holds, it is the one reported (its resource and detail).
 */
interface Subject {
  /** The views the condition reads, converted to CEL values only when evaluated. */
  views: Record<string, unknown>;
  resource: AffectedResource;
  /** resourceKey(resource), computed once. */
  resourceKey: string;
  /** The pod's violated baseline checks, for the detail of KP-019. */
  pss?: readonly string[];
  /** The CEL bindings, made when the subject is first evaluated on its own. */
  bindings?: Record<string, CelInput>;
}

function subjects(graph: KubeGraph, target: Target, settings: PostureSettings): Subject[] {
  const excluded = new Set(settings.excludedNamespaces);
  const byKey = new Map<string, Subject>();
  const push = (bindings: Record<string, unknown>, resource: AffectedResource, key?: string, pss?: readonly string[]): void => {
    const rkey = resourceKey(resource);
    if (!byKey.has(key ?? rkey)) byKey.set(key ?? rkey, { views: bindings, resource, resourceKey: rkey, ...(pss ? { pss } : {}) });
  };
  switch (target) {
    case 'container':
      for (const p of graph.pods) {
        if (excluded.has(p.namespace)) continue;
        for (const c of p.containers) {
          const key = `${p.cluster}\u0000${p.owner}\u0000${c.name}\u0000${c.image}\u0000${c.imageRef.digest}`;
          if (!byKey.has(key)) push({ c, p }, { cluster: p.cluster, ...splitOwner(p.owner), container: c.name, detail: `image ${c.image}` }, key);
        }
      }
      break;
    case 'pod':
      for (const p of graph.pods) {
        if (excluded.has(p.namespace)) continue;
        const key = `${p.cluster}\u0000${p.owner}\u0000${p.exposures.length}\u0000${p.naked}`;
        if (!byKey.has(key)) push({ p }, { cluster: p.cluster, ...splitOwner(p.owner), container: '', detail: '' }, key, p.pssBaseline);
      }
      break;
    case 'namespace':
      for (const ns of graph.namespaces) push({ ns }, { cluster: ns.cluster, kind: 'Namespace', namespace: '', name: ns.name, container: '', detail: '' });
      break;
    case 'service':
      for (const svc of graph.services) {
        push({ svc }, { cluster: svc.cluster, kind: 'Service', namespace: svc.namespace, name: svc.name, container: '', detail: '' });
      }
      break;
    case 'ingress':
      for (const ing of graph.ingresses) {
        push({ ing }, { cluster: ing.cluster, kind: 'Ingress', namespace: ing.namespace, name: ing.name, container: '', detail: '' });
      }
      break;
    case 'binding':
      for (const b of graph.bindings) {
        const subjectsText = b.subjects.map((s) => (s.kind === 'ServiceAccount' ? `ServiceAccount ${s.namespace}/${s.name}` : `${s.kind} ${s.name}`)).join(', ');
        push({ b }, { cluster: b.cluster, kind: b.bindingKind, namespace: b.namespace, name: b.name, container: '', detail: `${b.role} → ${subjectsText}` });
      }
      break;
    case 'role':
      for (const r of graph.roles) push({ r }, { cluster: r.cluster, kind: r.roleKind, namespace: r.namespace, name: r.name, container: '', detail: '' });
      break;
  }
  return [...byKey.values()];
}

function detailFor(spec: RecommendationSpec, subject: Subject): string {
  if (spec.id === 'KP-019' && subject.pss !== undefined) return `violates ${subject.pss.join(', ')}`;
  return subject.resource.detail;
}

export function resourceKey(r: AffectedResource): string {
  return [r.cluster, r.kind, r.namespace, r.name, r.container].join('\u0000');
}

export interface PostureOptions {
  settings?: PostureSettings;
  specs?: readonly RecommendationSpec[];
}

/**
 * Evaluates several conditions of one target over every subject in one CEL program
 * (`items.map(c, [cond1, cond2, …])`): one evaluation per target instead of one per node and
 * recommendation. Returns undefined when the combined program fails (a condition reads a variable
 * other than the target's, or errors on some node); the caller then evaluates one by one.
 */
function evaluateTogether(env: ReturnType<typeof createCelEnv>, target: Target, specs: readonly RecommendationSpec[], items: CelInput, settings: CelInput): boolean[][] | undefined {
  const variable = VARIABLE[target];
  let program: Program;
  try {
    program = plan(env, parse(`items.map(${variable}, [${specs.map((s) => `(${s.condition}) == true`).join(', ')}])`));
  } catch {
    return undefined;
  }
  let result: unknown;
  try {
    result = program({ items, settings });
  } catch {
    return undefined;
  }
  if (isCelError(result) || !isCelList(result)) return undefined;
  const out: boolean[][] = [];
  for (const row of celListItems(result)) {
    if (!isCelList(row)) return undefined;
    out.push(celListItems(row).map((v) => v === true));
  }
  return out;
}

/** Evaluates every recommendation over the graph. Recommendations with no affected resource are left out. */
export function runPosture(graph: KubeGraph, options: PostureOptions = {}): PostureReport {
  const settings = options.settings ?? loadDefaultSettings();
  const specs = options.specs ?? loadRecommendationSpecs();
  const compiled = compileRecommendations(specs);
  const env = celEnvOnce();
  const errors: Record<string, string> = {};
  const celSettings = createCelConverter()(settings);
  const cel = celGraph(graph).convert;
  const found = new Map<string, Map<string, AffectedResource>>();
  const mark = (spec: RecommendationSpec, subject: Subject): void => {
    let map = found.get(spec.id);
    if (map === undefined) {
      map = new Map();
      found.set(spec.id, map);
    }
    if (!map.has(subject.resourceKey)) map.set(subject.resourceKey, { ...subject.resource, detail: detailFor(spec, subject) });
  };

  for (const target of TARGETS) {
    const mine = compiled.filter((c) => c.spec.target === target);
    if (mine.length === 0) continue;
    const list = subjects(graph, target, settings);
    const variable = VARIABLE[target];
    const items = celList(list.map((subject) => cel(subject.views[variable])));
    const together = evaluateTogether(env, target, mine.map((c) => c.spec), items, celSettings);
    if (together !== undefined) {
      list.forEach((subject, i) => {
        const row = together[i] ?? [];
        mine.forEach((c, j) => {
          if (row[j] === true) mark(c.spec, subject);
        });
      });
      continue;
    }
    for (const { spec, program } of mine) {
      for (const subject of list) {
        if (subject.bindings === undefined) {
          const bindings: Record<string, CelInput> = { settings: celSettings };
          for (const [name, view] of Object.entries(subject.views)) bindings[name] = cel(view);
          subject.bindings = bindings;
        }
        let value: unknown;
        try {
          value = program(subject.bindings);
        } catch (error) {
          errors[spec.id] ??= errorMessage(error);
          continue;
        }
        if (isCelError(value)) {
          errors[spec.id] ??= value.message;
          continue;
        }
        if (value === true) mark(spec, subject);
      }
    }
  }

  const recommendations: Recommendation[] = [];
  for (const { spec } of compiled) {
    const map = found.get(spec.id);
    if (map === undefined || map.size === 0) continue;
    const resources = [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
    recommendations.push({ id: spec.id, title: spec.title, severity: spec.severity, category: spec.category, remediation: spec.remediation, resources });
  }
  recommendations.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || (a.id < b.id ? -1 : 1));
  return { recommendations, errors };
}

export { VARIABLE as TARGET_VARIABLES };
