import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addManifestText, inventoryFromFiles } from './files.js';
import { createInventoryBuilder, inventoryCounts } from './inventory.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-kube-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('addManifestText', () => {
  it.each([
    [
      'a typed list from the API (items carry no kind)',
      JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '12' }, items: [{ metadata: { name: 'a', namespace: 'x' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } }] }),
      { Pod: 1 },
      {},
    ],
    [
      'a kubectl get -A -o json List with mixed kinds and a CRD',
      JSON.stringify({ kind: 'List', apiVersion: 'v1', items: [{ kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'x' } }, { kind: 'Widget', apiVersion: 'example.com/v1', metadata: { name: 'w', namespace: 'x' } }] }),
      { Namespace: 1 },
      { 'example.com/v1/Widget': 1 },
    ],
    [
      'helm template output with empty documents and comments',
      '---\n# Source: chart/templates/empty.yaml\n---\n# Source: chart/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n  namespace: x\n',
      { ServiceAccount: 1 },
      {},
    ],
    [
      'an object with no kind',
      'metadata:\n  name: lost\n',
      {},
      { '(no kind)': 1 },
    ],
    [
      'a Deployment with a wrong field type is kept as unknown',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: x}\nspec:\n  replicas: "three"\n  template: {spec: {containers: []}}\n',
      {},
      { 'apps/v1/Deployment': 1 },
    ],
    [
      'a Deployment with missing fields is typed',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: x}\n',
      { Deployment: 1 },
      {},
    ],
  ])('%s', (_name, text, counts, unknown) => {
    const builder = createInventoryBuilder('t');
    addManifestText(builder, text, 'input');
    const inv = builder.build();
    expect(inventoryCounts(inv)).toEqual(counts);
    expect(inv.unknownCounts).toEqual(unknown);
    expect(inv.problems).toEqual([]);
  });

  it('records a YAML document that does not parse and keeps the others', () => {
    const builder = createInventoryBuilder('t');
    addManifestText(builder, 'kind: Namespace\nmetadata: {name: a}\n---\nkind: [unclosed\n---\nkind: Namespace\nmetadata: {name: b}\n', 'bad.yaml');
    const inv = builder.build();
    expect(inv.objects.Namespace.map((n) => n.metadata.name)).toEqual(['a', 'b']);
    expect(inv.problems).toHaveLength(1);
    expect(inv.problems[0]).toMatch(/^could not read bad\.yaml#2: /);
  });

  it('a later object with the same kind, namespace and name replaces the earlier one', () => {
    const builder = createInventoryBuilder('t');
    addManifestText(builder, 'kind: ServiceAccount\nmetadata: {name: a, namespace: x}\nautomountServiceAccountToken: true\n', 'one');
    addManifestText(builder, 'kind: ServiceAccount\nmetadata: {name: a, namespace: x}\nautomountServiceAccountToken: false\n', 'two');
    expect(builder.build().objects.ServiceAccount.map((s) => s.automountServiceAccountToken)).toEqual([false]);
  });

  it('keeps at most maxObjects objects and says how many it dropped', () => {
    const builder = createInventoryBuilder('t', { maxObjects: 2 });
    addManifestText(builder, ['a', 'b', 'c', 'd'].map((n) => `kind: Namespace\nmetadata: {name: ${n}}\n`).join('---\n'), 'many');
    const inv = builder.build();
    expect(inv.objects.Namespace).toHaveLength(2);
    expect(inv.problems).toEqual(['could not keep 2 objects: the inventory holds at most 2 objects per cluster']);
  });
});

describe('inventoryFromFiles', () => {
  it('reads a directory recursively (yaml, yml, json), skipping other files', async () => {
    mkdirSync(join(dir, 'tree/sub'), { recursive: true });
    writeFileSync(join(dir, 'tree/a.yaml'), 'kind: Namespace\nmetadata: {name: a}\n');
    writeFileSync(join(dir, 'tree/sub/b.yml'), 'kind: Namespace\nmetadata: {name: b}\n');
    writeFileSync(join(dir, 'tree/sub/c.json'), '{"kind":"Namespace","metadata":{"name":"c"}}');
    writeFileSync(join(dir, 'tree/README.md'), '# not a manifest');
    const inv = await inventoryFromFiles([join(dir, 'tree')], 'files');
    expect(inv.objects.Namespace.map((n) => n.metadata.name)).toEqual(['a', 'b', 'c']);
  });

  it('records an oversized file as a problem and carries on', async () => {
    writeFileSync(join(dir, 'big.yaml'), `kind: Namespace\nmetadata: {name: big}\n${'#'.repeat(2000)}\n`);
    const inv = await inventoryFromFiles([join(dir, 'big.yaml')], 'files', { maxFileBytes: 100, maxFiles: 10 });
    expect(inv.problems).toEqual([`could not read ${join(dir, 'big.yaml')}: 2039 bytes is over the 100-byte limit`]);
  });

  it('says what to pass when a path does not exist', async () => {
    await expect(inventoryFromFiles([join(dir, 'missing')])).rejects.toThrow(/pass a manifest file or a directory of them/);
    await expect(inventoryFromFiles([])).rejects.toThrow(/no manifest files given/);
  });
});
