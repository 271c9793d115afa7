import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeEventList, compactEvidence, createAuditAnalyzer, MAX_EVENT_LIST_BYTES, stripExportTimestamp } from './analyzer.js';
import { loadAuditRuleSet } from './engine.js';
import type { JsonObject } from './json.js';
import { sampleEvent } from './samples.js';
import { openDetectorState } from './state.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-analyzer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const builtin = loadAuditRuleSet();

function analyzer(set = builtin, statePath = ':memory:') {
  return createAuditAnalyzer({ ruleSet: set, state: openDetectorState(statePath) });
}

const exec = (stage: string, auditID: string): JsonObject =>
  sampleEvent(
    {
      auditID,
      stage,
      verb: 'create',
      requestURI: '/api/v1/namespaces/payments/pods/api-0/exec?command=sh&stdin=true&tty=true',
      objectRef: { resource: 'pods', subresource: 'exec', namespace: 'payments', name: 'api-0' },
      responseStatus: { code: 101 },
    },
    0,
    'exec',
  );

describe('audit analyzer', () => {
  it('skips and counts bad lines by reason, and keeps going', () => {
    const a = analyzer();
    const lines = [
      '{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"4f1c',
      'E1120 10:00:00.000000       1 audit.go:42] this is klog, not JSON',
      '{"kind":"Event","apiVersion":"audit.k8s.io/v1alpha1","verb":"get"}',
      '{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","user":{"username":"x"}}',
      '[1,2,3]',
      '"just a string"',
      JSON.stringify(exec('ResponseComplete', 'aaaaaaaa-0000-4000-8000-000000000001')),
    ];
    const alerts = lines.flatMap((l) => a.analyzeLine(l));
    expect(alerts.map((x) => x.rule)).toEqual(['PAL_ExecIntoPod']);
    const c = a.counters();
    expect(Object.fromEntries(c.skipped)).toEqual({
      'truncated JSON': 1,
      'not JSON': 1,
      'unknown apiVersion audit.k8s.io/v1alpha1': 1,
      'bad or missing field verb': 1,
      'top-level JSON array (expected one record per line)': 1,
      'not a JSON object': 1,
    });
    expect([c.records, c.events, c.analysed]).toEqual([7, 1, 1]);
  });

  it('judges a long-running request once: at ResponseStarted, not again at ResponseComplete', () => {
    const a = analyzer();
    const id = 'bbbbbbbb-0000-4000-8000-000000000002';
    expect(a.analyzeValue(exec('RequestReceived', id)).map((x) => x.rule)).toEqual([]);
    expect(a.analyzeValue(exec('ResponseStarted', id)).map((x) => x.rule)).toEqual(['PAL_ExecIntoPod']);
    expect(a.analyzeValue(exec('ResponseComplete', id)).map((x) => x.rule)).toEqual([]);
    expect(a.analyzeValue(exec('ResponseComplete', 'cccccccc-0000-4000-8000-000000000003')).map((x) => x.rule)).toEqual(['PAL_ExecIntoPod']);
    expect(a.counters().ignoredStages).toBe(2);
  });

  it('builds the alert candidate: subject, target, MITRE, message, evidence', () => {
    const a = analyzer();
    const [c] = a.analyzeValue(
      sampleEvent(
        {
          verb: 'create',
          user: { username: 'system:serviceaccount:ci:deployer', groups: ['system:serviceaccounts', 'system:authenticated'] },
          userAgent: 'helm/3.15.2',
          sourceIPs: ['10.9.0.4', '10.0.0.1'],
          requestURI: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
          objectRef: { resource: 'clusterrolebindings', apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1', namespace: null, name: 'ci-admin' },
          responseStatus: { code: 201 },
          requestObject: {
            kind: 'ClusterRoleBinding',
            apiVersion: 'rbac.authorization.k8s.io/v1',
            metadata: { name: 'ci-admin' },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
            subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'ci' }],
          },
        },
        0,
        'crb',
      ),
      'prod-eu',
    );
    expect(c).toMatchObject({
      rule: 'K8S_ClusterAdminBinding',
      severity: 'info',
      source: 'audit',
      cluster: 'prod-eu',
      time: '2026-11-20T10:00:00.000Z',
      message: 'system:serviceaccount:ci:deployer create clusterrolebindings.rbac.authorization.k8s.io ci-admin binding cluster-admin to ServiceAccount ci/deployer from 10.9.0.4',
      subject: { user: 'system:serviceaccount:ci:deployer', serviceAccount: 'ci/deployer', sourceIPs: ['10.9.0.4', '10.0.0.1'], userAgent: 'helm/3.15.2' },
      target: { apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1', resource: 'clusterrolebindings', name: 'ci-admin' },
      mitre: { tactics: ['Persistence', 'PrivilegeEscalation'], techniques: ['T1098'] },
    });
    expect(c?.evidence).toHaveLength(1);
  });

  it('drops large request and response bodies from evidence', () => {
    const event = sampleEvent({ requestObject: { data: 'x'.repeat(40_000) }, responseObject: { kind: 'Pod' } }, 0, 'big');
    const small = compactEvidence(event, 16 * 1024);
    expect(small.requestObject).toEqual({ palisadeTruncated: true, bytes: 40_011 });
    expect(small.responseObject).toEqual({ palisadeTruncated: true, bytes: 14 });
    expect(small.auditID).toBe(event.auditID);
    expect(compactEvidence(sampleEvent({}, 0, 's'), 16 * 1024)).toEqual(sampleEvent({}, 0, 's'));
  });

  it.each([
    ['2026-11-20T10:00:00.123Z {"kind":"Event"}', '{"kind":"Event"}'],
    ['{"kind":"Event"}', '{"kind":"Event"}'],
    ['2026 was a year {"x":1}', '2026 was a year {"x":1}'],
  ])('reads CloudWatch S3 export lines: %s', (line, expected) => {
    expect(stripExportTimestamp(line)).toBe(expected);
  });
});

describe('analyzeEventList (the server webhook endpoint calls this)', () => {
  it('analyses a batch and counts bad items', () => {
    const a = analyzer();
    const body = JSON.stringify({
      kind: 'EventList',
      apiVersion: 'audit.k8s.io/v1',
      metadata: {},
      items: [exec('ResponseStarted', 'dddddddd-0000-4000-8000-000000000004'), { kind: 'Event', apiVersion: 'audit.k8s.io/v1', stage: 'ResponseComplete' }],
    });
    const result = analyzeEventList(body, a, 'prod-eu');
    expect(result.candidates.map((c) => [c.rule, c.cluster])).toEqual([['PAL_ExecIntoPod', 'prod-eu']]);
    expect(result.events).toBe(1);
    expect(result.skipped).toEqual({ 'bad or missing field verb': 1 });
  });

  it.each([
    ['not JSON', '{"kind":"EventList",', /not JSON/],
    ['not an EventList', JSON.stringify({ kind: 'Event', apiVersion: 'audit.k8s.io/v1' }), /not an audit.k8s.io EventList/],
    ['too large', ' '.repeat(MAX_EVENT_LIST_BYTES + 1), /over 33554432/],
  ])('refuses a body that is %s', (_name, body, message) => {
    expect(() => analyzeEventList(body, analyzer())).toThrow(message);
  });
});

describe('user rules and detector state', () => {
  it('a user rules directory turns a rule off, extends a list and tunes a detector, without copying', () => {
    const userDir = mkdtempSync(join(dir, 'rules-'));
    writeFileSync(
      join(userDir, 'site.yaml'),
      [
        'lists:',
        '  expected_secret_readers:',
        '    append: ["system:serviceaccount:vault:vault"]',
        'rules:',
        '  - id: PAL_ExecIntoPod',
        '    enabled: false',
        'params:',
        '  PAL_FailedRequestBurst:',
        '    threshold: 3',
        '',
      ].join('\n'),
    );
    const set = loadAuditRuleSet([userDir]);
    const a = analyzer(set);
    expect(a.analyzeValue(exec('ResponseComplete', 'eeeeeeee-0000-4000-8000-000000000005'))).toEqual([]);
    const vault = sampleEvent({ verb: 'get', user: { username: 'system:serviceaccount:vault:vault' }, objectRef: { resource: 'secrets', namespace: 'payments', name: 'db' } }, 1, 'vault');
    expect(a.analyzeValue(vault).map((c) => c.rule)).toEqual([]);
    const refused = sampleEvent({ verb: 'list', objectRef: { resource: 'secrets', namespace: 'kube-system', name: null }, responseStatus: { code: 403 } }, 2, 'refused');
    const fired = [0, 1, 2].flatMap(() => a.analyzeValue(refused).map((c) => c.rule));
    expect(fired).toEqual(['PAL_FailedRequestBurst']);
  });

  it('keeps the learned baseline across a restart (SQLite state)', () => {
    const statePath = join(dir, 'state.sqlite');
    const userDir = mkdtempSync(join(dir, 'learn-'));
    writeFileSync(join(userDir, 'learn.yaml'), 'params:\n  K8S_ServiceAccountRareOperation:\n    learningWindow: 1h\n');
    const set = loadAuditRuleSet([userDir]);
    const sa = { username: 'system:serviceaccount:shop:cart', groups: ['system:serviceaccounts', 'system:authenticated'] };
    const at = (iso: string, resource: string, verb: string): JsonObject =>
      sampleEvent({ verb, user: sa, objectRef: { resource, namespace: 'shop', name: null }, requestReceivedTimestamp: iso, stageTimestamp: iso }, 0, 'sa');

    const first = createAuditAnalyzer({ ruleSet: set, state: openDetectorState(statePath) });
    first.analyzeValue(at('2026-11-20T08:00:00Z', 'configmaps', 'get'));
    first.analyzeValue(at('2026-11-20T08:30:00Z', 'endpoints', 'list'));
    first.persist();

    // A new process: the account's window started at 08:00 and is over; nothing is relearned.
    const state = openDetectorState(statePath);
    expect(state.loadBaselines('K8S_ServiceAccountRareOperation')).toEqual([
      { account: 'system:serviceaccount:shop:cart', firstSeenMs: Date.parse('2026-11-20T08:00:00Z'), combos: ['get configmaps shop', 'list endpoints shop'] },
    ]);
    const second = createAuditAnalyzer({ ruleSet: set, state });
    expect(second.analyzeValue(at('2026-11-20T12:00:00Z', 'configmaps', 'get')).map((c) => c.rule)).toEqual([]);
    const rare = second.analyzeValue(at('2026-11-20T12:00:01Z', 'secrets', 'list')).filter((c) => c.rule === 'K8S_ServiceAccountRareOperation');
    expect(rare.map((c) => c.message)).toEqual([
      'service account system:serviceaccount:shop:cart did something it had not done since 2026-11-20T08:00:00.000Z: list secrets shop from 10.20.30.40',
    ]);
    state.close();
  });

  it('refuses detector params that are not valid', () => {
    const userDir = mkdtempSync(join(dir, 'badparams-'));
    writeFileSync(join(userDir, 'p.yaml'), 'params:\n  PAL_SecretReadBurst:\n    window: soon\n');
    expect(() => analyzer(loadAuditRuleSet([userDir]))).toThrow(/params of detector PAL_SecretReadBurst are malformed: window: 'soon' is not a duration/);
  });
});
