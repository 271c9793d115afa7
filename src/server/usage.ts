import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AppError, type Clock } from '../core/index.js';
import type { Store } from '../store/index.js';

/**
 * Usage and cost: distinct image digests scanned in a calendar month, covered vCPU cores (discovered
 * nodes when known, else configured), and what the same coverage costs under the product's price
 * rules (pricing.json): cores × per-core price, plus each digest beyond the free allowance (free
 * digests per core × the previous month's cores) at the per-digest price.
 */
const pricingSchema = z.object({ source: z.string(), currency: z.string(), perCorePerMonth: z.number(), freeDigestsPerCore: z.number(), perExtraDigest: z.number() });
export type Pricing = z.infer<typeof pricingSchema>;

export function loadPricing(): Pricing {
  return pricingSchema.parse(JSON.parse(readFileSync(new URL('./pricing.json', import.meta.url), 'utf8')));
}

export function monthOf(date: Date): string {
  return date.toISOString().slice(0, 7);
}

function monthRange(month: string): { from: Date; to: Date; previous: string } {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m) throw new AppError('BAD_INPUT', `month "${month}" is not YYYY-MM`);
  const year = Number(m[1]);
  const index = Number(m[2]) - 1;
  if (index < 0 || index > 11) throw new AppError('BAD_INPUT', `month "${month}" is not YYYY-MM`);
  const from = new Date(Date.UTC(year, index, 1));
  const to = new Date(Date.UTC(year, index + 1, 1));
  const previous = monthOf(new Date(Date.UTC(year, index - 1, 1)));
  return { from, to, previous };
}

export interface UsageReport {
  month: string;
  digestsScanned: number;
  cores: number;
  coresSource: 'discovered' | 'configured' | 'recorded';
  previousMonthCores: number;
  freeDigests: number;
  extraDigests: number;
  cost: { currency: string; cores: number; extraDigests: number; total: number };
  pricing: Pricing;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

export async function usageReport(deps: { store: Store; clock: Clock; configuredCores: number; pricing: Pricing }, month?: string): Promise<UsageReport> {
  const now = deps.clock.now();
  const target = month ?? monthOf(now);
  const { from, to, previous } = monthRange(target);
  const digests = await deps.store.distinctDigestsScanned(from, to);
  const isCurrent = target === monthOf(now);
  const discovered = isCurrent ? await deps.store.discoveredCores() : undefined;
  const recorded = await deps.store.coreUsage(target);
  const cores = discovered ?? recorded ?? deps.configuredCores;
  const coresSource = discovered !== undefined ? 'discovered' : recorded !== undefined ? 'recorded' : 'configured';
  const previousMonthCores = (await deps.store.coreUsage(previous)) ?? cores;
  const freeDigests = deps.pricing.freeDigestsPerCore * previousMonthCores;
  const extraDigests = Math.max(0, digests - freeDigests);
  const coreCost = round(deps.pricing.perCorePerMonth * cores);
  const extraCost = round(deps.pricing.perExtraDigest * extraDigests);
  return {
    month: target,
    digestsScanned: digests,
    cores,
    coresSource,
    previousMonthCores,
    freeDigests,
    extraDigests,
    cost: { currency: deps.pricing.currency, cores: coreCost, extraDigests: extraCost, total: round(coreCost + extraCost) },
    pricing: deps.pricing,
  };
}
