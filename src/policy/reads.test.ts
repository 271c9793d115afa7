import { describe, expect, it } from 'vitest';
import { expressionReads, normalizeReads, type ValueRead } from './reads.js';

const show = (reads: readonly ValueRead[]): string[] => reads.map((r) => `${r.mode} ${[r.root, ...r.path].join('.')}`);

describe('what a policy expression reads', () => {
  it.each([
    ['!(has(pod.spec.hostPID) && pod.spec.hostPID)', ['value pod.spec.hostPID']],
    ['has(container.securityContext) && has(container.securityContext.privileged)', ['type container.securityContext', 'type container.securityContext.privileged']],
    ['has(pod.metadata) && has(pod.metadata.labels) && l in pod.metadata.labels', ['type pod.metadata', 'value pod.metadata.labels']],
    ['object.metadata.annotations["kubernetes.io/ingress.allow-http"] == "false"', ['value object.metadata.annotations.kubernetes.io/ingress.allow-http']],
    // A computed key stops the chain: the whole map is read.
    ['pod.metadata.annotations["container.apparmor.security.beta.kubernetes.io/" + container.name] == "x"', ['value container.name', 'value pod.metadata.annotations']],
    // A list index stops it too.
    ['pod.spec.containers[0].image == "a"', ['value pod.spec.containers']],
    ['pod.spec.volumes.all(v, !has(v.hostPath))', ['value pod.spec.volumes']],
    // A variable used whole is read whole.
    ['oldObject == null || oldObject.metadata.name == object.metadata.name', ['value object.metadata.name', 'value oldObject']],
    // params and variables are reported too (the engine leaves them out of its keys: fixed per assignment, derived).
    ['params.requiredProbes.all(p, p in container)', ['value container', 'value params.requiredProbes']],
    ['request.userInfo.username in params.allowedUsers && variables.x.size() == 0', ['value params.allowedUsers', 'value request.userInfo.username', 'value variables.x']],
    ['size([object, 1]) == 2', ['value object']],
    ['lookups.services.exists(s, s.metadata.name != object.metadata.name)', ['value lookups.services', 'value object.metadata.name']],
  ])('%s', (expr, expected) => {
    expect(show(expressionReads(expr))).toEqual(expected);
  });

  it('narrows podSecurity(pod, …) to the fields the Pod Security evaluation depends on', () => {
    const reads = show(expressionReads('podSecurity(pod, params.level, params.version).size() == 0'));
    expect(reads).toContain('value pod.spec.containers');
    expect(reads).toContain('value pod.metadata.annotations');
    expect(reads).toContain('shape pod.metadata.labels');
    expect(reads).toContain('type pod.metadata.name');
    expect(reads).toContain('type pod.metadata.uid');
    expect(reads.some((r) => r.startsWith('value pod.spec.hostname') || r.startsWith('value pod.spec.affinity') || r === 'value pod')).toBe(false);
    // Under a chain the fields are relative to it; anything else passed in is read as usual.
    expect(show(expressionReads('podSecurity(object.spec.template, "baseline", "latest").size() == 0'))).toContain('value object.spec.template.spec.volumes');
    expect(show(expressionReads('podSecurity(dyn(pod), "baseline", "latest").size() == 0'))).toEqual(['value pod']);
  });

  it('keeps only reads that no other read covers', () => {
    const read = (mode: ValueRead['mode'], ...path: string[]): ValueRead => ({ root: 'pod', path, mode });
    expect(show(normalizeReads([read('type', 'spec', 'x'), read('value', 'spec'), read('type', 'metadata'), read('shape', 'metadata', 'labels'), read('type', 'metadata', 'labels', 'a')]))).toEqual([
      'type pod.metadata',
      'shape pod.metadata.labels',
      'value pod.spec',
    ]);
    expect(show(normalizeReads([read('type', 'metadata'), read('value', 'metadata', 'labels'), read('type', 'metadata')]))).toEqual(['type pod.metadata', 'value pod.metadata.labels']);
  });
});
