import { isCelError, parse, plan } from '@bufbuild/cel';
import { describe, expect, it } from 'vitest';
import { createCelEnv } from '../rules/cel.js';
import { createCelConverter } from './celview.js';
import { addManifestText } from './files.js';
import type { ImageFinding } from './findings.js';
import { attachFindings, buildGraph, type KubeGraph } from './graph.js';
import { createInventoryBuilder } from './inventory.js';
import { compileQuery } from './query.js';

/**
 * The graph seen from CEL: objects become maps that read their fields when asked, with the
 * semantics of a converted copy (an undefined field is null, `has` and `in` see own fields only),
 * and query results are plain copies of the graph's objects.
 */

const env = createCelEnv();
const sample = { name: 'web', replicas: 3, unset: undefined, ports: [80, 443], labels: { app: 'web', tier: 'front' }, owner: { kind: 'Deployment' } };

describe('createCelConverter', () => {
  it.each([
    ['o.name == "web" && o.replicas == 3', true],
    ['o.unset == null', true],
    ['has(o.unset)', false],
    ['has(o.missing)', false],
    ['has(o.labels.app)', true],
    ['"labels" in o', true],
    ['"toString" in o', false],
    ['size(o) == 6', true],
    ['size(o.labels) == 2 && o.labels["tier"] == "front"', true],
    ['o.exists(k, k == "ports") && o.all(k, k != "constructor")', true],
    ['o.labels.filter(k, k.startsWith("t")) == ["tier"]', true],
    ['o.ports.exists(p, p == 443) && o.ports[0] == 80', true],
    ['o.owner.kind == "Deployment"', true],
  ])('%s is %s', (expression, expected) => {
    const convert = createCelConverter();
    expect(plan(env, parse(expression))({ o: convert(sample) })).toBe(expected);
  });

  it('reports a missing field as an error, like a converted copy', () => {
    const value = plan(env, parse('o.missing == 1'))({ o: createCelConverter()(sample) });
    expect(isCelError(value) && value.message).toBe('field not found: missing');
  });

  it('converts an object once and knows what each CEL value was made from', () => {
    const convert = createCelConverter();
    const value = convert(sample.labels);
    expect(convert(sample.labels)).toBe(value);
    expect(convert.sourceOf(value)).toBe(sample.labels);
    expect(convert.sourceOf(convert(sample.ports))).toBe(sample.ports);
    expect(convert.sourceOf(plan(env, parse('{"a": 1}'))({}))).toBeUndefined();
    expect(convert.sourceOf('web')).toBeUndefined();
  });
});

const pod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'shop', labels: { app: 'web' } },
  spec: { containers: [{ name: 'web', image: 'docker.io/library/nginx:1.25.3' }] },
});

function twoPodGraph(): KubeGraph {
  const builder = createInventoryBuilder('demo');
  addManifestText(builder, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [pod('web-0'), pod('web-1')] }), 'pods.json');
  return buildGraph([builder.build()]);
}

const finding: ImageFinding = {
  id: 'CVE-2024-5535',
  severity: 'critical',
  fixed: true,
  fixedVersion: '3.0.14-1~deb12u1',
  package: 'libssl3',
  installed: '3.0.11-1~deb12u2',
  cvss: 9.1,
  vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H',
  network: true,
  kev: false,
};

describe('query results', () => {
  it('are plain, frozen copies of the graph nodes, an image shared by two containers copied once', () => {
    const graph = twoPodGraph();
    const result = compileQuery('containers.filter(c, c.namespace == "shop")').run(graph);
    expect(result).toEqual(JSON.parse(JSON.stringify(graph.containers)));
    if (!Array.isArray(result)) throw new Error('expected a list');
    const [first, second] = result;
    expect(first).not.toBe(graph.containers[0]);
    if (!isObject(first) || !isObject(second)) throw new Error('expected two containers');
    expect(first.imageRef).toBe(second.imageRef);
    expect(Object.isFrozen(first)).toBe(true);
    expect(() => {
      first.name = 'changed';
    }).toThrow(TypeError);
    expect(graph.containers[0]?.name).toBe('web');
  });

  it('see findings attached after an earlier query', () => {
    const graph = twoPodGraph();
    const query = compileQuery('images.map(i, [i.ref, i.findings.size()])');
    expect(query.run(graph)).toEqual([['docker.io/library/nginx:1.25.3', 0]]);
    expect(compileQuery('images').run(graph)).toMatchObject([{ findings: [] }]);
    attachFindings(graph, () => [finding]);
    expect(query.run(graph)).toEqual([['docker.io/library/nginx:1.25.3', 1]]);
    expect(compileQuery('images').run(graph)).toMatchObject([{ findings: [finding] }]);
  });
});

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
