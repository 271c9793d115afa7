import { inflateSync } from 'node:zlib';
import { z } from 'zod';
import type { Package } from '../../core/index.js';
import type { CatalogFile } from '../types.js';
import { elfSectionBytes, isElf, locationOf, readElf, type ParseOutcome } from '../generic.js';
import { cratePackage } from './cargo-lock.js';

/** Largest decompressed dependency list accepted (real ones are a few kB). */
export const MAX_AUDIT_JSON_BYTES = 8 * 1024 * 1024;

const auditSchema = z.object({
  packages: z.array(z.unknown()),
});
const auditPackage = z.object({
  name: z.string(),
  version: z.string(),
  source: z.string().optional(),
  kind: z.string().optional(),
});

/** The `.dep-v0` section of an ELF (cargo-auditable), undefined for other files. */
function depSection(bytes: Buffer): Buffer | undefined {
  if (!isElf(bytes)) return undefined;
  const elf = readElf(bytes);
  return elf ? elfSectionBytes(elf, bytes, '.dep-v0') : undefined;
}

/**
 * A Rust binary built with cargo-auditable: the zlib-compressed JSON dependency list in the `.dep-v0`
 * ELF section. Workspace crates (`source: "local"`) are not reported. PE and Mach-O binaries are not
 * read. A section that does not decompress or parse counts as one skipped record.
 */
export function parseAuditableBinary(file: CatalogFile): ParseOutcome {
  const section = depSection(file.bytes);
  if (!section) return { packages: [], skipped: 0 };
  let doc: unknown;
  try {
    doc = JSON.parse(inflateSync(section, { maxOutputLength: MAX_AUDIT_JSON_BYTES }).toString('utf8'));
  } catch {
    return { packages: [], skipped: 1 };
  }
  const parsed = auditSchema.safeParse(doc);
  if (!parsed.success) return { packages: [], skipped: 1 };
  const location = locationOf(file);
  const packages: Package[] = [];
  let skipped = 0;
  for (const raw of parsed.data.packages) {
    const entry = auditPackage.safeParse(raw);
    if (!entry.success) {
      skipped++;
      continue;
    }
    if (entry.data.source === 'local') continue;
    const pkg = cratePackage(entry.data.name, entry.data.version, location);
    if (pkg) packages.push(pkg);
    else skipped++;
  }
  return { packages, skipped };
}
