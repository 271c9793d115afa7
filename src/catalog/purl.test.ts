/**
 * purl conformance: the package-url spec's own test suite (../shared/conformance/purl/tests) run against
 * packageurl-js parsing and our buildPurl, for the purl types Palisade emits.
 *
 * - `parse`: the input string parses to the expected components (or fails to parse when it must);
 * - `build`: buildPurl of the components gives the expected canonical string (or throws when it must);
 * - `validate`: parse then buildPurl gives the expected canonical string.
 *
 * Cases where packageurl-js 2.0.1 departs from the spec are listed in KNOWN_DIVERGENCES with the
 * reason; they are asserted to still diverge, so a library upgrade that fixes one shows up here.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PackageURL } from 'packageurl-js';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PACKAGE_TYPES, type PackageType } from '../core/index.js';
import { buildPurl } from './purl.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const suiteDir = path.resolve(repoRoot, '../shared/conformance/purl/tests');

const USED_TYPES = ['deb', 'apk', 'rpm', 'npm', 'pypi', 'maven', 'golang', 'cargo', 'gem', 'nuget', 'composer'] as const;

const Components = z.object({
  type: z.string().nullable(),
  namespace: z.string().nullable(),
  name: z.string().nullable(),
  version: z.string().nullable(),
  qualifiers: z.record(z.string(), z.string()).nullable(),
  subpath: z.string().nullable(),
});
type Components = z.infer<typeof Components>;

const TestCase = z.discriminatedUnion('test_type', [
  z.object({ test_type: z.literal('parse'), description: z.string(), input: z.string(), expected_output: Components.nullish(), expected_failure: z.boolean() }),
  z.object({ test_type: z.literal('build'), description: z.string(), input: Components, expected_output: z.string().nullish(), expected_failure: z.boolean() }),
  z.object({ test_type: z.literal('validate'), description: z.string(), input: z.string(), expected_output: z.string().nullish(), expected_failure: z.boolean() }),
]);
type TestCase = z.infer<typeof TestCase>;
const TestFile = z.object({ tests: z.array(z.unknown()) });

/**
 * Cases packageurl-js 2.0.1 (and so buildPurl) does not meet (buildPurl itself encodes '+' in versions as the spec wants), keyed by `file|test_type|input` (the input
 * as a purl string, or the built case's expected output), with the reason.
 */
const COLON_IN_QUALIFIER = "the spec leaves ':' unencoded in qualifier values; packageurl-js encodes it as %3A";
const UPPERCASE_QUALIFIER_KEY = 'the spec rejects upper-case qualifier keys; packageurl-js lower-cases them and parses';
const KNOWN_DIVERGENCES: Record<string, string> = {
  'types/npm-test.json|validate|pkg:npm/mypackage@12.4.5?vcs_url=git://host.com/path/to/repo.git%404345abcd34343': COLON_IN_QUALIFIER,
  'types/npm-test.json|build|pkg:npm/mypackage@12.4.5?vcs_url=git:%2F%2Fhost.com%2Fpath%2Fto%2Frepo.git%404345abcd34343': COLON_IN_QUALIFIER,
  'types/maven-test.json|validate|pkg:Maven/org.apache.xmlgraphics/batik-anim@1.9.1?classifier=sources&repositorY_url=https://repo.spring.io/release': COLON_IN_QUALIFIER,
  'types/maven-test.json|validate|pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1?type=war&repository_url=https://repo.spring.io/release': COLON_IN_QUALIFIER,
  'types/maven-test.json|validate|pkg:maven/groovy/groovy@1.0?repository_url=https://maven.google.com': COLON_IN_QUALIFIER,
  'types/maven-test.json|build|pkg:maven/groovy/groovy@1.0?repository_url=https:%2F%2Fmaven.google.com': COLON_IN_QUALIFIER,
  'types/rpm-test.json|parse|pkg:Rpm/fedora/curl@7.50.3-1.fc25?Arch=i386&Distro=fedora-25': UPPERCASE_QUALIFIER_KEY,
  'types/gem-test.json|parse|pkg:gem/jruby-launcher@1.1.2?Platform=java': UPPERCASE_QUALIFIER_KEY,
};

function caseKey(file: string, test: TestCase): string {
  return `${file}|${test.test_type}|${test.test_type === 'build' ? (test.expected_output ?? JSON.stringify(test.input)) : test.input}`;
}

/** Components with qualifiers in key order, so that two equal sets compare equal as JSON. */
function canonicalJson(parts: Components | null | undefined): string {
  if (!parts) return 'null';
  const qualifiers = parts.qualifiers ? Object.fromEntries(Object.entries(parts.qualifiers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : null;
  return JSON.stringify({ ...parts, qualifiers });
}

function isPackageType(value: string | null): value is PackageType {
  return value !== null && (PACKAGE_TYPES as readonly string[]).includes(value);
}

function caseType(test: TestCase): string | undefined {
  if (test.test_type === 'build') return test.input.type ?? undefined;
  return /^pkg:\/*([^/@?#]+)\//i.exec(test.input)?.[1]?.toLowerCase();
}

function components(purl: PackageURL): Components {
  const qualifiers = purl.qualifiers && Object.keys(purl.qualifiers).length > 0 ? { ...purl.qualifiers } : null;
  return {
    type: purl.type,
    namespace: purl.namespace ?? null,
    name: purl.name,
    version: purl.version ?? null,
    qualifiers,
    subpath: purl.subpath ?? null,
  };
}

function build(parts: Components): string {
  if (!isPackageType(parts.type)) throw new Error(`type ${parts.type ?? 'null'} is not one Palisade builds`);
  if (parts.name === null) throw new Error('name is required');
  return buildPurl({
    type: parts.type,
    namespace: parts.namespace ?? undefined,
    name: parts.name,
    version: parts.version ?? undefined,
    qualifiers: parts.qualifiers ?? undefined,
    subpath: parts.subpath ?? undefined,
  });
}

/** Runs one case; returns undefined when it passes, else what went wrong. */
function run(test: TestCase): string | undefined {
  try {
    switch (test.test_type) {
      case 'parse': {
        const got = components(PackageURL.fromString(test.input));
        if (test.expected_failure) return `parsed to ${JSON.stringify(got)} but must fail`;
        const want = canonicalJson(test.expected_output);
        return canonicalJson(got) === want ? undefined : `parsed to ${canonicalJson(got)}, expected ${want}`;
      }
      case 'build': {
        const got = build(test.input);
        if (test.expected_failure) return `built ${got} but must fail`;
        return got === test.expected_output ? undefined : `built ${got}, expected ${test.expected_output ?? 'null'}`;
      }
      case 'validate': {
        const got = build(components(PackageURL.fromString(test.input)));
        if (test.expected_failure) return `round-tripped to ${got} but must fail`;
        return got === test.expected_output ? undefined : `round-tripped to ${got}, expected ${test.expected_output ?? 'null'}`;
      }
    }
  } catch (error) {
    if (test.expected_failure) return undefined;
    return `threw ${error instanceof Error ? error.message : String(error)}`;
  }
}

function loadCases(): { file: string; test: TestCase }[] {
  const files = [
    ...USED_TYPES.map((type) => `types/${type}-test.json`).filter((f) => existsSync(path.join(suiteDir, f))),
    ...readdirSync(path.join(suiteDir, 'spec')).filter((f) => f.endsWith('.json')).map((f) => `spec/${f}`),
  ];
  return files.flatMap((file) =>
    TestFile.parse(JSON.parse(readFileSync(path.join(suiteDir, file), 'utf8')))
      .tests.map((raw) => TestCase.parse(raw))
      .filter((test) => {
        const type = caseType(test);
        return type !== undefined && (USED_TYPES as readonly string[]).includes(type);
      })
      .map((test) => ({ file, test })),
  );
}

const present = existsSync(suiteDir);
if (!present) console.warn(`skipping the purl conformance suite: ${suiteDir} is absent (it comes from ../shared/conformance)`);

describe.skipIf(!present)('purl-spec conformance for the types Palisade emits', () => {
  const cases = present ? loadCases() : [];
  const counts = new Map<string, { passed: number; diverging: number }>();

  afterAll(() => {
    const lines = [...counts].map(([file, c]) => `${file}: ${c.passed} passed, ${c.diverging} known divergences`);
    console.info(`purl conformance\n${lines.join('\n')}`);
  });

  it('finds cases for every type used', () => {
    const types = new Set(cases.map(({ test }) => caseType(test)));
    expect(USED_TYPES.filter((type) => !types.has(type))).toEqual([]);
  });

  it.each(cases.map(({ file, test }) => [caseKey(file, test), file, test] as const))('%s', (key, file, test) => {
    const problem = run(test);
    const count = counts.get(file) ?? { passed: 0, diverging: 0 };
    counts.set(file, count);
    const known = KNOWN_DIVERGENCES[key];
    if (known !== undefined) {
      expect(problem, `expected the known divergence (${known}) to persist`).toBeDefined();
      count.diverging++;
      return;
    }
    expect(problem, problem).toBeUndefined();
    count.passed++;
  });
});
