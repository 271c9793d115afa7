import { z } from 'zod';
import { PACKAGE_TYPES, type Distro, type Package } from './types.js';

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
