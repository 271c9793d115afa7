import { z } from 'zod';
import { FIX_STATES, PACKAGE_TYPES, SEVERITIES, type CvssScore, type Distro, type Finding, type Package } from './types.js';

/** zod schemas of the domain types, for data read back from caches, stores and API bodies. */
export const distroSchema = z.object({
  id: z.string().min(1),
  versionId: z.string(),
  codename: z.string().optional(),
  prettyName: z.string().optional(),
}) satisfies z.ZodType<Distro>;

export const packageSchema = z.object({
  type: z.enum(PACKAGE_TYPES),
  name: z.string().min(1),
  version: z.string(),
  purl: z.string(),
  source: z.object({ name: z.string(), version: z.string().optional() }).optional(),
  arch: z.string().optional(),
  distro: distroSchema.optional(),
  licenses: z.array(z.string()).optional(),
  locations: z.array(z.object({ path: z.string(), layer: z.string().optional() })),
  managedBy: z.string().optional(),
}) satisfies z.ZodType<Package>;

const cvssSchema = z.object({
  version: z.enum(['2.0', '3.0', '3.1', '4.0']),
  vector: z.string(),
  baseScore: z.number(),
  source: z.string(),
}) satisfies z.ZodType<CvssScore>;

export const findingSchema = z.object({
  advisoryId: z.string(),
  aliases: z.array(z.string()),
  summary: z.string().optional(),
  package: packageSchema,
  installedVersion: z.string(),
  fixedVersions: z.array(z.string()),
  fixState: z.enum(FIX_STATES),
  severity: z.enum(SEVERITIES),
  severitySource: z.enum(['distro', 'advisory', 'cvss', 'none']),
  cvss: cvssSchema.optional(),
  kev: z.object({ cveId: z.string(), dateAdded: z.string(), dueDate: z.string().optional(), knownRansomwareUse: z.boolean() }).optional(),
  epss: z.object({ cveId: z.string(), score: z.number(), percentile: z.number() }).optional(),
  dataSource: z.string(),
  namespace: z.string(),
}) satisfies z.ZodType<Finding>;
