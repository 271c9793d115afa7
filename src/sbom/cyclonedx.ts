import { z } from 'zod';
import { AppError, type Distro } from '../core/index.js';
import { joinVersion, PackageCollector } from './collect.js';
import type { PackageDocument } from './types.js';

const PropertySchema = z.object({ name: z.string(), value: z.string().optional() });

const ComponentSchema = z.object({
  type: z.string(),
  name: z.string(),
  version: z.string().optional(),
  purl: z.string().optional(),
  properties: z.array(z.unknown()).optional(),
  components: z.array(z.unknown()).optional(),
});

export const CycloneDxSchema = z.object({
  bomFormat: z.literal('CycloneDX'),
  specVersion: z.string().regex(/^1\.\d+$/, 'expected a CycloneDX 1.x spec version such as "1.5"'),
  components: z.array(z.unknown()).optional(),
});

/** Properties naming the source package: Trivy's `aquasecurity:trivy:Src*` and Syft's `syft:metadata:source*`. */
function sourceFromProperties(properties: readonly unknown[] | undefined): { name: string; version?: string } | undefined {
  if (!properties) return undefined;
  const values = new Map<string, string>();
  for (const raw of properties) {
    const property = PropertySchema.safeParse(raw);
    if (property.success && property.data.value !== undefined) values.set(property.data.name, property.data.value);
  }
  const trivyName = values.get('aquasecurity:trivy:SrcName');
  if (trivyName) {
    const version = joinVersion(
      values.get('aquasecurity:trivy:SrcEpoch'),
      values.get('aquasecurity:trivy:SrcVersion'),
      values.get('aquasecurity:trivy:SrcRelease'),
    );
    return version ? { name: trivyName, version } : { name: trivyName };
  }
  const syftName = values.get('syft:metadata:source');
  if (syftName) {
    const version = values.get('syft:metadata:sourceVersion');
    return version ? { name: syftName, version } : { name: syftName };
  }
  return undefined;
}

/** CycloneDX JSON 1.4–1.6: every component with a purl, nested components included. */
export function readCycloneDx(value: unknown, file: string): PackageDocument {
  const parsed = CycloneDxSchema.safeParse(value);
  if (!parsed.success) {
    throw new AppError('BAD_INPUT', `${file}: not a usable CycloneDX document: ${z.prettifyError(parsed.error)}`, { details: { file } });
  }
  const collector = new PackageCollector(file);
  let distro: Distro | undefined;

  const visit = (raw: unknown, ref: string, depth: number): void => {
    const component = ComponentSchema.safeParse(raw);
    if (!component.success) {
      collector.skip(ref, `invalid component: ${component.error.issues[0]?.message ?? 'unknown problem'}`);
      return;
    }
    const c = component.data;
    const named = `${ref} (${c.name})`;
    if (c.type === 'operating-system') {
      if (!distro && c.version) distro = { id: c.name.toLowerCase(), versionId: c.version };
    } else if (c.purl) {
      const fields: Parameters<PackageCollector['add']>[0] = { ref: named, purl: c.purl };
      if (c.version) fields.version = c.version;
      const source = sourceFromProperties(c.properties);
      if (source) fields.source = source;
      collector.add(fields);
    } else if (c.type === 'library') {
      collector.skip(named, 'no purl');
    }
    if (depth > 0) c.components?.forEach((child, i) => visit(child, `${ref}.components[${i}]`, depth - 1));
  };

  const MAX_NESTING = 32;
  parsed.data.components?.forEach((raw, i) => visit(raw, `components[${i}]`, MAX_NESTING));
  return collector.finish('cyclonedx', distro);
}
