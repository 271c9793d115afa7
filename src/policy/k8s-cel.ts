import { BlockList, isIP, isIPv4 } from 'node:net';
import { celFunc, celMap, celMethod, CelScalar, isCelMap, listType, mapType, type CelFunc, type CelInput, type CelMap, type CelValue } from '@bufbuild/cel';
import { RE2JS } from '@bufbuild/re2';

/**
 * The Kubernetes CEL libraries that @bufbuild/cel lacks, registered with `celFunc`/`celMethod`
 * (see https://kubernetes.io/docs/reference/using-api/cel/#cel-options-language-features-and-libraries):
 *
 * - regex:    `s.find(re)`, `s.findAll(re)`, `s.findAll(re, n)`
 * - lists:    `l.isSorted()`, `l.sum()`, `l.min()`, `l.max()`, `l.indexOf(x)`, `l.lastIndexOf(x)`
 * - quantity: `quantity(s)`, `isQuantity(s)`, `q.isInteger()`, `q.asInteger()`, `q.asApproximateFloat()`,
 *             `q.sign()`, `q.add(q|int)`, `q.sub(q|int)`, `q.isGreaterThan(q)`, `q.isLessThan(q)`, `q.compareTo(q)`
 * - url:      `url(s)`, `isURL(s)`, `u.getScheme()`, `u.getHost()`, `u.getHostname()`, `u.getPort()`,
 *             `u.getEscapedPath()`, `u.getQuery()`
 * - ip/cidr:  `ip(s)`, `isIP(s)`, `ip.family()`, `ip.isLoopback()`, `ip.isUnspecified()`,
 *             `ip.isLinkLocalUnicast()`, `ip.isGlobalUnicast()`, `cidr(s)`, `isCIDR(s)`,
 *             `c.containsIP(ip|s)`, `c.containsCIDR(c|s)`, `c.ip()`, `c.prefixLength()`
 *
 * @bufbuild/cel has no opaque types outside protobuf, so a quantity, URL, IP or CIDR is a map with
 * one tag key (`@quantity`, `@url`, `@ip`, `@cidr`) holding its canonical text: two equal values
 * compare equal with `==` (`quantity("1") == quantity("1000m")`), and the methods check the tag.
 * A `string(x)` conversion is spelled `x.toString()` here.
 */

const DYN = CelScalar.DYN;
const STR = CelScalar.STRING;
const INT = CelScalar.INT;
const BOOL = CelScalar.BOOL;
const DBL = CelScalar.DOUBLE;
const TAGGED = mapType(CelScalar.STRING, CelScalar.DYN);
const LIST = listType(DYN);

function tagged(tag: string, text: string): CelMap {
  return celMap(new Map<string, CelInput>([[tag, text]]));
}

function untag(value: CelMap, tag: string, what: string): string {
  const text = value.get(tag);
  if (typeof text !== 'string') throw new Error(`expected a ${what}, got another map`);
  return text;
}

// --- regex ---------------------------------------------------------------------------------------

/** RE2 programs by pattern: the standard `matches` compiles its pattern on every call. */
const re2Cache = new Map<string, RE2JS>();
function re2(pattern: string): RE2JS {
  let re = re2Cache.get(pattern);
  if (re === undefined) {
    re = RE2JS.compile(pattern);
    if (re2Cache.size > 1000) re2Cache.clear();
    re2Cache.set(pattern, re);
  }
  return re;
}

const regexCache = new Map<string, RegExp>();
function compileRegex(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    // RE2 inline flags such as (?i) at the start are common in policies; JS wants them as flags.
    const m = /^\(\?([ims]+)\)/.exec(pattern);
    re = new RegExp(m ? pattern.slice(m[0].length) : pattern, `g${m ? m[1] ?? '' : ''}`);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  re.lastIndex = 0;
  return re;
}

function findAll(s: string, pattern: string, limit: number): string[] {
  const re = compileRegex(pattern);
  const out: string[] = [];
  if (limit === 0) return out;
  for (const m of s.matchAll(re)) {
    out.push(m[0]);
    if (limit > 0 && out.length >= limit) break;
  }
  return out;
}

// --- lists ---------------------------------------------------------------------------------------

type Comparable = bigint | number | string | boolean;

function comparable(value: CelValue): Comparable {
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  throw new Error('list elements must be numbers, strings or bools to be compared');
}

function compareValues(a: Comparable, b: Comparable): number {
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) {
    const x = typeof a === 'bigint' ? Number(a) : a;
    const y = typeof b === 'bigint' ? Number(b) : b;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a !== typeof b) throw new Error(`cannot compare ${typeof a} with ${typeof b}`);
  return a < b ? -1 : a > b ? 1 : 0;
}

function listValues(list: Iterable<CelValue>): Comparable[] {
  const out: Comparable[] = [];
  for (const v of list) out.push(comparable(v));
  return out;
}

function sameValue(a: CelValue, b: CelValue): boolean {
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) return Number(a) === Number(b);
  return a === b;
}

// --- quantity ------------------------------------------------------------------------------------

/** A quantity as an exact fraction num/den (den > 0), as Kubernetes' resource.Quantity keeps it. */
interface Fraction {
  num: bigint;
  den: bigint;
}

const BINARY_SUFFIX: Record<string, bigint> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n };
const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x === 0n ? 1n : x;
}

function reduce(f: Fraction): Fraction {
  const g = gcd(f.num, f.den);
  return { num: f.num / g, den: f.den / g };
}

const quantityCache = new Map<string, Fraction>();

/** Parses a Kubernetes quantity into an exact fraction (results are kept: limits repeat a lot). */
export function parseQuantity(text: string): Fraction {
  let known = quantityCache.get(text);
  if (known === undefined) {
    known = parseQuantityText(text);
    if (quantityCache.size > 10_000) quantityCache.clear();
    quantityCache.set(text, known);
  }
  return known;
}

function parseQuantityText(text: string): Fraction {
  const m = QUANTITY.exec(text.trim());
  if (!m) throw new Error(`'${text}' is not a Kubernetes quantity (like 500m, 2Gi, 1.5, 1e3)`);
  const [, sign = '', digits = '', suffix = ''] = m;
  const [whole = '', frac = ''] = digits.split('.');
  let num = BigInt(`${whole}${frac}` || '0');
  let den = 10n ** BigInt(frac.length);
  if (suffix in BINARY_SUFFIX) num *= BINARY_SUFFIX[suffix] ?? 1n;
  else {
    const exp = suffix.startsWith('e') || suffix.startsWith('E') ? Number(suffix.slice(1)) : (DECIMAL_SUFFIX[suffix] ?? 0);
    if (Math.abs(exp) > 64) throw new Error(`quantity '${text}' is out of range`);
    if (exp >= 0) num *= 10n ** BigInt(exp);
    else den *= 10n ** BigInt(-exp);
  }
  if (sign === '-') num = -num;
  return reduce({ num, den });
}

function formatFraction(f: Fraction): string {
  return f.den === 1n ? f.num.toString() : `${f.num}/${f.den}`;
}

function fractionOf(text: string): Fraction {
  const [n = '0', d = '1'] = text.split('/');
  return { num: BigInt(n), den: BigInt(d) };
}

function quantityValue(value: CelMap): Fraction {
  return fractionOf(untag(value, '@quantity', 'quantity'));
}

function quantityOf(f: Fraction): CelMap {
  return tagged('@quantity', formatFraction(reduce(f)));
}

function compareFractions(a: Fraction, b: Fraction): number {
  const left = a.num * b.den;
  const right = b.num * a.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

function quantityInput(value: CelValue): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  throw new Error('quantity() takes a string or a number');
}

// --- url -----------------------------------------------------------------------------------------

function parseUrl(text: string): URL {
  // Kubernetes accepts absolute URLs and absolute paths; a relative path has no URL form.
  if (text.startsWith('/')) return new URL(text, 'relative:///');
  const u = new URL(text);
  return u;
}

function urlOf(value: CelMap): URL {
  return parseUrl(untag(value, '@url', 'URL'));
}

// --- ip / cidr -----------------------------------------------------------------------------------

function canonicalIp(text: string): string {
  if (text.includes('%')) throw new Error(`IP address '${text}' has a zone; zones are not allowed`);
  const family = isIP(text);
  if (family === 0) throw new Error(`'${text}' is not an IP address`);
  if (family === 4) return text;
  // Normalise IPv6 text through the URL parser ([...] host), which compresses it.
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

function ipOf(value: CelValue): string {
  if (typeof value === 'string') return canonicalIp(value);
  if (isCelMap(value)) return untag(value, '@ip', 'IP address');
  throw new Error('expected an IP address');
}

function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address = '', bits, extra] = text.split('/');
  if (bits === undefined || extra !== undefined) throw new Error(`'${text}' is not a CIDR (address/prefix)`);
  const family = isIP(address);
  if (family === 0) throw new Error(`'${text}' is not a CIDR: '${address}' is not an IP address`);
  const prefix = Number(bits);
  const max = family === 4 ? 32 : 128;
  if (!/^\d+$/.test(bits) || prefix > max) throw new Error(`'${text}' is not a CIDR: prefix must be 0-${max}`);
  return { address: canonicalIp(address), prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

function cidrOf(value: CelValue): ReturnType<typeof parseCidr> {
  if (typeof value === 'string') return parseCidr(value);
  if (isCelMap(value)) return parseCidr(untag(value, '@cidr', 'CIDR'));
  throw new Error('expected a CIDR');
}

function cidrContains(cidr: ReturnType<typeof parseCidr>, ip: string): boolean {
  const block = new BlockList();
  block.addSubnet(cidr.address, cidr.prefix, cidr.family);
  return block.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6');
}

function ipv6Groups(ip: string): number[] {
  const [head = '', tail] = ip.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => parseInt(g, 16));
}

function isLoopback(ip: string): boolean {
  return isIPv4(ip) ? ip.startsWith('127.') : ip === '::1';
}

function isUnspecified(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

function isLinkLocalUnicast(ip: string): boolean {
  if (isIPv4(ip)) return ip.startsWith('169.254.');
  return ((ipv6Groups(ip)[0] ?? 0) & 0xffc0) === 0xfe80;
}

function isGlobalUnicast(ip: string): boolean {
  if (isUnspecified(ip) || isLoopback(ip) || isLinkLocalUnicast(ip)) return false;
  if (isIPv4(ip)) {
    const first = Number(ip.split('.')[0]);
    return ip !== '255.255.255.255' && !(first >= 224 && first <= 239);
  }
  return ((ipv6Groups(ip)[0] ?? 0) & 0xff00) !== 0xff00;
}

// --- registration --------------------------------------------------------------------------------

export const KUBERNETES_CEL_FUNCTIONS: CelFunc[] = [
  // regex: `matches` is the standard one (RE2, linear time) with compiled patterns kept
  celMethod('matches', STR, [STR], BOOL, function (pattern) {
    return re2(pattern).test(this);
  }),
  celMethod('find', STR, [STR], STR, function (re) {
    return findAll(this, re, 1)[0] ?? '';
  }),
  celMethod('findAll', STR, [STR], listType(STR), function (re) {
    return findAll(this, re, -1);
  }),
  celMethod('findAll', STR, [STR, INT], listType(STR), function (re, n) {
    return findAll(this, re, Number(n));
  }),
  // lists
  celMethod('isSorted', LIST, [], BOOL, function () {
    const values = listValues(this);
    for (let i = 1; i < values.length; i++) {
      const prev = values[i - 1];
      const cur = values[i];
      if (prev !== undefined && cur !== undefined && compareValues(prev, cur) > 0) return false;
    }
    return true;
  }),
  celMethod('sum', LIST, [], DYN, function () {
    const values = listValues(this);
    if (values.length === 0) return 0n;
    if (values.every((v) => typeof v === 'bigint')) return values.reduce<bigint>((a, v) => a + (typeof v === 'bigint' ? v : 0n), 0n);
    let total = 0;
    for (const v of values) {
      if (typeof v !== 'number' && typeof v !== 'bigint') throw new Error('sum() needs a list of numbers');
      total += Number(v);
    }
    return total;
  }),
  celMethod('min', LIST, [], DYN, function () {
    const values = listValues(this);
    if (values.length === 0) throw new Error('min() of an empty list');
    return values.reduce((a, v) => (compareValues(v, a) < 0 ? v : a));
  }),
  celMethod('max', LIST, [], DYN, function () {
    const values = listValues(this);
    if (values.length === 0) throw new Error('max() of an empty list');
    return values.reduce((a, v) => (compareValues(v, a) > 0 ? v : a));
  }),
  celMethod('indexOf', LIST, [DYN], INT, function (x) {
    let i = 0;
    for (const v of this) {
      if (sameValue(v, x)) return BigInt(i);
      i += 1;
    }
    return -1n;
  }),
  celMethod('lastIndexOf', LIST, [DYN], INT, function (x) {
    let found = -1;
    let i = 0;
    for (const v of this) {
      if (sameValue(v, x)) found = i;
      i += 1;
    }
    return BigInt(found);
  }),
  // quantity
  celFunc('quantity', [DYN], TAGGED, (s) => quantityOf(parseQuantity(quantityInput(s)))),
  celFunc('isQuantity', [DYN], BOOL, (s) => {
    try {
      parseQuantity(quantityInput(s));
      return true;
    } catch {
      return false;
    }
  }),
  celMethod('isInteger', TAGGED, [], BOOL, function () {
    return quantityValue(this).den === 1n;
  }),
  celMethod('asInteger', TAGGED, [], INT, function () {
    const q = quantityValue(this);
    if (q.den !== 1n) throw new Error('quantity is not an integer: check isInteger() first');
    return q.num;
  }),
  celMethod('asApproximateFloat', TAGGED, [], DBL, function () {
    const q = quantityValue(this);
    return Number(q.num) / Number(q.den);
  }),
  celMethod('sign', TAGGED, [], INT, function () {
    const q = quantityValue(this);
    return q.num > 0n ? 1n : q.num < 0n ? -1n : 0n;
  }),
  celMethod('add', TAGGED, [DYN], TAGGED, function (other) {
    const a = quantityValue(this);
    const b = typeof other === 'bigint' ? { num: other, den: 1n } : isCelMap(other) ? quantityValue(other) : parseQuantity(quantityInput(other));
    return quantityOf({ num: a.num * b.den + b.num * a.den, den: a.den * b.den });
  }),
  celMethod('sub', TAGGED, [DYN], TAGGED, function (other) {
    const a = quantityValue(this);
    const b = typeof other === 'bigint' ? { num: other, den: 1n } : isCelMap(other) ? quantityValue(other) : parseQuantity(quantityInput(other));
    return quantityOf({ num: a.num * b.den - b.num * a.den, den: a.den * b.den });
  }),
  celMethod('isGreaterThan', TAGGED, [TAGGED], BOOL, function (other) {
    return compareFractions(quantityValue(this), quantityValue(other)) > 0;
  }),
  celMethod('isLessThan', TAGGED, [TAGGED], BOOL, function (other) {
    return compareFractions(quantityValue(this), quantityValue(other)) < 0;
  }),
  celMethod('compareTo', TAGGED, [TAGGED], INT, function (other) {
    return BigInt(compareFractions(quantityValue(this), quantityValue(other)));
  }),
  // url
  celFunc('url', [STR], TAGGED, (s) => {
    try {
      parseUrl(s);
    } catch {
      throw new Error(`'${s}' is not an absolute URL or absolute path`);
    }
    return tagged('@url', s);
  }),
  celFunc('isURL', [STR], BOOL, (s) => {
    try {
      parseUrl(s);
      return true;
    } catch {
      return false;
    }
  }),
  celMethod('getScheme', TAGGED, [], STR, function () {
    const u = urlOf(this);
    return u.protocol === 'relative:' ? '' : u.protocol.slice(0, -1);
  }),
  celMethod('getHost', TAGGED, [], STR, function () {
    return urlOf(this).host;
  }),
  celMethod('getHostname', TAGGED, [], STR, function () {
    const host = urlOf(this).hostname;
    return host.startsWith('[') ? host.slice(1, -1) : host;
  }),
  celMethod('getPort', TAGGED, [], STR, function () {
    return urlOf(this).port;
  }),
  celMethod('getEscapedPath', TAGGED, [], STR, function () {
    return urlOf(this).pathname;
  }),
  celMethod('getQuery', TAGGED, [], mapType(STR, listType(STR)), function () {
    const out = new Map<string, string[]>();
    for (const [k, v] of urlOf(this).searchParams) out.set(k, [...(out.get(k) ?? []), v]);
    return celMap(out);
  }),
  // ip / cidr
  celFunc('ip', [STR], TAGGED, (s) => tagged('@ip', canonicalIp(s))),
  celFunc('isIP', [STR], BOOL, (s) => isIP(s) !== 0 && !s.includes('%')),
  celMethod('family', TAGGED, [], INT, function () {
    return isIPv4(ipOf(this)) ? 4n : 6n;
  }),
  celMethod('isLoopback', TAGGED, [], BOOL, function () {
    return isLoopback(ipOf(this));
  }),
  celMethod('isUnspecified', TAGGED, [], BOOL, function () {
    return isUnspecified(ipOf(this));
  }),
  celMethod('isLinkLocalUnicast', TAGGED, [], BOOL, function () {
    return isLinkLocalUnicast(ipOf(this));
  }),
  celMethod('isGlobalUnicast', TAGGED, [], BOOL, function () {
    return isGlobalUnicast(ipOf(this));
  }),
  celFunc('cidr', [STR], TAGGED, (s) => {
    const c = parseCidr(s);
    return tagged('@cidr', `${c.address}/${c.prefix}`);
  }),
  celFunc('isCIDR', [STR], BOOL, (s) => {
    try {
      parseCidr(s);
      return true;
    } catch {
      return false;
    }
  }),
  celMethod('containsIP', TAGGED, [DYN], BOOL, function (ip) {
    return cidrContains(cidrOf(this), ipOf(ip));
  }),
  celMethod('containsCIDR', TAGGED, [DYN], BOOL, function (other) {
    const outer = cidrOf(this);
    const inner = cidrOf(other);
    return outer.family === inner.family && inner.prefix >= outer.prefix && cidrContains(outer, inner.address);
  }),
  celMethod('ip', TAGGED, [], TAGGED, function () {
    return tagged('@ip', cidrOf(this).address);
  }),
  celMethod('prefixLength', TAGGED, [], INT, function () {
    return BigInt(cidrOf(this).prefix);
  }),
  // the canonical text of a tagged value (Kubernetes spells this string(x))
  celMethod('toString', TAGGED, [], STR, function () {
    for (const tag of ['@quantity', '@url', '@ip', '@cidr']) {
      const text = this.get(tag);
      if (typeof text === 'string') return text;
    }
    throw new Error('toString() applies to quantity, url, ip and cidr values');
  }),
];
