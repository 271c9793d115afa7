import { z } from 'zod';
import type { Advisory, AffectedPackage } from '../../../../core/types.js';
import { rpm } from '../../../../versioning/rpm/index.js';
import type { FeedFormat, FeedSink } from '../../../types.js';
import {
  byCodeUnit,
  describeIssues,
  fixedRange,
  headText,
  isoDate,
  looksLikeOsv,
  parseJsonFile,
  pathSegments,
  rpmEvr,
  severityWord,
  uniqueSorted,
} from '../util.js';

/**
 * Amazon Linux Security Advisories (https://alas.aws.amazon.com/) as the yum updateinfo records
 * converted to JSON, one file per ALAS id: `Pkglist.Collection.Package[]` holds every fixed binary
 * RPM (per arch) and `References.Reference[]` the CVEs. One advisory per ALAS id.
 */

const SOURCE = 'amazon-alas';

const referenceSchema = z.looseObject({
  Href: z.string().optional(),
  ID: z.string().optional(),
  Type: z.string().optional(),
});

const packageSchema = z.looseObject({
  Name: z.string(),
  Epoch: z.string().optional(),
  Version: z.string(),
  Release: z.string(),
  Arch: z.string().optional(),
});

const alasFileSchema = z.looseObject({
  ID: z.string(),
  Title: z.string().optional(),
  Severity: z.string().optional(),
  Description: z.string().optional(),
  Issued: z.looseObject({ Date: z.string().optional() }).optional(),
  Updated: z.looseObject({ Date: z.string().optional() }).optional(),
  // The converter writes an empty object when an advisory cites no reference.
  References: z
    .looseObject({ Reference: z.union([z.array(z.unknown()), z.unknown()]).optional() })
    .nullable()
    .optional(),
  Pkglist: z.looseObject({
    Collection: z.union([
      z.looseObject({ Package: z.array(z.unknown()).optional() }),
      z.array(z.looseObject({ Package: z.array(z.unknown()).optional() })),
    ]),
  }),
});

/**
 * The Amazon Linux release an ALAS id belongs to: 'ALAS-…' → amzn:1, 'ALAS2-…' and the AL2 extras
 * topics ('ALAS2DOCKER-…', 'ALAS2KERNEL-5.10-…') → amzn:2, 'ALAS2022-…' → amzn:2022,
 * 'ALAS2023-…' and 'ALAS2023LIVEPATCH-…' → amzn:2023.
 */
export function amazonNamespace(alasId: string): string | undefined {
  const m = /^ALAS(2023|2022|2)?(?:[A-Z0-9._]+(?:-[A-Z0-9._]+)*)?-\d{4}-\d+$/.exec(alasId.trim());
  if (!m) return undefined;
  return `amzn:${m[1] ?? '1'}`;
}

/** Fallback from the feed layout `<release>/{updates,core,extras,kernel-livepatch}/…`. */
function namespaceFromPath(path: string): string | undefined {
  const segments = pathSegments(path);
  for (let i = 0; i + 1 < segments.length; i++) {
    const release = segments[i];
    const area = segments[i + 1];
    if (release && area && /^(?:1|2|2022|2023)$/.test(release) && /^(?:updates|core|extras|kernel-livepatch)$/.test(area)) {
      return `amzn:${release}`;
    }
  }
  return undefined;
}

const CVE = /^CVE-\d{4}-\d{4,}$/;

export const amazonAlas = {
  id: SOURCE,
  detect(path: string, head: Buffer): boolean {
    if (!path.toLowerCase().endsWith('.json')) return false;
    const text = headText(head);
    return !looksLikeOsv(text) && /"ID"\s*:\s*"ALAS[0-9A-Z._-]*-\d{4}-\d+"/.test(text);
  },
  parseFile(path: string, data: Buffer, sink: FeedSink): void {
    const parsed = alasFileSchema.safeParse(parseJsonFile(path, data, 'Amazon ALAS'));
    if (!parsed.success) {
      sink.skip(`not an ALAS updateinfo record: ${describeIssues(parsed.error)}`, path);
      return;
    }
    const alas = parsed.data;
    const id = alas.ID.trim();
    const namespace = amazonNamespace(id) ?? namespaceFromPath(path);
    if (namespace === undefined) {
      sink.skip(`cannot tell the Amazon Linux release of '${id}'`, path);
      return;
    }

    const collections = Array.isArray(alas.Pkglist.Collection) ? alas.Pkglist.Collection : [alas.Pkglist.Collection];
    const fixedByName = new Map<string, string[]>();
    let badPackages = 0;
    for (const raw of collections.flatMap((c) => c.Package ?? [])) {
      const pkg = packageSchema.safeParse(raw);
      if (!pkg.success || pkg.data.Name.trim() === '' || pkg.data.Version.trim() === '' || pkg.data.Release.trim() === '') {
        badPackages++;
        continue;
      }
      const name = pkg.data.Name.trim();
      const evr = rpmEvr(pkg.data.Epoch?.trim(), pkg.data.Version.trim(), pkg.data.Release.trim());
      const list = fixedByName.get(name);
      if (list) list.push(evr);
      else fixedByName.set(name, [evr]);
    }
    if (badPackages > 0) sink.skip(`${badPackages} package entries without name, version or release`, `${path}#Pkglist`);
    if (fixedByName.size === 0) {
      sink.skip('advisory lists no package', path);
      return;
    }

    const severity = severityWord(alas.Severity);
    const affected: AffectedPackage[] = [...fixedByName]
      .sort(([a], [b]) => byCodeUnit(a, b))
      .map(([name, versions]) => {
        // Arches normally share one build; where they differ, the earliest fixed build counts.
        const first = versions.reduce((a, b) => (rpm.compare(b, a) < 0 ? b : a));
        return {
          namespace,
          name,
          ranges: fixedRange(first),
          versions: [],
          fixState: 'fixed',
          ...(severity ? { severity } : {}),
        };
      });

    const rawRefs = alas.References?.Reference;
    const refList = Array.isArray(rawRefs) ? rawRefs : rawRefs === undefined || rawRefs === null ? [] : [rawRefs];
    const refs = refList.flatMap((r) => {
      const ref = referenceSchema.safeParse(r);
      return ref.success ? [ref.data] : [];
    });
    const cves = refs.map((r) => r.ID?.trim() ?? '').filter((refId) => CVE.test(refId));
    const advisory: Advisory = {
      id,
      aliases: uniqueSorted(cves),
      source: SOURCE,
      summary: alas.Title?.trim() || undefined,
      details: alas.Description?.trim() || undefined,
      published: isoDate(alas.Issued?.Date),
      modified: isoDate(alas.Updated?.Date),
      severity,
      cvss: [],
      references: uniqueSorted(refs.flatMap((r) => (r.Href && /^https?:\/\//.test(r.Href.trim()) ? [r.Href.trim()] : []))),
      affected,
    };
    sink.advisory(advisory);
  },
} satisfies FeedFormat;
