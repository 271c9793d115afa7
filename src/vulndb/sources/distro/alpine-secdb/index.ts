import { z } from 'zod';
import type { Advisory, AffectedPackage } from '../../../../core/types.js';
import { apk } from '../../../../versioning/apk/index.js';
import type { FeedFormat, FeedSink } from '../../../types.js';
import { byCodeUnit, describeIssues, fixedRange, headText, looksLikeOsv, parseJsonFile, pathSegments, uniqueSorted } from '../util.js';

/**
 * Alpine secdb (https://secdb.alpinelinux.org/<release>/{main,community}.json): per origin package a
 * `secfixes` map of fixed version → the ids it fixes. One advisory per id per file; the version '0'
 * means the release was never affected.
 */

const SOURCE = 'alpine-secdb';

const secdbFileSchema = z.looseObject({
  distroversion: z.string().optional(),
  reponame: z.string().optional(),
  packages: z.array(z.unknown()),
});

const packageSchema = z.looseObject({
  pkg: z.looseObject({
    name: z.string().min(1),
    secfixes: z.record(z.string(), z.array(z.unknown()).nullable()).optional(),
  }),
});

const CVE = /^CVE-\d{4}-\d{4,}$/;
/** Other advisory ids seen in secfixes: XSA-248, GHSA-…, ALPINE-13661, RUSTSEC-2021-0078, ZDI-CAN-22334, wnpa-sec-2019-12 … */
const OTHER_ID = /^[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+$/;

/**
 * The ids in one secfixes entry. Entries hold one id, often followed by related ids
 * ('CVE-2018-7540 XSA-252'), sometimes a comment in parentheses ('CVE-2019-15166 (LMP)') or a
 * numbered part ('CVE-2017-17434-1'). The first CVE is the advisory id; the rest become aliases.
 */
export function secfixIds(entry: string): { id: string; aliases: string[] } | undefined {
  const ids: string[] = [];
  for (const raw of entry.trim().split(/\s+/)) {
    if (raw.startsWith('(')) break;
    const token = raw.replace(/^CVE_/, 'CVE-');
    const numberedPart = /^(CVE-\d{4}-\d{4,})-\d+$/.exec(token);
    if (numberedPart?.[1]) ids.push(numberedPart[1]);
    else if (CVE.test(token)) ids.push(token);
    else if (!token.startsWith('CVE') && OTHER_ID.test(token)) ids.push(token);
  }
  const id = ids.find((candidate) => CVE.test(candidate)) ?? ids[0];
  if (id === undefined) return undefined;
  return { id, aliases: [...new Set(ids.filter((other) => other !== id))] };
}

/** 'v3.19' → 'alpine:3.19', 'edge' → 'alpine:edge'; undefined for anything else. */
export function alpineNamespace(release: string): string | undefined {
  const m = /^v?(\d+\.\d+)$/.exec(release.trim());
  if (m) return `alpine:${m[1]}`;
  return release.trim() === 'edge' ? 'alpine:edge' : undefined;
}

const PATH_SHAPE = /^(?:v?\d+\.\d+|edge)$/;

interface Collected {
  aliases: Set<string>;
  /** package name → fixed versions ('0' = not affected) */
  fixes: Map<string, Set<string>>;
}

function affectedEntry(namespace: string, name: string, versions: Set<string>): AffectedPackage {
  const fixed = [...versions].filter((v) => v !== '0');
  if (fixed.length === 0) {
    return { namespace, name, ranges: [], versions: [], fixState: 'not-affected' };
  }
  // The same id listed under two versions of one package: the earliest fix is the one that counts.
  const first = fixed.reduce((a, b) => (apk.compare(b, a) < 0 ? b : a));
  return { namespace, name, ranges: fixedRange(first), versions: [], fixState: 'fixed' };
}

export const alpineSecdb = {
  id: SOURCE,
  detect(path: string, head: Buffer): boolean {
    const segments = pathSegments(path);
    const file = segments.at(-1);
    const release = segments.at(-2);
    if (file !== 'main.json' && file !== 'community.json') return false;
    if (release === undefined || !PATH_SHAPE.test(release)) return false;
    const text = headText(head);
    return !looksLikeOsv(text) && /"(?:distroversion|apkurl|secfixes|reponame)"\s*:/.test(text);
  },
  parseFile(path: string, data: Buffer, sink: FeedSink): void {
    const file = secdbFileSchema.safeParse(parseJsonFile(path, data, 'Alpine secdb'));
    if (!file.success) {
      sink.skip(`not an Alpine secdb file: ${describeIssues(file.error)}`, path);
      return;
    }
    const release = file.data.distroversion ?? pathSegments(path).at(-2) ?? '';
    const namespace = alpineNamespace(release);
    if (namespace === undefined) {
      sink.skip(`unknown Alpine release '${release}'`, path);
      return;
    }

    const byId = new Map<string, Collected>();
    file.data.packages.forEach((raw, index) => {
      const parsed = packageSchema.safeParse(raw);
      if (!parsed.success) {
        sink.skip(`bad package entry: ${describeIssues(parsed.error)}`, `${path}#packages[${index}]`);
        return;
      }
      const { name, secfixes } = parsed.data.pkg;
      for (const [version, entries] of Object.entries(secfixes ?? {})) {
        const fixedVersion = version.trim();
        if (fixedVersion === '' || /\s/.test(fixedVersion)) {
          sink.skip(`bad fixed version '${version}'`, `${path}#${name}`);
          continue;
        }
        for (const entry of entries ?? []) {
          const ids = typeof entry === 'string' ? secfixIds(entry) : undefined;
          if (ids === undefined) {
            sink.skip(`no advisory id in secfixes entry ${JSON.stringify(entry)}`, `${path}#${name}@${fixedVersion}`);
            continue;
          }
          let collected = byId.get(ids.id);
          if (collected === undefined) {
            collected = { aliases: new Set(), fixes: new Map() };
            byId.set(ids.id, collected);
          }
          for (const alias of ids.aliases) collected.aliases.add(alias);
          let versions = collected.fixes.get(name);
          if (versions === undefined) {
            versions = new Set();
            collected.fixes.set(name, versions);
          }
          versions.add(fixedVersion);
        }
      }
    });

    for (const [id, collected] of [...byId].sort(([a], [b]) => byCodeUnit(a, b))) {
      const advisory: Advisory = {
        id,
        aliases: uniqueSorted(collected.aliases),
        source: SOURCE,
        cvss: [],
        references: [],
        affected: [...collected.fixes]
          .sort(([a], [b]) => byCodeUnit(a, b))
          .map(([name, versions]) => affectedEntry(namespace, name, versions)),
      };
      sink.advisory(advisory);
    }
  },
} satisfies FeedFormat;
