import { describe, expect, it } from 'vitest';
import { ruleSetFromDocuments } from '../../rules/index.js';
import { createFailedRequestBurstDetector, createRareOperationDetector, parseDuration } from './detectors.js';
import { auditFacts, checkAuditEvent } from './event.js';
import { sampleEvent } from './samples.js';
import { openDetectorState } from './state.js';

function facts(patch: Record<string, unknown>) {
  const checked = checkAuditEvent(sampleEvent(patch, 0, 'detector test'));
  if (!checked.ok) throw new Error(checked.reason);
  return auditFacts(checked.event, checked.raw);
}

const sa = (name: string) => ({ username: `system:serviceaccount:shop:${name}`, groups: ['system:serviceaccounts', 'system:authenticated'] });
const at = (iso: string) => ({ requestReceivedTimestamp: iso, stageTimestamp: iso });

describe('detector memory bounds', () => {
  it('tracks at most maxAccounts service accounts; others are not judged', () => {
    const set = ruleSetFromDocuments([{ params: { K8S_ServiceAccountRareOperation: { learningWindow: '1h', maxAccounts: 2 } } }]);
    const d = createRareOperationDetector(set, openDetectorState(':memory:'));
    for (const name of ['a', 'b', 'c']) d.observe(facts({ user: sa(name), verb: 'get', objectRef: { resource: 'configmaps', namespace: 'shop' }, ...at('2026-11-20T08:00:00Z') }));
    const later = (name: string) => d.observe(facts({ user: sa(name), verb: 'delete', objectRef: { resource: 'pods', namespace: 'shop' }, ...at('2026-11-20T10:00:00Z') }));
    expect([later('a')?.message !== undefined, later('b')?.message !== undefined, later('c')]).toEqual([true, true, undefined]);
  });

  it('keeps at most maxKeys burst counters, forgetting the oldest', () => {
    const set = ruleSetFromDocuments([{ params: { PAL_FailedRequestBurst: { threshold: 3, window: '60s', maxKeys: 1 } } }]);
    const d = createFailedRequestBurstDetector(set);
    const refused = (user: string, s: number) =>
      d.observe(facts({ user: { username: user, groups: [] }, verb: 'list', objectRef: { resource: 'secrets', namespace: 'kube-system' }, responseStatus: { code: 403 }, ...at(`2026-11-20T08:00:0${s}Z`) }));
    // alice, alice, bob (evicts alice), alice, alice: alice never reaches 3 in a row of her own counter.
    expect([refused('alice', 0), refused('alice', 1), refused('bob', 2), refused('alice', 3), refused('alice', 4)].map((h) => h?.message)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(refused('alice', 5)?.message).toBe('alice from 10.20.30.40 was refused 3 times within 60s (last: list secrets → 403, user agent kubectl/v1.30.2 (linux/amd64) kubernetes/3968350)');
  });

  it.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['250ms', 250],
  ])('parses the duration %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('says how to write a duration', () => {
    expect(() => parseDuration('a week')).toThrow(/write it like 90s, 10m, 24h or 7d/);
  });
});
