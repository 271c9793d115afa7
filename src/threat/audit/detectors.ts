import { z } from 'zod';
import { AppError } from '../../core/index.js';
import { keywordSet, type KeywordSet, type RuleSet, type RuleSeverity } from '../../rules/index.js';
import type { AlertMitre } from '../alert.js';
import type { AuditFacts } from './event.js';
import type { DetectorStateStore } from './state.js';

/**
 * Stateful detectors: code, not rules, behind the same alert model. Each has an id, a title, a
 * severity and MITRE tags like a rule, settings (`params:` blocks in rule files, which a user rules
 * directory can override key by key), and samples (`detectors/<id>.samples.yaml`) that the one
 * generic samples test runs. Detectors work on event time, so analysing a file gives the same
 * alerts whenever it runs.
 */
export interface DetectorHit {
  message: string;
  /** Overrides the default grouping (e.g. one alert per burst key). */
  groupKey?: string;
}

export interface AuditDetector {
  readonly id: string;
  readonly title: string;
  readonly severity: RuleSeverity;
  readonly mitre: AlertMitre;
  observe(f: AuditFacts): DetectorHit | undefined;
  /** Writes pending state (baselines) to the store; called periodically and at the end. */
  persist(): void;
}

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) throw new AppError('BAD_INPUT', `'${text}' is not a duration: write it like 90s, 10m, 24h or 7d`);
  return Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000);
}

const durationSchema = z.string().transform((text, ctx) => {
  const m = DURATION.exec(text.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `'${text}' is not a duration like 90s, 10m, 24h or 7d` });
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

function keywordsFrom(set: RuleSet, values: readonly string[]): KeywordSet {
  const out: string[] = [];
  for (const v of values) {
    if (v.startsWith('$')) {
      const list = set.lists.get(v.slice(1));
      if (list === undefined) throw new AppError('BAD_INPUT', `detector params name unknown list ${v}`);
      out.push(...list);
    } else out.push(v);
  }
  return keywordSet(out);
}

function matches(set: KeywordSet, value: string): boolean {
  if (set.any || set.exact.has(value)) return true;
  for (const p of set.prefixes) if (value.startsWith(p)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// K8S_ServiceAccountRareOperation

export const RARE_OPERATION_ID = 'K8S_ServiceAccountRareOperation';

const rareParamsSchema = z.object({
  /** How long each service account is watched before its operations count as its baseline. */
  learningWindow: durationSchema.default(7 * 86_400_000),
  maxAccounts: z.number().int().positive().default(20_000),
  maxCombosPerAccount: z.number().int().positive().default(5_000),
  /** Accounts never judged (patterns, `$list` allowed). */
  ignoreAccounts: z.array(z.string()).default([]),
});

interface AccountBaseline {
  firstSeenMs: number;
  combos: Set<string>;
}

/**
 * Learns, per service account, which (verb, resource, subresource, namespace) it uses during its
 * first `learningWindow` of activity; afterwards a successful operation outside that set raises an
 * alert once and joins the baseline. Baselines persist in the state store.
 */
export function createRareOperationDetector(set: RuleSet, store: DetectorStateStore): AuditDetector {
  const p = params(set, RARE_OPERATION_ID, rareParamsSchema);
  const ignore = keywordsFrom(set, p.ignoreAccounts);
  const accounts = new Map<string, AccountBaseline>();
  for (const a of store.loadBaselines(RARE_OPERATION_ID)) accounts.set(a.account, { firstSeenMs: a.firstSeenMs, combos: new Set(a.combos) });
  let pendingAccounts: Array<{ account: string; firstSeenMs: number }> = [];
  let pendingCombos: Array<{ account: string; combo: string; atMs: number }> = [];
  return {
    id: RARE_OPERATION_ID,
    title: 'Abnormal Kubernetes service account operation detected',
    severity: 'medium',
    mitre: { tactics: ['LateralMovement', 'CredentialAccess'], techniques: ['T1078.001', 'T1528'] },
    observe(f) {
      if (!f.user.startsWith('system:serviceaccount:') || f.code < 100 || f.code >= 400 || f.resource === '') return undefined;
      const combo = `${f.verb} ${f.apiGroup ? `${f.resource}.${f.apiGroup}` : f.resource}${f.subresource ? `/${f.subresource}` : ''} ${f.namespace || '-'}`;
      let base = accounts.get(f.user);
      // The common case, a known operation of a known account, costs two lookups.
      if (base !== undefined && base.combos.has(combo)) return undefined;
      if (matches(ignore, f.user)) return undefined;
      const atMs = Date.parse(f.time);
      if (Number.isNaN(atMs)) return undefined;
      if (base === undefined) {
        if (accounts.size >= p.maxAccounts) return undefined;
        base = { firstSeenMs: atMs, combos: new Set() };
        accounts.set(f.user, base);
        pendingAccounts.push({ account: f.user, firstSeenMs: atMs });
      }
      if (base.combos.size >= p.maxCombosPerAccount) return undefined;
      base.combos.add(combo);
      pendingCombos.push({ account: f.user, combo, atMs });
      if (pendingCombos.length >= 5_000) this.persist();
      if (atMs - base.firstSeenMs < p.learningWindow) return undefined;
      return {
        message: `service account ${f.user} did something it had not done since ${new Date(base.firstSeenMs).toISOString()}: ${combo.replace(/ -$/, ' (cluster-wide)')} from ${f.sourceIPs[0] ?? '(unknown address)'}`,
      };
    },
    persist() {
      store.saveBaselines(RARE_OPERATION_ID, pendingAccounts, pendingCombos);
      pendingAccounts = [];
      pendingCombos = [];
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Bursts

const burstParamsSchema = z.object({
  threshold: z.number().int().min(2),
  window: durationSchema,
  /** Users never counted (patterns, `$list` allowed). */
  ignoreUsers: z.array(z.string()).default([]),
  maxKeys: z.number().int().positive().default(50_000),
});

interface BurstSpec {
  id: string;
  title: string;
  severity: RuleSeverity;
  mitre: AlertMitre;
  defaults: { threshold: number; window: string };
  select: (f: AuditFacts) => boolean;
  key: (f: AuditFacts) => string;
  describe: (f: AuditFacts, count: number, windowText: string) => string;
}

/** Fires when one key (a user, a user and address) produces `threshold` selected events within `window`. */
function createBurstDetector(set: RuleSet, spec: BurstSpec): AuditDetector {
  const p = params(set, spec.id, burstParamsSchema.extend({
    threshold: burstParamsSchema.shape.threshold.default(spec.defaults.threshold),
    window: durationSchema.default(parseDuration(spec.defaults.window)),
  }));
  const ignore = keywordsFrom(set, p.ignoreUsers);
  const windowText = `${Math.round(p.window / 1000)}s`;
  /** Per key, a ring of the last `threshold` event times. */
  const rings = new Map<string, { times: number[]; next: number; filled: number }>();
  return {
    id: spec.id,
    title: spec.title,
    severity: spec.severity,
    mitre: spec.mitre,
    observe(f) {
      if (!spec.select(f) || matches(ignore, f.user)) return undefined;
      const atMs = Date.parse(f.time);
      if (Number.isNaN(atMs)) return undefined;
      const key = spec.key(f);
      let ring = rings.get(key);
      if (ring === undefined) {
        if (rings.size >= p.maxKeys) {
          const oldest = rings.keys().next();
          if (!oldest.done) rings.delete(oldest.value);
        }
        ring = { times: new Array<number>(p.threshold).fill(0), next: 0, filled: 0 };
        rings.set(key, ring);
      }
      ring.times[ring.next] = atMs;
      ring.next = (ring.next + 1) % p.threshold;
      ring.filled = Math.min(p.threshold, ring.filled + 1);
      if (ring.filled < p.threshold) return undefined;
      const oldest = ring.times[ring.next] ?? atMs;
      if (atMs - oldest > p.window) return undefined;
      ring.filled = 0;
      return { message: spec.describe(f, p.threshold, windowText), groupKey: `${spec.id}|${f.cluster}|${key}` };
    },
    persist() {},
  };
}

export const SECRET_BURST_ID = 'PAL_SecretReadBurst';
export const FAILED_BURST_ID = 'PAL_FailedRequestBurst';

export function createSecretReadBurstDetector(set: RuleSet): AuditDetector {
  return createBurstDetector(set, {
    id: SECRET_BURST_ID,
    title: 'Burst of Kubernetes secret reads',
    severity: 'medium',
    mitre: { tactics: ['CredentialAccess'], techniques: ['T1552.007'] },
    defaults: { threshold: 30, window: '60s' },
    select: (f) => f.resource === 'secrets' && f.subresource === '' && (f.verb === 'get' || f.verb === 'list' || f.verb === 'watch') && f.code >= 200 && f.code < 400,
    key: (f) => f.user,
    describe: (f, n, w) => `${f.user} read secrets ${n} times within ${w} (last: ${f.verb} ${f.namespace || '(all namespaces)'}/${f.name || '*'}) from ${f.sourceIPs[0] ?? '(unknown address)'}`,
  });
}

export function createFailedRequestBurstDetector(set: RuleSet): AuditDetector {
  return createBurstDetector(set, {
    id: FAILED_BURST_ID,
    title: 'Burst of failed Kubernetes API requests',
    severity: 'low',
    mitre: { tactics: ['Discovery', 'CredentialAccess'], techniques: ['T1613', 'T1110'] },
    defaults: { threshold: 20, window: '60s' },
    select: (f) => f.code === 401 || f.code === 403,
    key: (f) => `${f.user}|${f.sourceIPs[0] ?? ''}`,
    describe: (f, n, w) =>
      `${f.user || '(unauthenticated)'} from ${f.sourceIPs[0] ?? '(unknown address)'} was refused ${n} times within ${w} (last: ${f.verb} ${f.resource || f.uri} → ${f.code}, user agent ${f.userAgent || '(none)'})`,
  });
}

/** The detectors, in a fixed order. */
export function createAuditDetectors(set: RuleSet, store: DetectorStateStore): AuditDetector[] {
  return [createRareOperationDetector(set, store), createSecretReadBurstDetector(set), createFailedRequestBurstDetector(set)];
}

export const DETECTOR_IDS = [RARE_OPERATION_ID, SECRET_BURST_ID, FAILED_BURST_ID] as const;
