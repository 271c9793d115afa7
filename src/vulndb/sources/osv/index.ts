import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Advisory, AffectedPackage, AffectedRange, CvssScore, FixState, RangeEvent, Severity } from '../../../core/index.js';
import { cvssScore } from '../../cvss.js';
import { severityFromWord } from '../../severity.js';
import type { FeedFormat, FeedSink } from '../../types.js';
import { mapEcosystem } from './ecosystems.js';

/** OSV schema (https://ossf.github.io/osv-schema/), only the fields Palisade keeps. Unknown fields pass. */
const severityEntry = z.object({ type: z.string(), score: z.string() });
const osvRecord = z.object({
  id: z.string().min(1),
  modified: z.string().optional(),
  published: z.string().optional(),
  withdrawn: z.string().optional(),
  aliases: z.array(z.string()).nullish(),
  related: z.array(z.string()).nullish(),
  summary: z.string().nullish(),
  details: z.string().nullish(),
  severity: z.array(severityEntry).nullish(),
  affected: z.array(z.unknown()).nullish(),
  references: z.array(z.object({ url: z.string().optional() }).passthrough()).nullish(),
  database_specific: z.record(z.string(), z.unknown()).nullish(),
});

const eventSchema = z.object({
  introduced: z.string().optional(),
  fixed: z.string().optional(),
  last_affected: z.string().optional(),
  limit: z.string().optional(),
});
const affectedSchema = z.object({
  package: z.object({ ecosystem: z.string(), name: z.string().min(1) }).passthrough(),
  ranges: z.array(z.object({ type: z.string(), events: z.array(eventSchema) }).passthrough()).nullish(),
  versions: z.array(z.string()).nullish(),
  severity: z.array(severityEntry).nullish(),
  ecosystem_specific: z.record(z.string(), z.unknown()).nullish(),
  database_specific: z.record(z.string(), z.unknown()).nullish(),
});
type OsvAffected = z.infer<typeof affectedSchema>;

/** Distro advisory ids whose `related` CVEs are the same vulnerability (one advisory, its CVEs). */
const DISTRO_ADVISORY_ID = /^(?:DSA|DLA|DTSA|RHSA|RHBA|RHEA|ALSA|ALBA|ALEA|RLSA|RXSA|RLBA|SUSE-|openSUSE-|USN-|ALAS|ELSA|MGASA)/;
const SUMMARY_MAX = 240;

function cvssSourceOf(id: string): string {
  if (id.startsWith('GHSA-')) return 'ghsa';
  if (/^RH[SBE]A-/.test(id)) return 'redhat';
  if (/^AL[SBE]A-/.test(id)) return 'almalinux';
  if (/^R[LX][SB]A-/.test(id)) return 'rocky';
  if (/^(?:SUSE|openSUSE)-/.test(id)) return 'suse';
  return 'osv';
}

function toEvent(e: z.infer<typeof eventSchema>): RangeEvent | undefined {
  if (e.introduced !== undefined) return { introduced: e.introduced };
  if (e.fixed !== undefined) return { fixed: e.fixed };
  if (e.last_affected !== undefined) return { last_affected: e.last_affected };
  if (e.limit !== undefined) return { limit: e.limit };
  return undefined;
}

function perPackageSeverity(a: OsvAffected): Severity | undefined {
  for (const bag of [a.ecosystem_specific, a.database_specific]) {
    if (!bag) continue;
    for (const key of ['urgency', 'severity']) {
      const value = bag[key];
      if (typeof value === 'string') {
        const s = severityFromWord(value);
        if (s) return s;
      }
    }
  }
  return undefined;
}

function scores(entries: readonly { type: string; score: string }[] | null | undefined, source: string, out: CvssScore[]): void {
  for (const e of entries ?? []) {
    if (!e.type.startsWith('CVSS_')) continue;
    const s = cvssScore(e.score, source);
    if (s && !out.some((o) => o.vector === s.vector)) out.push(s);
  }
}

function summaryOf(summary: string | null | undefined, details: string | null | undefined): string | undefined {
  const text = (summary && summary.trim()) || (details ?? '').trim().split(/\n\s*\n/)[0]?.replace(/\s+/g, ' ');
  if (!text) return undefined;
  return text.length > SUMMARY_MAX ? `${text.slice(0, SUMMARY_MAX - 1)}…` : text;
}

/**
 * Turn one parsed OSV document into an Advisory. Affected entries of ecosystems Palisade does not
 * match are skipped and counted (`unknown ecosystem <name>`); GIT ranges are dropped.
 */
export function osvToAdvisory(doc: unknown, ref: string, sink: Pick<FeedSink, 'skip'>): Advisory | undefined {
  const parsed = osvRecord.safeParse(doc);
  if (!parsed.success) {
    sink.skip('not an OSV record', ref);
    return undefined;
  }
  const r = parsed.data;
  const cvssSource = cvssSourceOf(r.id);
  const cvss: CvssScore[] = [];
  scores(r.severity, cvssSource, cvss);

  const affected: AffectedPackage[] = [];
  const seen = new Set<string>();
  // One OSV record can cover several ecosystems (osv.dev files CVE-… for Debian and Alpine alike and
  // exports it under both): its source names the family only when there is one.
  const families = new Set<string>();
  for (const raw of r.affected ?? []) {
    const a = affectedSchema.safeParse(raw);
    if (!a.success) {
      sink.skip('affected entry without package (GIT-only)', `${ref}#${r.id}`);
      continue;
    }
    const pkg = a.data.package;
    const mapping = mapEcosystem(pkg.ecosystem);
    if (!mapping) {
      sink.skip(`unknown ecosystem ${pkg.ecosystem.split(':')[0] ?? pkg.ecosystem}`, `${ref}#${r.id}`);
      continue;
    }
    families.add(pkg.ecosystem.split(':')[0] ?? pkg.ecosystem);
    scores(a.data.severity, cvssSource, cvss);
    const ranges: AffectedRange[] = [];
    let hasFixed = false;
    for (const range of a.data.ranges ?? []) {
      if (range.type !== 'ECOSYSTEM' && range.type !== 'SEMVER') continue;
      const events = range.events.map(toEvent).filter((e): e is RangeEvent => e !== undefined);
      if (events.length === 0) continue;
      if (events.some((e) => 'fixed' in e)) hasFixed = true;
      ranges.push({ type: range.type, events });
    }
    // osv.dev enumerates `versions` from ECOSYSTEM/SEMVER ranges; they only add information when
    // no such range exists (git-tag versions of GIT-only records), so only then are they kept.
    const versions = ranges.length === 0 ? (a.data.versions ?? []) : [];
    if (ranges.length === 0 && versions.length === 0) {
      sink.skip('affected entry without usable ranges or versions', `${ref}#${r.id}`);
      continue;
    }
    const fixState: FixState = hasFixed ? 'fixed' : ranges.length > 0 || mapping.distro ? 'unfixed' : 'unknown';
    const entry: AffectedPackage = {
      namespace: mapping.namespace,
      name: mapping.normaliseName(pkg.name),
      ranges,
      versions,
      fixState,
    };
    const severity = perPackageSeverity(a.data);
    if (severity) entry.severity = severity;
    const key = JSON.stringify([entry.namespace, entry.name, entry.ranges, entry.versions, entry.severity ?? '']);
    if (seen.has(key)) continue;
    seen.add(key);
    affected.push(entry);
  }

  const aliases = new Set<string>(r.aliases ?? []);
  for (const related of r.related ?? []) {
    if (DISTRO_ADVISORY_ID.test(r.id) || DISTRO_ADVISORY_ID.test(related)) aliases.add(related);
  }
  aliases.delete(r.id);

  const advisory: Advisory = {
    id: r.id,
    aliases: [...aliases].sort(),
    source: families.size === 1 ? `osv:${[...families][0] ?? ''}` : 'osv',
    cvss,
    references: (r.references ?? []).flatMap((x) => (x.url ? [x.url] : [])),
    affected,
  };
  const summary = summaryOf(r.summary, r.details);
  if (summary) advisory.summary = summary;
  if (r.published) advisory.published = r.published;
  if (r.modified) advisory.modified = r.modified;
  if (r.withdrawn) advisory.withdrawn = r.withdrawn;
  const dbSeverity = r.database_specific?.['severity'];
  const severity = typeof dbSeverity === 'string' ? severityFromWord(dbSeverity) : undefined;
  if (severity) advisory.severity = severity;
  return advisory;
}

function looksLikeOsvJson(head: string): boolean {
  return /"id"\s*:/.test(head) && /"(?:modified|affected|schema_version)"\s*:/.test(head);
}

function looksLikeOsvYaml(head: string): boolean {
  return /^id:\s*\S/m.test(head) && /^(?:modified|affected|schema_version):/m.test(head);
}

export const osvFormat = {
  id: 'osv',
  detect(path: string, head: Buffer): boolean {
    const text = head.toString('utf8');
    if (/\.json$/i.test(path)) return looksLikeOsvJson(text);
    if (/\.ya?ml$/i.test(path)) return looksLikeOsvYaml(text);
    return false;
  },
  parseFile(path: string, data: Buffer, sink: FeedSink): void {
    let doc: unknown;
    try {
      doc = /\.ya?ml$/i.test(path) ? parseYaml(data.toString('utf8'), { maxAliasCount: 100 }) : JSON.parse(data.toString('utf8'));
    } catch {
      sink.skip(/\.ya?ml$/i.test(path) ? 'invalid YAML' : 'invalid JSON', path);
      return;
    }
    // A few exports wrap records in an array; accept both shapes.
    const docs = Array.isArray(doc) ? doc : [doc];
    for (const d of docs) {
      const advisory = osvToAdvisory(d, path, sink);
      if (!advisory) continue;
      // A withdrawn record still goes to the sink: it removes an earlier copy of itself.
      if (advisory.affected.length === 0 && !advisory.withdrawn) {
        sink.skip('no affected package in a supported ecosystem', `${path}#${advisory.id}`);
        continue;
      }
      sink.advisory(advisory);
    }
  },
} satisfies FeedFormat;
