import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { apiResources } from './live.js';

const doc = readFileSync(fileURLToPath(new URL('../../docs/kube-rbac.md', import.meta.url)), 'utf8');

describe('docs/kube-rbac.md', () => {
  it('grants get/list/watch on exactly the resources the collector reads, and nothing on secrets', () => {
    const block = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1] ?? '';
    const role = z
      .object({ kind: z.literal('ClusterRole'), rules: z.array(z.object({ apiGroups: z.array(z.string()), resources: z.array(z.string()), verbs: z.array(z.string()) })) })
      .parse(parseAllDocuments(block)[0]?.toJS());
    const granted = role.rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${g}/${res}`))).sort();
    expect(granted).toEqual(apiResources().map((r) => `${r.group}/${r.resource}`).sort());
    expect(role.rules.every((r) => r.verbs.join() === 'get,list,watch')).toBe(true);
    expect(granted.some((g) => g.endsWith('/secrets'))).toBe(false);
  });
});
