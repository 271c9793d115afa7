import type { CatalogFile } from '../types.js';
import { AppError } from '../../core/index.js';
import { locationOf, splitLines, type ParseOutcome } from '../generic.js';
import { isNpmName, isNpmVersion, npmPackage } from './common.js';

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && ((v.startsWith("'") && v.endsWith("'")) || (v.startsWith('"') && v.endsWith('"')))) return v.slice(1, -1);
  return v;
}

/** `/@scope/name/1.2.3_peer@1.0.0` (lockfile v5) → name and version. */
function splitV5(key: string): { name: string; version: string } | undefined {
  const parts = key.replace(/^\//, '').split('/');
  const scoped = parts[0]?.startsWith('@') === true;
  if (parts.length !== (scoped ? 3 : 2)) return undefined;
  const name = scoped ? `${parts[0]}/${parts[1]}` : (parts[0] ?? '');
  const version = (parts[parts.length - 1] ?? '').split('_')[0] ?? '';
  return { name, version };
}

/** `/@scope/name@1.2.3(peer@1.0.0)` (v6) or `@scope/name@1.2.3` (v9) → name and version. */
function splitV6(key: string): { name: string; version: string } | undefined {
  const bare = key.replace(/^\//, '');
  const paren = bare.indexOf('(');
  const spec = paren < 0 ? bare : bare.slice(0, paren);
  const at = spec.lastIndexOf('@');
  if (at <= 0) return undefined;
  return { name: spec.slice(0, at), version: spec.slice(at + 1) };
}

/**
 * pnpm-lock.yaml, lockfile versions 5.x (`/name/1.2.3_peer`), 6.x (`/name@1.2.3(peer)`) and 9.x
 * (`name@1.2.3`). Reads the keys of the `packages:` section only (v9 `snapshots:` repeats them with
 * peer suffixes). `dev: true` entries are skipped; non-registry entries (git, tarball, file) are
 * skipped and counted.
 */
export function parsePnpmLock(file: CatalogFile): ParseOutcome {
  const lines = splitLines(file.bytes.toString('utf8'));
  const versionLine = lines.find((l) => l.startsWith('lockfileVersion:'));
  if (versionLine === undefined) {
    throw new AppError('BAD_INPUT', `${file.path} has no lockfileVersion, so it is not a pnpm lockfile pnpm can read`, {
      details: { path: file.path },
    });
  }
  const major = parseInt(unquote(versionLine.slice('lockfileVersion:'.length)), 10);
  const split = Number.isFinite(major) && major <= 5 ? splitV5 : splitV6;

  const location = locationOf(file);
  const found: { name: string; version: string; dev: boolean }[] = [];
  let skipped = 0;
  let inPackages = false;
  let current: { name: string; version: string; dev: boolean } | undefined;
  for (const line of lines) {
    if (line === '' || line.trimStart().startsWith('#')) continue;
    if (line[0] !== ' ') {
      inPackages = line.trimEnd() === 'packages:';
      current = undefined;
      continue;
    }
    if (!inPackages) continue;
    if (line.startsWith('  ') && line[2] !== ' ' && line.trimEnd().endsWith(':')) {
      const key = unquote(line.trim().slice(0, -1));
      const nv = split(key);
      if (nv === undefined || !isNpmName(nv.name) || !isNpmVersion(nv.version)) {
        skipped++;
        current = undefined;
      } else {
        current = { ...nv, dev: false };
        found.push(current);
      }
      continue;
    }
    if (current && line.startsWith('    ') && line[4] !== ' ' && line.trim() === 'dev: true') current.dev = true;
  }
  return {
    packages: found.filter((p) => !p.dev).map((p) => npmPackage(p.name, p.version, location)),
    skipped,
  };
}
