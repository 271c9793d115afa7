import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { celEnv, celMethod, CelScalar, listType, parse, plan, isCelError, type CelEnv, type CelFunc, type CelInput, type CelList } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { AppError, errorMessage } from '../core/index.js';

/**
 * The CEL environment of every Palisade rule: the CEL standard library (`has`, `exists`, `all`,
 * `map`, `filter`, `in`, `matches`, `startsWith`, `endsWith`, `contains`, `size`), the cel-go
 * `strings` extension that Kubernetes also enables (`lowerAscii`, `upperAscii`, `split`, `join`,
 * `indexOf`, `lastIndexOf`, `replace`, `substring`, `trim`, `charAt`), and these Palisade functions,
 * registered with `celMethod` (the function-registration API of @bufbuild/cel):
 *
 * - `s.containsAny(list)`   true when `s` contains any of the strings of `list`
 * - `s.startsWithAny(list)` true when `s` starts with any of them
 * - `s.endsWithAny(list)`   true when `s` ends with any of them
 * - `s.inCidrs(list)`       true when the IP address `s` lies in any CIDR of `list` (`10.0.0.0/8`,
 *                           `2001:db8::/32`; a bare address means /32 or /128)
 *
 * Kubernetes' own `ip()`/`cidr()` types, `quantity()`, `url()` and `authorizer` are not in
 * @bufbuild/cel; `inCidrs` covers what the audit rules need of the first two.
 */

function stringItems(list: CelList): string[] {
  const out: string[] = [];
  for (const item of list) if (typeof item === 'string') out.push(item);
  return out;
}

/** Parses a dotted-quad IPv4 address to an unsigned 32-bit number, or -1. Hot path: no regex, no allocation. */
export function parseIPv4(ip: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      digits += 1;
      if (digits > 3 || part > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots += 1;
    } else return -1;
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + part;
}

/**
 * A compiled list of addresses and CIDRs. IPv4 is checked with integer masks (node's BlockList
 * allocates a SocketAddress per check, too slow for a rule that sees every event); IPv6 goes to
 * BlockList. A bare address means /32 or /128; invalid entries are ignored (see invalidCidrs).
 */
export interface CidrSet {
  has(ip: string): boolean;
}

export function buildCidrSet(cidrs: readonly string[]): CidrSet {
  const v4: Array<[number, number]> = [];
  const v6 = new BlockList();
  let hasV6 = false;
  for (const entry of cidrs) {
    const [address = '', bits] = entry.trim().split('/');
    const prefix = bits === undefined ? undefined : Number(bits);
    const n = parseIPv4(address);
    if (n >= 0) {
      const p = prefix ?? 32;
      if (!Number.isInteger(p) || p < 0 || p > 32) continue;
      const mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
      v4.push([(n & mask) >>> 0, mask]);
    } else if (isIPv6(address)) {
      const p = prefix ?? 128;
      if (!Number.isInteger(p) || p < 0 || p > 128) continue;
      v6.addSubnet(address, p, 'ipv6');
      hasV6 = true;
    }
  }
  return {
    has(ip) {
      const n = parseIPv4(ip);
      if (n >= 0) {
        for (const [net, mask] of v4) if (((n & mask) >>> 0) === net) return true;
        return false;
      }
      return hasV6 && isIPv6(ip) && v6.check(ip, 'ipv6');
    },
  };
}

/** Invalid CIDR entries are ignored by buildCidrSet; this names them so loaders can refuse them. */
export function invalidCidrs(cidrs: readonly string[]): string[] {
  return cidrs.filter((entry) => {
    const [address = '', bits] = entry.trim().split('/');
    const max = isIPv4(address) ? 32 : isIPv6(address) ? 128 : 0;
    if (max === 0) return true;
    if (bits === undefined) return false;
    const prefix = Number(bits);
    return !Number.isInteger(prefix) || prefix < 0 || prefix > max;
  });
}

/** CIDR lists are compiled once per list object (the same `lists.x` array is passed on every call). */
const cidrSets = new WeakMap<CelList, CidrSet>();

const LIST = listType(CelScalar.DYN);

export const PALISADE_CEL_FUNCTIONS: CelFunc[] = [
  celMethod('containsAny', CelScalar.STRING, [LIST], CelScalar.BOOL, function (list) {
    for (const item of stringItems(list)) if (this.includes(item)) return true;
    return false;
  }),
  celMethod('startsWithAny', CelScalar.STRING, [LIST], CelScalar.BOOL, function (list) {
    for (const item of stringItems(list)) if (this.startsWith(item)) return true;
    return false;
  }),
  celMethod('endsWithAny', CelScalar.STRING, [LIST], CelScalar.BOOL, function (list) {
    for (const item of stringItems(list)) if (this.endsWith(item)) return true;
    return false;
  }),
  celMethod('inCidrs', CelScalar.STRING, [LIST], CelScalar.BOOL, function (list) {
    let set = cidrSets.get(list);
    if (set === undefined) {
      set = buildCidrSet(stringItems(list));
      cidrSets.set(list, set);
    }
    return set.has(this);
  }),
];

export function createCelEnv(extra: readonly CelFunc[] = []): CelEnv {
  return celEnv({ funcs: [...strings, ...PALISADE_CEL_FUNCTIONS, ...extra] });
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;

/**
 * Replaces macro names used as bare identifiers (not after a `.`, not inside string literals) by
 * their parenthesised CEL text, recursively. Macros are how rules share conditions
 * (`is_workload_create && privileged_container`), and a user can redefine one without copying a rule.
 */
export function expandMacros(expr: string, macros: ReadonlyMap<string, string>, depth = 0, where = 'condition'): string {
  if (depth > 16) throw new AppError('BAD_INPUT', `${where}: macros nest more than 16 deep (a macro probably uses itself)`);
  let out = '';
  let i = 0;
  while (i < expr.length) {
    const ch = expr.charAt(i);
    if (ch === '"' || ch === "'") {
      const triple = expr.startsWith(ch.repeat(3), i);
      const quote = triple ? ch.repeat(3) : ch;
      const raw = i > 0 && /[rR]/.test(expr.charAt(i - 1));
      let j = i + quote.length;
      while (j < expr.length && !expr.startsWith(quote, j)) j += !raw && expr.charAt(j) === '\\' ? 2 : 1;
      j = Math.min(expr.length, j + quote.length);
      out += expr.slice(i, j);
      i = j;
      continue;
    }
    if (IDENT_START.test(ch)) {
      let j = i + 1;
      while (j < expr.length && IDENT_PART.test(expr.charAt(j))) j += 1;
      const word = expr.slice(i, j);
      const before = out.trimEnd();
      const isMember = before.endsWith('.') && !/\d\.$/.test(before);
      const body = isMember ? undefined : macros.get(word);
      out += body === undefined ? word : `(${expandMacros(body, macros, depth + 1, `${where} → macro ${word}`)})`;
      i = j;
      continue;
    }
    out += ch;
    i += 1;
  }
  return out;
}

export type CelProgram = (bindings: Record<string, CelInput>) => { ok: true; value: boolean } | { ok: false; error: string };

/** Parses and plans a condition once; the program is then called with the event's variables. */
export function compileCondition(env: CelEnv, expr: string, where: string): CelProgram {
  let program: ReturnType<typeof plan>;
  try {
    program = plan(env, parse(expr));
  } catch (error) {
    throw new AppError('BAD_INPUT', `${where}: the CEL condition does not parse (${errorMessage(error)}): fix the expression`);
  }
  return (bindings) => {
    let result: ReturnType<typeof program>;
    try {
      result = program(bindings);
    } catch (error) {
      return { ok: false, error: errorMessage(error) };
    }
    if (isCelError(result)) return { ok: false, error: result.message };
    if (typeof result !== 'boolean') return { ok: false, error: `condition returned a ${typeof result}, not a bool` };
    return { ok: true, value: result };
  };
}
