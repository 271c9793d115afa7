import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Advisory, AffectedPackage, AffectedRange, CvssScore, FixState, Severity } from '../../../../core/types.js';
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
  severityWord,
  uniqueSorted,
} from '../util.js';

/**
 * The Ubuntu CVE tracker (https://git.launchpad.net/ubuntu-cve-tracker) as one JSON file per CVE:
 * `packages.<release>.<source package>.{status, note, priority}`. Release keys (codenames and ESM
 * channels) map to namespaces through releases.json beside this file.
 */

const SOURCE = 'ubuntu-tracker';

const releaseTableSchema = z.object({
  releases: z.array(z.object({ key: z.string(), version: z.string().regex(/^\d+\.\d+$/) })),
  ignored: z.array(z.string()),
});

const releaseTable = releaseTableSchema.parse(JSON.parse(readFileSync(new URL('./releases.json', import.meta.url), 'utf8')));

interface ReleaseInfo {
  namespace: string;
  /** Position in releases.json: lower wins when two keys of one release both say "fixed". */
  order: number;
}

const RELEASES = new Map<string, ReleaseInfo>(
  releaseTable.releases.map((r, order) => [r.key, { namespace: `ubuntu:${r.version}`, order }]),
);
const IGNORED_RELEASES = new Set(releaseTable.ignored);

/** 'jammy' → 'ubuntu:22.04', 'esm-infra/xenial' → 'ubuntu:16.04'; undefined when not a release. */
export function ubuntuNamespace(releaseKey: string): string | undefined {
  return RELEASES.get(releaseKey)?.namespace;
}

const cveFileSchema = z.looseObject({
  candidate: z.string(),
  description: z.string().optional(),
  ubuntu_description: z.string().optional(),
  priority: z.string().optional(),
  public_date: z.string().optional(),
  cvss: z.record(z.string(), z.string()).optional(),
  references: z.array(z.string()).nullable().optional(),
  // Validated per package line below: a full zod pass over ~6 million lines (most of them DNE)
  // would cost more than the JSON parse itself.
  packages: z.record(z.string(), z.unknown()),
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined | null {
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : null;
}

const CVE = /^CVE-\d{4}-\d{4,}$/;
/** A Debian/Ubuntu version as the tracker writes it in a `released` note. */
const DEB_VERSION = /^(?:\d+:)?\d[A-Za-z0-9.+~:-]*$/;
/** ' CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N [7.5 HIGH]' */
const CVSS_TEXT = /^\s*(CVSS:\d\.\d\/\S+)\s+\[(\d+(?:\.\d+)?)\s+[A-Za-z]+\]\s*$/;
const USN = /\/(USN-\d+-\d+)\b/;

/** Ubuntu priority → severity; 'untriaged' and unknown words → undefined. */
export function ubuntuSeverity(priority: string | undefined): Severity | undefined {
  return severityWord(priority);
}

/**
 * Status → fix state. released is handled by the caller (it needs the version in `note`);
 * DNE ("does not exist" in that release) is dropped; unknown words give undefined.
 */
function fixStateOf(status: string): FixState | 'dne' | undefined {
  switch (status) {
    case 'released':
      return 'fixed';
    case 'needed':
    case 'pending':
    case 'deferred':
    case 'needs-triage':
      return 'unfixed';
    case 'ignored':
      return 'wont-fix';
    case 'not-affected':
      return 'not-affected';
    case 'DNE':
      return 'dne';
    default:
      return undefined;
  }
}


interface Candidate {
  entry: AffectedPackage;
  order: number;
}

function better(a: Candidate, b: Candidate): boolean {
  const byState = FIX_STATE_RANK[a.entry.fixState] - FIX_STATE_RANK[b.entry.fixState];
  return byState !== 0 ? byState > 0 : a.order < b.order;
}

function cvssScores(cvss: Record<string, string> | undefined): CvssScore[] {
  const scores: CvssScore[] = [];
  for (const [publisher, text] of Object.entries(cvss ?? {}).sort(([a], [b]) => byCodeUnit(a, b))) {
    const m = CVSS_TEXT.exec(text);
    if (!m?.[1] || !m[2]) continue;
    const score = cvssScore(m[1], Number(m[2]), publisher);
    if (score) scores.push(score);
  }
  return scores;
}

/** One package line of one release; undefined when dropped (DNE) or skipped. */
function packageEntry(
  namespace: string,
  name: string,
  raw: unknown,
  cveSeverity: Severity | undefined,
  ref: string,
  sink: FeedSink,
): AffectedPackage | undefined {
  const status = isRecord(raw) ? raw['status'] : undefined;
  if (status === 'DNE') return undefined;
  const note = isRecord(raw) ? optionalString(raw['note']) : null;
  const priority = isRecord(raw) ? optionalString(raw['priority']) : null;
  if (typeof status !== 'string' || note === null || priority === null) {
    sink.skip('bad package line: status, note and priority must be strings', ref);
    return undefined;
  }
  const fixState = fixStateOf(status);
  if (fixState === 'dne') return undefined;
  if (fixState === undefined) {
    sink.skip(`unknown status '${status}'`, ref);
    return undefined;
  }
  const severity = ubuntuSeverity(priority) ?? cveSeverity;
  let ranges: AffectedRange[] = [];
  if (fixState === 'fixed') {
    const version = note?.trim() ?? '';
    if (!DEB_VERSION.test(version)) {
      sink.skip(`released without a single fixed version in note ${JSON.stringify(note ?? null)}`, ref);
      return undefined;
    }
    ranges = fixedRange(version);
  }
  const entry: AffectedPackage = { namespace, name, ranges, versions: [], fixState };
  if (severity) entry.severity = severity;
  return entry;
}

export const ubuntuTracker = {
  id: SOURCE,
  detect(path: string, head: Buffer): boolean {
    if (!path.toLowerCase().endsWith('.json')) return false;
    const text = headText(head);
    return !looksLikeOsv(text) && /"candidate"\s*:\s*"CVE-/.test(text);
  },
  parseFile(path: string, data: Buffer, sink: FeedSink): void {
    const parsed = cveFileSchema.safeParse(parseJsonFile(path, data, 'Ubuntu CVE tracker'));
    if (!parsed.success) {
      sink.skip(`not an Ubuntu CVE tracker record: ${describeIssues(parsed.error)}`, path);
      return;
    }
    const cve = parsed.data;
    if (!CVE.test(cve.candidate)) {
      // The tracker keeps placeholders such as 'CVE-2009-NNN2' for issues that never got an id.
      sink.skip(`'${cve.candidate}' is not a CVE id`, path);
      return;
    }
    const severity = ubuntuSeverity(cve.priority);

    const chosen = new Map<string, Candidate>();
    const unknownReleases = new Set<string>();
    for (const [releaseKey, packages] of Object.entries(cve.packages)) {
      const release = RELEASES.get(releaseKey);
      if (release === undefined) {
        if (!IGNORED_RELEASES.has(releaseKey)) unknownReleases.add(releaseKey);
        continue;
      }
      if (!isRecord(packages)) {
        sink.skip(`packages of release '${releaseKey}' is not an object`, `${path}#${releaseKey}`);
        continue;
      }
      for (const name in packages) {
        const raw = packages[name];
        const entry = packageEntry(release.namespace, name, raw, severity, `${path}#${releaseKey}/${name}`, sink);
        if (entry === undefined) continue;
        const candidate = { entry, order: release.order };
        const key = `${release.namespace}\u0000${name}`;
        const current = chosen.get(key);
        if (current === undefined || better(candidate, current)) chosen.set(key, candidate);
      }
    }
    for (const releaseKey of unknownReleases) {
      sink.skip(`unknown Ubuntu release '${releaseKey}' (add it to ubuntu-tracker/releases.json)`, `${path}#${releaseKey}`);
    }

    const references = (cve.references ?? []).map((r) => r.trim()).filter((r) => r !== '');
    const aliases = uniqueSorted(references.flatMap((r) => USN.exec(r)?.[1] ?? []));
    const advisory: Advisory = {
      id: cve.candidate,
      aliases,
      source: SOURCE,
      details: cve.description?.trim() || cve.ubuntu_description?.trim() || undefined,
      published: isoDate(cve.public_date),
      severity,
      cvss: cvssScores(cve.cvss),
      references: uniqueSorted(references),
      affected: [...chosen.values()]
        .map((c) => c.entry)
        .sort((a, b) => byCodeUnit(a.namespace, b.namespace) || byCodeUnit(a.name, b.name)),
    };
    sink.advisory(advisory);
  },
} satisfies FeedFormat;
