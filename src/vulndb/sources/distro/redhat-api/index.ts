import { z } from 'zod';
import type { Advisory, AffectedPackage, CvssScore, FixState, Severity } from '../../../../core/types.js';
import { rpm } from '../../../../versioning/rpm/index.js';
import type { FeedFormat, FeedSink } from '../../../types.js';
import {
  byCodeUnit,
  cvssScore,
  describeIssues,
  FIX_STATE_RANK,
  fixedRange,
  headText,
  isoDate,
  looksLikeOsv,
  parseJsonFile,
  parseNevra,
  severityWord,
  uniqueSorted,
} from '../util.js';

/**
 * Red Hat Security Data API, one JSON file per CVE (https://access.redhat.com/hydra/rest/securitydata/cve/<CVE>.json):
 * `affected_release[]` (an erratum that fixed a package in a product) and `package_state[]` (the
 * state of a package in a product with no fix). Only Red Hat Enterprise Linux itself is kept
 * (namespace 'rhel:<major>'); layered products (OpenShift, Satellite, JBoss, Software Collections,
 * EUS/AUS/TUS streams, RHV hypervisor, Fast Datapath …) are skipped and counted.
 */

const SOURCE = 'redhat-api';

const numberText = z.union([z.string(), z.number()]).transform((v) => Number(v));

const cveFileSchema = z.looseObject({
  name: z.string(),
  threat_severity: z.string().optional(),
  public_date: z.string().optional(),
  bugzilla: z.looseObject({ description: z.string().optional() }).optional(),
  cvss3: z
    .looseObject({ cvss3_base_score: numberText.optional(), cvss3_scoring_vector: z.string().optional() })
    .optional(),
  cvss: z
    .looseObject({ cvss_base_score: numberText.optional(), cvss_scoring_vector: z.string().optional() })
    .optional(),
  details: z.array(z.string()).optional(),
  references: z.array(z.string()).optional(),
  affected_release: z.array(z.unknown()).optional(),
  package_state: z.array(z.unknown()).optional(),
});

const affectedReleaseSchema = z.looseObject({
  product_name: z.string().optional(),
  advisory: z.string().optional(),
  cpe: z.string().optional(),
  package: z.string().optional(),
  impact: z.string().optional(),
});

const packageStateSchema = z.looseObject({
  product_name: z.string().optional(),
  fix_state: z.string(),
  package_name: z.string(),
  cpe: z.string().optional(),
  impact: z.string().optional(),
});

/**
 * RHEL's own CPEs: 'cpe:/o:redhat:enterprise_linux:9', 'cpe:/a:redhat:enterprise_linux:9::appstream',
 * 'cpe:/o:redhat:enterprise_linux:7::server'. The hypervisor and fastdatapath variants are layered
 * products (RHV, Fast Datapath) that never ship in a RHEL container image.
 */
const RHEL_CPE = /^cpe:\/[ao]:redhat:enterprise_linux:(\d+)(?:\.\d+)?(?:::([a-z0-9_]+))?$/;
const LAYERED_VARIANTS = new Set(['hypervisor', 'hypervisor_power', 'fastdatapath']);
/**
 * RHEL 2.1, 3 and 4 predate containers (no base image of them exists, while centos:5 and later
 * do); their errata often name no package or a bare name ('mozilla'), so they are left out.
 */
const FIRST_CONTAINER_MAJOR = 5;

/** 'cpe:/a:redhat:enterprise_linux:9::appstream' → 'rhel:9'; undefined for any other product or a pre-container major. */
export function rhelNamespace(cpe: string | undefined): string | undefined {
  const m = RHEL_CPE.exec(cpe?.trim() ?? '');
  if (!m?.[1] || Number(m[1]) < FIRST_CONTAINER_MAJOR) return undefined;
  if (m[2] !== undefined && LAYERED_VARIANTS.has(m[2])) return undefined;
  return `rhel:${m[1]}`;
}

/** Module streams ('nodejs:18-9050020250206154514.rhel9', 'ruby:3.3/ruby') name no single RPM. */
const MODULE_BUILD = /^[A-Za-z0-9_.+-]+:[^:/\s-]+-\d{10,}\.[A-Za-z0-9_]+$/;
const MODULE_PACKAGE = /^[A-Za-z0-9_.+-]+:[^:/\s]+\//;

/** package_state fix_state → fix state; undefined for a word Red Hat has not used yet. */
export function redhatFixState(fixState: string): FixState | undefined {
  switch (fixState) {
    case 'Affected':
    case 'Fix deferred':
      return 'unfixed';
    case 'Will not fix':
      return 'wont-fix';
    // The product is past its support phase and Red Hat will not assess or fix it: for a scan
    // that is the same as "will not fix".
    case 'Out of support scope':
      return 'wont-fix';
    case 'Not affected':
      return 'not-affected';
    // Red Hat has not decided yet whether the package is affected.
    case 'Under investigation':
      return 'unknown';
    default:
      return undefined;
  }
}


interface PackageFacts {
  namespace: string;
  name: string;
  fixed: string[];
  state?: FixState;
  severity?: Severity;
}

function cvssScores(file: z.infer<typeof cveFileSchema>): CvssScore[] {
  const scores: CvssScore[] = [];
  const v3 = file.cvss3;
  if (v3?.cvss3_scoring_vector && v3.cvss3_base_score !== undefined) {
    const score = cvssScore(v3.cvss3_scoring_vector, v3.cvss3_base_score, 'redhat');
    if (score) scores.push(score);
  }
  const v2 = file.cvss;
  if (v2?.cvss_scoring_vector && v2.cvss_base_score !== undefined) {
    const score = cvssScore(v2.cvss_scoring_vector, v2.cvss_base_score, 'redhat');
    if (score) scores.push(score);
  }
  return scores;
}

export const redhatApi = {
  id: SOURCE,
  detect(path: string, head: Buffer): boolean {
    if (!path.toLowerCase().endsWith('.json')) return false;
    const text = headText(head);
    return (
      !looksLikeOsv(text) &&
      /"name"\s*:\s*"CVE-/.test(text) &&
      /"(?:threat_severity|bugzilla|package_state|affected_release)"\s*:/.test(text)
    );
  },
  parseFile(path: string, data: Buffer, sink: FeedSink): void {
    const parsed = cveFileSchema.safeParse(parseJsonFile(path, data, 'Red Hat security data'));
    if (!parsed.success) {
      sink.skip(`not a Red Hat security data CVE record: ${describeIssues(parsed.error)}`, path);
      return;
    }
    const file = parsed.data;
    const severity = severityWord(file.threat_severity);
    const facts = new Map<string, PackageFacts>();
    const advisories = new Set<string>();
    let otherProducts = 0;
    let modules = 0;

    const factsFor = (namespace: string, name: string): PackageFacts => {
      const key = `${namespace}\u0000${name}`;
      let f = facts.get(key);
      if (f === undefined) {
        f = { namespace, name, fixed: [] };
        facts.set(key, f);
      }
      return f;
    };

    (file.affected_release ?? []).forEach((raw, index) => {
      const ref = `${path}#affected_release[${index}]`;
      const release = affectedReleaseSchema.safeParse(raw);
      if (!release.success) {
        sink.skip(`bad affected_release: ${describeIssues(release.error)}`, ref);
        return;
      }
      const namespace = rhelNamespace(release.data.cpe);
      if (namespace === undefined) {
        otherProducts++;
        return;
      }
      const pkg = release.data.package?.trim() ?? '';
      if (pkg === '') {
        // Early errata (RHEL 5 era) and some kpatch ones list the erratum without its packages.
        sink.skip('affected_release without a package', ref);
        return;
      }
      if (MODULE_BUILD.test(pkg)) {
        modules++;
        return;
      }
      if (pkg.includes('/')) {
        sink.skip(`affected_release '${pkg}' is a container image, not an RPM`, ref);
        return;
      }
      const nevra = parseNevra(pkg);
      if (nevra === undefined) {
        sink.skip(`affected_release package '${pkg}' is not name-[epoch:]version-release`, ref);
        return;
      }
      const f = factsFor(namespace, nevra.name);
      f.fixed.push(nevra.evr);
      f.severity ??= severityWord(release.data.impact);
      if (release.data.advisory) advisories.add(release.data.advisory.trim());
    });

    (file.package_state ?? []).forEach((raw, index) => {
      const ref = `${path}#package_state[${index}]`;
      const state = packageStateSchema.safeParse(raw);
      if (!state.success) {
        sink.skip(`bad package_state: ${describeIssues(state.error)}`, ref);
        return;
      }
      const namespace = rhelNamespace(state.data.cpe);
      if (namespace === undefined) {
        otherProducts++;
        return;
      }
      const name = state.data.package_name.trim();
      if (MODULE_PACKAGE.test(name)) {
        modules++;
        return;
      }
      const fixState = redhatFixState(state.data.fix_state);
      if (fixState === undefined) {
        sink.skip(`unknown fix_state '${state.data.fix_state}'`, ref);
        return;
      }
      if (name.includes('/')) {
        sink.skip(`package_name '${name}' is a container image or non-RPM component`, ref);
        return;
      }
      if (name === '' || /[\s:]/.test(name)) {
        sink.skip(`package_name '${name}' is not an RPM name`, ref);
        return;
      }
      const f = factsFor(namespace, name);
      if (f.state === undefined || FIX_STATE_RANK[fixState] > FIX_STATE_RANK[f.state]) f.state = fixState;
      f.severity ??= severityWord(state.data.impact);
    });

    if (modules > 0) sink.skip(`${modules} module stream entries (no single RPM to match)`, `${path}#modules`);
    if (facts.size === 0) {
      sink.skip(
        otherProducts > 0 ? `no RHEL package (${otherProducts} entries for other Red Hat products)` : 'no RHEL package',
        path,
      );
      return;
    }

    const affected: AffectedPackage[] = [...facts.values()]
      .sort((a, b) => byCodeUnit(a.namespace, b.namespace) || byCodeUnit(a.name, b.name))
      .map((f) => {
        const pkgSeverity = f.severity ?? severity;
        const base = { namespace: f.namespace, name: f.name, versions: [], ...(pkgSeverity ? { severity: pkgSeverity } : {}) };
        // Several errata can fix one package in one major (a z-stream and the next minor): the
        // earliest fixed build is the first that is not affected.
        const first = f.fixed.reduce<string | undefined>((a, b) => (a === undefined || rpm.compare(b, a) < 0 ? b : a), undefined);
        if (first !== undefined) return { ...base, ranges: fixedRange(first), fixState: 'fixed' as const };
        return { ...base, ranges: [], fixState: f.state ?? 'unknown' };
      });

    const references = (file.references ?? [])
      .flatMap((r) => r.split(/\s+/))
      .map((r) => r.trim())
      .filter((r) => /^https?:\/\//.test(r));
    const details = (file.details ?? []).map((d) => d.trim()).filter((d) => d !== '');
    const advisory: Advisory = {
      id: file.name.trim(),
      aliases: uniqueSorted(advisories),
      source: SOURCE,
      summary: file.bugzilla?.description?.trim() || undefined,
      details: details.length > 0 ? details.join('\n\n') : undefined,
      published: isoDate(file.public_date),
      severity,
      cvss: cvssScores(file),
      references: uniqueSorted(references),
      affected,
    };
    sink.advisory(advisory);
  },
} satisfies FeedFormat;
