import type { CatalogFile } from '../types.js';
import { locationOf, type ParseOutcome } from '../generic.js';
import { gemPackage, isGemName, isGemVersion } from './common.js';

/** A Ruby string literal: "…", '…' or %q{…} / %q(…) / %Q[…], optionally followed by `.freeze`. */
const STRING = String.raw`(?:"([^"\\\n]*)"|'([^'\\\n]*)'|%[qQ]?\{([^}\n]*)\}|%[qQ]?\(([^)\n]*)\)|%[qQ]?\[([^\]\n]*)\])`;

function firstGroup(match: RegExpExecArray | null): string | undefined {
  if (!match) return undefined;
  for (let i = 1; i < match.length; i++) if (match[i] !== undefined) return match[i];
  return undefined;
}

function assignment(text: string, attr: string): RegExpExecArray | null {
  return new RegExp(String.raw`^\s*\w+\.${attr}\s*=\s*(?:Gem::Version\.new\(\s*)?${STRING}`, 'm').exec(text);
}

/** `s.licenses = ["MIT".freeze, "Ruby".freeze]` or `s.license = "MIT"`. */
function licensesOf(text: string): string[] {
  const list = /^\s*\w+\.licenses\s*=\s*\[([^\]\n]*)\]/m.exec(text);
  const source = list?.[1] ?? firstGroup(assignment(text, 'license'));
  if (source === undefined) return [];
  if (!list) return [source];
  const out: string[] = [];
  const item = new RegExp(STRING, 'g');
  for (let m = item.exec(source); m !== null; m = item.exec(source)) {
    const value = firstGroup(m);
    if (value) out.push(value);
  }
  return out;
}

/**
 * An installed gem specification (`specifications/*.gemspec`, Ruby code written by RubyGems): the
 * `# stub: name version platform require_paths` first lines when present, else `s.name = "…"` /
 * `s.version = "…"` assignments. The file is never evaluated.
 */
export function parseGemspec(file: CatalogFile): ParseOutcome {
  const text = file.bytes.toString('utf8');
  const head = text.slice(0, 512);
  const stub = /^# stub: (\S+) (\S+)/m.exec(head);
  const name = stub?.[1] ?? firstGroup(assignment(text, 'name')) ?? '';
  const version = stub?.[2] ?? firstGroup(assignment(text, 'version')) ?? '';
  if (!isGemName(name) || !isGemVersion(version)) return { packages: [], skipped: 1 };
  return { packages: [gemPackage(name, version, locationOf(file), licensesOf(text))], skipped: 0 };
}
