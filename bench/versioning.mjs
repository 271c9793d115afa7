// Micro-benchmark of version comparison and OSV range evaluation, per scheme.
// Run after `npm run build`: node bench/versioning.mjs [distDir]
// Versions come from ../shared/conformance/versions (real ecosystem strings); skipped when absent.
// Baseline: the matcher must handle 20,000 packages/s; a package is checked against a handful of
// advisories, each one isAffected() call, so each scheme should do well over 100,000 isAffected/s.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.resolve(repoRoot, process.argv[2] ?? 'dist');
const { SCHEMES } = await import(pathToFileURL(path.join(dist, 'versioning/registry.js')).href);
const { isAffected, fixedVersionsFor } = await import(pathToFileURL(path.join(dist, 'versioning/range.js')).href);

const dir = path.resolve(repoRoot, '../shared/conformance/versions/osv-scalibr-semantic');
if (!existsSync(dir)) {
  console.log(`versioning bench: ${dir} is absent; nothing to measure`);
  process.exit(0);
}

const FILES = {
  dpkg: 'debian-versions-generated.txt',
  apk: 'alpine-versions-generated.txt',
  rpm: 'redhat-versions.txt',
  maven: 'maven-versions-generated.txt',
  pep440: 'pypi-versions-generated.txt',
  rubygems: 'rubygems-versions-generated.txt',
  composer: 'packagist-versions-generated.txt',
  semver: 'semver-versions.txt',
  go: 'semver-versions.txt',
  nuget: 'nuget-versions.txt',
  pub: 'pub-versions.txt',
  cran: 'cran-versions-generated.txt',
  hackage: 'hackage-versions.txt',
};

function versionsOf(file) {
  const out = new Set();
  for (const line of readFileSync(path.join(dir, file), 'utf8').split('\n')) {
    const m = /^(\S+)\s+[<=>]\s+(\S+)/.exec(line.trim());
    if (m && !line.startsWith('#') && !line.startsWith('//')) {
      out.add(m[1]);
      out.add(m[2]);
    }
  }
  return [...out];
}

function time(fn, minMs = 300) {
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    n += fn();
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return (n / elapsed) * 1000;
}

console.log('scheme    versions  compare/s    isAffected/s  (3 ranges, 2 pairs each)');
for (const [id, file] of Object.entries(FILES)) {
  const scheme = SCHEMES[id];
  const versions = versionsOf(file);
  const sorted = [...versions].sort((a, b) => scheme.compare(a, b));
  const at = (i) => sorted[i % sorted.length];
  const ranges = [0, 1, 2].map((k) => ({
    type: 'ECOSYSTEM',
    events: [
      { introduced: at(k * 7) },
      { fixed: at(k * 7 + 40) },
      { introduced: at(k * 7 + 90) },
      { fixed: at(k * 7 + 150) },
    ],
  }));
  const affected = { ranges, versions: [] };
  let i = 0;
  const cmp = time(() => {
    for (let k = 0; k < 1000; k++, i++) scheme.compare(versions[i % versions.length], versions[(i * 7 + 3) % versions.length]);
    return 1000;
  });
  const aff = time(() => {
    for (let k = 0; k < 1000; k++, i++) {
      const v = versions[i % versions.length];
      if (isAffected(scheme, v, affected)) fixedVersionsFor(scheme, v, ranges);
    }
    return 1000;
  });
  console.log(
    `${id.padEnd(9)} ${String(versions.length).padStart(8)}  ${Math.round(cmp).toLocaleString('en').padStart(11)}  ${Math.round(aff).toLocaleString('en').padStart(12)}`,
  );
}
