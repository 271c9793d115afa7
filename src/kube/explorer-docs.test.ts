import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildGraph, type KubeGraph } from './graph.js';
import { findingsFromScanReports } from './findings.js';
import { inventoryFromFiles } from './files.js';
import { compileQuery } from './query.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const doc = readFileSync(here('../../docs/explorer.md'), 'utf8');

/** Every ```cel block followed by a ```json block in docs/explorer.md. */
const examples = [...doc.matchAll(/### (.+)\n\n```cel\n([\s\S]*?)\n```\n\n```json\n([\s\S]*?)\n```/g)].map((m) => ({
  title: m[1] ?? '',
  query: m[2] ?? '',
  expected: z.unknown().parse(JSON.parse(m[3] ?? 'null')),
}));

let graph: KubeGraph;
beforeAll(async () => {
  const inventory = await inventoryFromFiles([here('./__fixtures__/cluster')], 'demo');
  const findings = await findingsFromScanReports([here('./__fixtures__/scans/nginx.json'), here('./__fixtures__/scans/node-exporter.json')]);
  graph = buildGraph([inventory], { findings });
});

describe('docs/explorer.md examples', () => {
  it('has at least 15 examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(15);
  });

  it.each(examples)('$title', ({ query, expected }) => {
    expect(compileQuery(query).run(graph)).toEqual(expected);
  });

  it.each([
    ['pods.filter(p, p.exposd)', 'query error at 1:18: no field "exposd" here'],
    ['pods.filter(p, p.exposed && )', 'query error at 1:26: "&&" is missing what comes after it'],
    ['podz.size()', 'query error at 1:1: unknown name'],
    ['pods.filter(p, p.name == "web)', 'query error at 1:26: this string is never closed'],
    ['pods.filter(p, p.exposed &&& p.privileged)', 'query error at 1:28: "&&&" is not an operator'],
    ['pods.map(p, p.name + 1)', "query error at 1:20: found no matching overload for '_+_' applied to '(string, int)'"],
    ['pods.filter(p, (p.exposed)', 'query error at 1:12: this "(" is never closed'],
  ])('%s → %s', (query, message) => {
    expect(() => compileQuery(query).run(graph)).toThrow(message);
  });
});
