import { z } from 'zod';
import { AppError, errorMessage, type Clock, type Logger } from '../core/index.js';
import { parseImageReference, type RegistryClient } from '../image/index.js';
import { globToRegExp, isJson, podTargetOf, selectorMatches, type AdmissionInput, type Json, type Violation } from './engine.js';
import type { Effect, GatingConfig, GatingRule } from './schema.js';

/**
 * Gated deployment: refuse, warn about or audit pods whose images have findings at or above a
 * severity, or named advisories, from the scanner's stored results (looked up by image digest;
 * tags resolved through the registry). Rules are tried in order; the first whose scope matches a
 * container's image decides for it. Time-limited exemptions by image and finding. Images with no
 * stored result are allowed, audited, denied, or waited for (bounded by the request deadline).
 */

export type ScanStatus = 'pending' | 'done' | 'failed' | 'unknown';

export interface StoredFinding {
  id: string;
  aliases?: string[];
  severity: 'critical' | 'high' | 'medium' | 'low' | 'negligible' | 'unknown';
  /** A fixed version exists. */
  fixed: boolean;
}

export interface ImageFindings {
  status: ScanStatus;
  findings: StoredFinding[];
}

/** What gating needs of the server: the stored results of one image digest. */
export interface FindingsLookup {
  byDigest(digest: string): Promise<ImageFindings>;
}

/** Turns an image reference into a manifest digest (undefined when it cannot be resolved). */
export type DigestResolver = (image: string) => Promise<string | undefined>;

const SEVERITY = z.enum(['critical', 'high', 'medium', 'low', 'negligible', 'unknown']);

/** Either the compact shape or palisade server's own findings (advisoryId, fixedVersions, disabledBy). */
const findingSchema = z.union([
  z
    .object({ id: z.string(), aliases: z.array(z.string()).optional(), severity: SEVERITY, fixed: z.boolean() })
    .transform((f): StoredFinding | undefined => ({ id: f.id, aliases: f.aliases ?? [], severity: f.severity, fixed: f.fixed })),
  z
    .object({
      advisoryId: z.string(),
      aliases: z.array(z.string()).default([]),
      severity: SEVERITY,
      fixState: z.string().optional(),
      fixedVersions: z.array(z.string()).default([]),
      disabledBy: z.unknown().optional(),
    })
    .transform((f): StoredFinding | undefined =>
      f.disabledBy === undefined
        ? { id: f.advisoryId, aliases: f.aliases, severity: f.severity, fixed: f.fixState === 'fixed' || f.fixedVersions.length > 0 }
        : undefined,
    ),
]);

const findingsResponseSchema = z.object({
  status: z.enum(['pending', 'done', 'failed', 'unknown']),
  findings: z.array(findingSchema).max(200_000),
});

export interface HttpFindingsOptions {
  /** Base URL of palisade server, e.g. https://palisade.palisade-system.svc:8443 */
  server: string;
  token?: string;
  timeoutMs?: number;
  /** How long a `done` answer is reused, ms (default 60 s); pending/unknown answers 2 s. */
  cacheMs?: number;
  clock: Clock;
  fetch?: typeof fetch;
}

/**
 * `GET {server}/api/v1/images/{digest}/findings` → `{ status: pending|done|failed, findings[] }` where a
 * finding is palisade server's (`advisoryId`, `aliases`, `severity`, `fixState`, `fixedVersions`,
 * `disabledBy` — disabled findings are ignored) or the compact `{ id, aliases?, severity, fixed }`.
 * 404 means the server has never seen the image (status unknown). Answers are cached briefly.
 */
export function createHttpFindingsLookup(options: HttpFindingsOptions): FindingsLookup {
  const doFetch = options.fetch ?? fetch;
  const cache = new Map<string, { at: number; value: ImageFindings }>();
  const base = options.server.replace(/\/+$/, '');
  return {
    async byDigest(digest) {
      const now = options.clock.now().getTime();
      const hit = cache.get(digest);
      if (hit) {
        const ttl = hit.value.status === 'done' ? (options.cacheMs ?? 60_000) : 2_000;
        if (now - hit.at < ttl) return hit.value;
      }
      const url = `${base}/api/v1/images/${encodeURIComponent(digest)}/findings`;
      let response: Response;
      try {
        response = await doFetch(url, {
          headers: { accept: 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
          signal: AbortSignal.timeout(options.timeoutMs ?? 2_000),
        });
      } catch (error) {
        throw new AppError('UPSTREAM', `cannot reach the findings API at ${url}: ${errorMessage(error)}`);
      }
      let value: ImageFindings;
      if (response.status === 404) {
        await response.body?.cancel();
        value = { status: 'unknown', findings: [] };
      } else if (!response.ok) {
        await response.body?.cancel();
        throw new AppError('UPSTREAM', `the findings API answered ${response.status} for ${digest}`);
      } else {
        const parsed = findingsResponseSchema.safeParse(await response.json());
        if (!parsed.success) throw new AppError('UPSTREAM', `the findings API answered an unexpected body for ${digest}: ${parsed.error.issues[0]?.message ?? ''}`);
        value = { status: parsed.data.status, findings: parsed.data.findings.filter((f): f is StoredFinding => f !== undefined) };
      }
      if (cache.size > 10_000) cache.clear();
      cache.set(digest, { at: now, value });
      return value;
    },
  };
}

/** Digest of an image: the one pinned in the reference, or the registry's answer for its tag. */
export function createRegistryDigestResolver(client: RegistryClient, clock: Clock, cacheMs = 300_000): DigestResolver {
  const cache = new Map<string, { at: number; digest: string }>();
  return async (image) => {
    const ref = parseImageReference(image);
    if (ref.digest) return ref.digest;
    const now = clock.now().getTime();
    const hit = cache.get(image);
    if (hit && now - hit.at < cacheMs) return hit.digest;
    const manifest = await client.getManifest({ registry: ref.registry, repository: ref.repository }, ref.tag ?? 'latest');
    if (cache.size > 10_000) cache.clear();
    cache.set(image, { at: now, digest: manifest.digest });
    return manifest.digest;
  };
}

/** Digest pinned in the image reference only (no registry access). */
export const pinnedDigestOnly: DigestResolver = async (image) => {
  try {
    return parseImageReference(image).digest;
  } catch {
    return undefined;
  }
};

const SEVERITY_RANK: Record<StoredFinding['severity'], number> = { critical: 5, high: 4, medium: 3, low: 2, negligible: 1, unknown: 0 };

export interface ImageGate {
  /** Violations for the pod (or template) of this request; never throws, never exceeds `deadline`. */
  check(input: AdmissionInput, deadline: number): Promise<{ violations: Violation[]; warnings: string[] }>;
}

export interface ImageGateDeps {
  config: GatingConfig;
  lookup: FindingsLookup;
  resolve: DigestResolver;
  clock: Clock;
  log: Logger;
  sleep?: (ms: number) => Promise<void>;
}

interface CompiledRule {
  rule: GatingRule;
  images: RegExp[] | undefined;
  excludedImages: RegExp[];
  cves: Set<string>;
}

function containersOf(pod: Json): Array<{ name: string; image: string; path: string }> {
  const out: Array<{ name: string; image: string; path: string }> = [];
  const spec = pod.spec;
  if (!isJson(spec)) return out;
  for (const field of ['initContainers', 'containers', 'ephemeralContainers'] as const) {
    const list = spec[field];
    if (!Array.isArray(list)) continue;
    list.forEach((c: unknown, i) => {
      if (isJson(c) && typeof c.image === 'string') out.push({ name: typeof c.name === 'string' ? c.name : '', image: c.image, path: `spec.${field}[${i}]` });
    });
  }
  return out;
}

function labelsOf(obj: Json | null): Record<string, string> {
  const meta = obj?.metadata;
  const labels = isJson(meta) ? meta.labels : undefined;
  const out: Record<string, string> = {};
  if (isJson(labels)) for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

function timeout(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(() => resolve('timeout'), Math.max(0, ms)).unref());
}

export function createImageGate(deps: ImageGateDeps): ImageGate {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref()));
  const rules: CompiledRule[] = deps.config.rules.map((rule) => ({
    rule,
    images: rule.scope.images?.map(globToRegExp),
    excludedImages: (rule.scope.excludedImages ?? []).map(globToRegExp),
    cves: new Set(rule.cves),
  }));

  const ruleFor = (input: AdmissionInput, subject: Json | null, container: { name: string; image: string }): CompiledRule | undefined => {
    for (const c of rules) {
      const s = c.rule.scope;
      if (s.namespaces && !s.namespaces.includes(input.namespace)) continue;
      if (s.excludedNamespaces?.includes(input.namespace)) continue;
      if (s.labelSelector && !selectorMatches(s.labelSelector, labelsOf(subject))) continue;
      if (c.images && !c.images.some((re) => re.test(container.image))) continue;
      if (c.excludedImages.some((re) => re.test(container.image))) continue;
      if (s.excludedContainers?.includes(container.name)) continue;
      return c;
    }
    return undefined;
  };

  const breaking = (c: CompiledRule, image: string, findings: readonly StoredFinding[]): StoredFinding[] => {
    const now = deps.clock.now().getTime();
    const exemptions = c.rule.exemptions.filter(
      (e) => Date.parse(e.until) > now && (e.images === undefined || e.images.some((p) => globToRegExp(p).test(image))),
    );
    const min = c.rule.minSeverity ? SEVERITY_RANK[c.rule.minSeverity] : Number.POSITIVE_INFINITY;
    return findings.filter((f) => {
      const ids = [f.id, ...(f.aliases ?? [])];
      const named = ids.some((id) => c.cves.has(id));
      if (!named && SEVERITY_RANK[f.severity] < min) return false;
      if (!named && c.rule.fixedOnly && !f.fixed) return false;
      return !exemptions.some((e) => e.findings === undefined || ids.some((id) => e.findings?.includes(id)));
    });
  };

  const effectOf = (action: 'allow' | 'audit' | 'deny'): Exclude<Effect, 'Disabled'> | undefined =>
    action === 'deny' ? 'Deny' : action === 'audit' ? 'Audit' : undefined;

  async function lookupWithWait(digest: string, deadline: number): Promise<ImageFindings> {
    let result = await deps.lookup.byDigest(digest);
    if (result.status === 'done' || deps.config.unscanned.action !== 'wait') return result;
    const until = Math.min(deadline, deps.clock.now().getTime() + deps.config.unscanned.waitSeconds * 1000);
    while (result.status !== 'done' && deps.clock.now().getTime() + 250 < until) {
      await sleep(250);
      result = await deps.lookup.byDigest(digest);
    }
    return result;
  }

  async function checkContainer(
    input: AdmissionInput,
    subject: Json | null,
    prefix: string,
    container: { name: string; image: string; path: string },
    deadline: number,
  ): Promise<{ violations: Violation[]; warnings: string[] }> {
    const c = ruleFor(input, subject, container);
    if (c === undefined) return { violations: [], warnings: [] };
    const field = `${prefix}${container.path}.image`;
    const violation = (effect: Exclude<Effect, 'Disabled'>, message: string): Violation => ({
      policyId: 'gated-deployment',
      title: 'Images with vulnerabilities above the threshold should not be deployed',
      severity: 'high',
      assignment: `gating/${c.rule.name}`,
      effect,
      message: `container "${container.name}": ${message}`,
      field,
    });
    const digest = await deps.resolve(container.image);
    const result: ImageFindings = digest === undefined ? { status: 'unknown', findings: [] } : await lookupWithWait(digest, deadline);
    if (result.status !== 'done') {
      const action = deps.config.unscanned.action === 'wait' ? deps.config.unscanned.afterWait : deps.config.unscanned.action;
      const effect = effectOf(action);
      const why = digest === undefined ? 'its digest could not be resolved' : `its scan is ${result.status === 'unknown' ? 'not known to the server' : result.status}`;
      return effect ? { violations: [violation(effect, `image ${container.image} has no scan result (${why})`)], warnings: [] } : { violations: [], warnings: [] };
    }
    if (c.rule.effect === 'Disabled') return { violations: [], warnings: [] };
    const bad = breaking(c, container.image, result.findings);
    if (bad.length === 0) return { violations: [], warnings: [] };
    const ranked = [...bad].sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || a.id.localeCompare(b.id));
    const shown = ranked.slice(0, 5).map((f) => `${f.id} (${f.severity})`).join(', ');
    const more = ranked.length > 5 ? ` and ${ranked.length - 5} more` : '';
    return { violations: [violation(c.rule.effect, `image ${container.image} has ${ranked.length} finding(s) breaking rule ${c.rule.name}: ${shown}${more}`)], warnings: [] };
  }

  return {
    async check(input, deadline) {
      const subject = input.object;
      const target = podTargetOf(input.kind, subject);
      if (target === undefined || (input.operation !== 'CREATE' && input.operation !== 'UPDATE')) return { violations: [], warnings: [] };
      const containers = containersOf(target.pod);
      const work = Promise.all(
        containers.map((container) =>
          checkContainer(input, subject, target.prefix, container, deadline).catch((error: unknown) => {
            deps.log.warn({ image: container.image, error: errorMessage(error) }, 'gated deployment could not check an image');
            const action = deps.config.unscanned.action === 'wait' ? deps.config.unscanned.afterWait : deps.config.unscanned.action;
            const effect = effectOf(action);
            const message = `image ${container.image} could not be checked (${errorMessage(error)})`;
            return effect
              ? {
                  violations: [
                    {
                      policyId: 'gated-deployment',
                      title: 'Images with vulnerabilities above the threshold should not be deployed',
                      severity: 'high' as const,
                      assignment: 'gating',
                      effect,
                      message: `container "${container.name}": ${message}`,
                      field: `${target.prefix}${container.path}.image`,
                    },
                  ],
                  warnings: [],
                }
              : { violations: [], warnings: [`palisade: ${message}`] };
          }),
        ),
      );
      const raced = await Promise.race([work, timeout(deadline - deps.clock.now().getTime())]);
      if (raced === 'timeout') return { violations: [], warnings: ['palisade: gated deployment timed out waiting for scan results; images were not checked'] };
      return { violations: raced.flatMap((r) => r.violations), warnings: raced.flatMap((r) => r.warnings) };
    },
  };
}
