import { parse, plan, isCelError, isCelList } from '@bufbuild/cel';
import { describe, expect, it } from 'vitest';
import { createCelEnv } from '../rules/index.js';
import { KUBERNETES_CEL_FUNCTIONS, parseQuantity } from './k8s-cel.js';

const env = createCelEnv(KUBERNETES_CEL_FUNCTIONS);

function run(expr: string): unknown {
  const result = plan(env, parse(expr))({});
  if (isCelError(result)) return `error: ${result.message}`;
  return result;
}

describe('Kubernetes CEL library', () => {
  it.each([
    ['"registry.example.com/app:1.2".find("[0-9]+\\\\.[0-9]+")', '1.2'],
    ['"abc".find("z")', ''],
    ['"a1b22c333".findAll("[0-9]+").size()', 3n],
    ['"a1b22c333".findAll("[0-9]+", 2)[1]', '22'],
    ['[1, 2, 3].isSorted()', true],
    ['["b", "a"].isSorted()', false],
    ['[1, 2, 3].sum()', 6n],
    ['[1.5, 2.5].sum()', 4],
    ['[3, 1, 2].min()', 1n],
    ['["x", "z", "y"].max()', 'z'],
    ['["a", "b", "a"].indexOf("a")', 0n],
    ['["a", "b", "a"].lastIndexOf("a")', 2n],
    ['["a"].indexOf("q")', -1n],
    ['quantity("1") == quantity("1000m")', true],
    ['quantity("1Gi").isGreaterThan(quantity("1G"))', true],
    ['quantity("500m").isLessThan(quantity("0.6"))', true],
    ['quantity("2Ki").asInteger()', 2048n],
    ['quantity("1.5").isInteger()', false],
    ['quantity("1.5").asApproximateFloat()', 1.5],
    ['quantity("-3").sign()', -1n],
    ['quantity("1").add(quantity("500m")).toString()', '3/2'],
    ['quantity("1").sub(1).sign()', 0n],
    ['quantity("1e3").compareTo(quantity("1k"))', 0n],
    ['quantity(2).isGreaterThan(quantity("1900m"))', true],
    ['isQuantity("2Gb")', false],
    ['isQuantity("250Mi")', true],
    ['url("https://example.com:8443/a/b?x=1&x=2").getHostname()', 'example.com'],
    ['url("https://example.com:8443/a/b?x=1&x=2").getPort()', '8443'],
    ['url("https://example.com:8443/a/b?x=1&x=2").getScheme()', 'https'],
    ['url("https://example.com:8443/a/b?x=1&x=2").getEscapedPath()', '/a/b'],
    ['url("https://example.com/?x=1&x=2").getQuery()["x"]', ['1', '2']],
    ['url("https://[::1]:80/").getHostname()', '::1'],
    ['isURL("not a url")', false],
    ['isURL("/healthz")', true],
    ['ip("10.0.0.1").family()', 4n],
    ['ip("fe80::1").isLinkLocalUnicast()', true],
    ['ip("127.0.0.1").isLoopback()', true],
    ['ip("8.8.8.8").isGlobalUnicast()', true],
    ['ip("::").isUnspecified()', true],
    ['isIP("1.2.3")', false],
    ['ip("2001:db8:0:0::1") == ip("2001:db8::1")', true],
    ['cidr("10.0.0.0/8").containsIP("10.20.30.40")', true],
    ['cidr("10.0.0.0/8").containsIP(ip("11.0.0.1"))', false],
    ['cidr("10.0.0.0/8").containsCIDR("10.1.0.0/16")', true],
    ['cidr("10.1.0.0/16").containsCIDR("10.0.0.0/8")', false],
    ['cidr("192.168.0.0/24").prefixLength()', 24n],
    ['cidr("192.168.0.0/24").ip().toString()', '192.168.0.0'],
    ['isCIDR("10.0.0.0/33")', false],
  ])('%s → %o', (expr, expected) => {
    const value = run(expr);
    if (Array.isArray(expected)) expect(isCelList(value) ? [...value] : value).toEqual(expected);
    else expect(value).toEqual(expected);
  });

  it.each([
    ['quantity("12 cores")', "'12 cores' is not a Kubernetes quantity"],
    ['quantity("1.5").asInteger()', 'quantity is not an integer'],
    ['ip("10.0.0.256")', "'10.0.0.256' is not an IP address"],
    ['cidr("10.0.0.0")', "'10.0.0.0' is not a CIDR"],
    ['[].min()', 'min() of an empty list'],
  ])('%s fails with a clear error', (expr, message) => {
    expect(String(run(expr))).toContain(message);
  });

  it.each([
    ['100m', 1n, 10n],
    ['2Gi', 2147483648n, 1n],
    ['1.5k', 1500n, 1n],
    ['-2e-3', -1n, 500n],
  ])('parseQuantity(%s) = %d/%d', (text, num, den) => {
    expect(parseQuantity(text)).toEqual({ num, den });
  });
});
