import { readFileSync } from 'node:fs';
import { z } from 'zod';

const VendorFile = z.object({
  source: z.string(),
  vendors: z.array(z.object({ contains: z.string().min(1), namespace: z.string().regex(/^[a-z0-9.-]+$/) })),
});

const VENDORS = VendorFile.parse(JSON.parse(readFileSync(new URL('./vendors.json', import.meta.url), 'utf8'))).vendors;

/** The purl namespace for an rpm VENDOR string (`Red Hat, Inc.` → `redhat`), or undefined when unknown. */
export function vendorNamespace(vendor: string | undefined): string | undefined {
  if (!vendor) return undefined;
  const lower = vendor.toLowerCase();
  return VENDORS.find((entry) => lower.includes(entry.contains))?.namespace;
}
