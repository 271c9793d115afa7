import { celMethod, CelScalar, listType, type CelList } from '@bufbuild/cel';
import { describe, expect, it } from 'vitest';
import { AppError } from '../core/index.js';
import { buildCidrSet, createCelEnv, compileCondition, expandMacros, invalidCidrs, parseIPv4 } from './cel.js';
import { createRuleEngine, type EngineSpec } from './engine.js';
import { parseRuleFile, ruleSetFromDocuments } from './load.js';
import { judgeSample, rulesWithoutSamples, ruleSetForRule, sampleCases } from './samples.js';

/** A small event shape of this test's own, to show the engine is generic (not audit-specific). */
interface Req {
  op: string;
  kind: string;
  sub: string;
  who: string;
  teams: string[];
  status: number;
  ips: string[];
  agent: string;
  payload: Record<string, string | number | boolean>;
}

const spec: EngineSpec<Req> = {
  fields: {
    ops: { kind: 'keyword', get: (r) => r.op },
    kinds: { kind: 'keyword', get: (r) => r.kind },
    subs: { kind: 'keyword', get: (r) => r.sub, omitted: [''] },
    users: { kind: 'keyword', get: (r) => r.who },
    teams: { kind: 'keywords', get: (r) => r.teams },
    codes: { kind: 'int', get: (r) => r.status },
    ips: { kind: 'cidr', get: (r) => r.ips },
    agents: { kind: 'substring', get: (r) => r.agent.toLowerCase() },
  },
  index: ['ops', 'kinds'],
  placeholders: { who: (r) => r.who, op: (r) => r.op, kind: (r) => r.kind, ip: (r) => r.ips[0] ?? '-' },
};

function req(over: Partial<Req>): Req {
  return { op: 'get', kind: 'pods', sub: '', who: 'alice', teams: ['dev'], status: 200, ips: ['10.1.2.3'], agent: 'kubectl/v1.30.2', payload: {}, ...over };
}

const base = parseRuleFile(
  `
lists:
  admins: [root, "ops-*"]
  office: [10.0.0.0/8, "2001:db8::/32"]
  tools: [kube-hunter, Peirates]
macros:
  is_big: "payload.size > 100"
  big_and_red: "is_big && payload.color == 'red'"
rules:
  - id: exec
    title: exec
    severity: low
    tactics: [Execution]
    techniques: [T1609]
    match: { ops: [create], kinds: [pods], subs: [exec], codes: [101, 200-299] }
    output: "{who} exec into {kind} from {ip}"
  - id: admin-delete
    title: delete by admin
    severity: medium
    tactics: [Impact]
    match: { ops: [delete], users: [$admins] }
    output: "{who} {op} {kind}"
  - id: outside
    title: outside office
    severity: low
    tactics: [InitialAccess]
    match: { not: { ips: [$office], users: [robot] } }
    output: "{who} from {ip}"
  - id: tool
    title: tool
    severity: high
    tactics: [Discovery]
    match: { agents: [$tools] }
    output: "{who} used a tool"
  - id: big-red
    title: big red
    severity: info
    tactics: [Impact]
    match: { ops: [create, update], kinds: ["config*"], teams: [ops] }
    condition: big_and_red
    output: "{who} made something big and red"
  - id: broken
    title: broken at runtime
    severity: info
    tactics: [Impact]
    match: { ops: [patch] }
    condition: "payload.missing == 1"
    output: "{who}"
`,
  'test.yaml',
);

function fired(engine: ReturnType<typeof createRuleEngine<Req>>, r: Req): string[] {
  return engine.evaluate(r, () => ({ payload: r.payload })).map((h) => h.rule.rule.id);
}

describe('rule engine', () => {
  const engine = createRuleEngine(ruleSetFromDocuments([base]), spec);

  it.each([
    ['exec with 101', req({ op: 'create', sub: 'exec', status: 101 }), ['exec']],
    ['exec refused', req({ op: 'create', sub: 'exec', status: 403 }), []],
    ['plain pod create is not exec (subresource omitted means none)', req({ op: 'create' }), []],
    ['delete by listed admin', req({ op: 'delete', who: 'root' }), ['admin-delete']],
    ['delete by prefix admin', req({ op: 'delete', who: 'ops-jane' }), ['admin-delete']],
    ['delete by someone else', req({ op: 'delete', who: 'alice' }), []],
    ['public IPv4 is outside', req({ ips: ['203.0.113.9'] }), ['outside']],
    ['IPv6 inside the office range', req({ ips: ['2001:db8::17'] }), []],
    ['IPv6 outside', req({ ips: ['2a00:1450::1'] }), ['outside']],
    ['robot is excepted by not.users', req({ who: 'robot', ips: ['203.0.113.9'] }), []],
    ['tool matched case-insensitively', req({ agent: 'peirates/v1.1.24' }), ['tool']],
    ['macro condition true', req({ op: 'update', kind: 'configmaps', teams: ['dev', 'ops'], payload: { size: 500, color: 'red' } }), ['big-red']],
    ['macro condition false', req({ op: 'update', kind: 'configmaps', teams: ['ops'], payload: { size: 5, color: 'red' } }), []],
    ['keywords field needs one team', req({ op: 'update', kind: 'configmaps', teams: ['dev'], payload: { size: 500, color: 'red' } }), []],
  ])('%s', (_name, r, expected) => {
    expect(fired(engine, r)).toEqual(expected);
  });

  it('hands a rule the same list object on every event, so per-list caches (inCidrs) hold', () => {
    const seen: CelList[] = [];
    const probe = celMethod('probe', CelScalar.STRING, [listType(CelScalar.DYN)], CelScalar.BOOL, function (list) {
      seen.push(list);
      return [...list].includes(this);
    });
    const doc = parseRuleFile(
      'lists: { admins: [root] }\nrules:\n  - { id: p, title: p, severity: low, tactics: [Impact], match: { ops: [delete] }, condition: "who.probe(lists.admins)", output: "{who}" }\n',
      'probe.yaml',
    );
    const probing = createRuleEngine(ruleSetFromDocuments([doc]), { ...spec, functions: [probe] });
    const run = (who: string): number => probing.evaluate(req({ op: 'delete', who }), () => ({ who })).length;
    expect([run('root'), run('alice'), run('root')]).toEqual([1, 0, 1]);
    expect(seen).toHaveLength(3);
    expect(seen[1]).toBe(seen[0]);
    expect(seen[2]).toBe(seen[0]);
  });

  it('indexes by op and kind: an unrelated event meets only the open rules', () => {
    expect(engine.candidates(req({ op: 'watch', kind: 'leases' })).map((c) => c.rule.id)).toEqual([]);
    expect(engine.candidates(req({ op: 'watch', kind: 'leases', ips: ['198.51.100.1'] })).map((c) => c.rule.id)).toEqual(['outside']);
  });

  it('renders the output template and counts a condition error as no match', () => {
    const hits = engine.evaluate(req({ op: 'create', sub: 'exec', status: 101, who: 'bob', ips: ['10.9.9.9'] }), () => ({}));
    expect(hits.map((h) => h.message)).toEqual(['bob exec into pods from 10.9.9.9']);
    expect(fired(engine, req({ op: 'patch' }))).toEqual([]);
    const stats = engine.stats().get('broken');
    expect(stats?.errors).toBe(1);
    expect(stats?.lastError).toMatch(/missing/);
  });

  it('merges a user file over the built-ins without copying rules', () => {
    const user = parseRuleFile(
      `
lists:
  admins: { append: [alice] }
  office: [0.0.0.0/0]
macros:
  is_big: "payload.size > 1"
rules:
  - id: tool
    enabled: false
  - id: exec
    severity: high
    appendCondition: "payload.reason != 'break-glass'"
`,
      'user.yaml',
    );
    const merged = ruleSetFromDocuments([base], [user]);
    const e = createRuleEngine(merged, spec);
    expect(merged.lists.get('admins')).toEqual(['root', 'ops-*', 'alice']);
    expect(merged.rules.find((r) => r.id === 'exec')?.severity).toBe('high');
    expect(fired(e, req({ op: 'delete', who: 'alice', ips: ['198.51.100.1'] }))).toEqual(['admin-delete']);
    expect(fired(e, req({ agent: 'kube-hunter' }))).toEqual([]);
    expect(fired(e, req({ op: 'create', sub: 'exec', status: 101, payload: { reason: 'break-glass' } }))).toEqual([]);
    const stats = e.stats().get('exec');
    expect(fired(e, req({ op: 'create', sub: 'exec', status: 101, payload: { reason: 'debug' } })), stats?.lastError).toEqual(['exec']);
    expect(fired(e, req({ op: 'update', kind: 'configmaps', teams: ['ops'], payload: { size: 5, color: 'red' } }))).toEqual(['big-red']);
  });

  it.each([
    ['unknown match field', 'match: { verbs: [get] }', /unknown match field 'verbs'/],
    ['unknown list', 'match: { users: [$nobody] }', /unknown list \$nobody/],
    ['bad CIDR', 'match: { ips: [10.0.0.0/33] }', /not IP addresses or CIDRs: 10.0.0.0\/33/],
    ['bad CEL', 'condition: "payload.size >"', /does not parse/],
    ['unknown placeholder', 'output: "{nobody}"', /unknown placeholder \{nobody\}/],
    ['bad int range', 'match: { codes: [2xx] }', /'2xx' is not a number or a range/],
  ])('refuses a rule with %s', (_name, line, message) => {
    const doc = parseRuleFile(`rules:\n  - id: r\n    title: r\n    severity: low\n    tactics: [Impact]\n    output: "x"\n    ${line}\n`.replace(/    output: "x"\n    output/, '    output'), 'bad.yaml');
    expect(() => createRuleEngine(ruleSetFromDocuments([doc]), spec)).toThrow(message);
  });

  it.each([
    ['a duplicate built-in rule id', `rules:\n  - {id: a, title: a, severity: low, tactics: [X], output: x}\n  - {id: a, title: a, severity: low, tactics: [X], output: x}\n`, /rule a is defined twice/],
    ['a bad severity', `rules:\n  - {id: a, title: a, severity: urgent, tactics: [X], output: x}\n`, /severity/],
    ['a bad technique id', `rules:\n  - {id: a, title: a, severity: low, tactics: [X], techniques: [1609], output: x}\n`, /techniques/],
  ])('refuses a file with %s', (_name, text, message) => {
    expect(() => ruleSetFromDocuments([parseRuleFile(text, 'f.yaml')])).toThrow(message);
  });

  it('refuses YAML that does not parse, with the file name', () => {
    expect(() => parseRuleFile('rules: [\n', 'broken.yaml')).toThrow(AppError);
    expect(() => parseRuleFile('rules: [\n', 'broken.yaml')).toThrow(/broken.yaml is not valid YAML/);
  });
});

describe('CEL helpers', () => {
  const env = createCelEnv();
  it.each([
    ["'kube-hunter/0.6'.containsAny(['peirates', 'hunter'])", true],
    ["'registry.k8s.io/pause:3.9'.startsWithAny(['docker.io/', 'registry.k8s.io/'])", true],
    ["'image:latest'.endsWithAny([':v1', ':v2'])", false],
    ["'10.4.5.6'.inCidrs(['10.0.0.0/8'])", true],
    ["'11.4.5.6'.inCidrs(['10.0.0.0/8', '192.168.1.1'])", false],
    ["'192.168.1.1'.inCidrs(['10.0.0.0/8', '192.168.1.1'])", true],
    ["'not-an-ip'.inCidrs(['0.0.0.0/0'])", false],
    ["'ABC'.lowerAscii() == 'abc'", true],
    ["'a,b'.split(',').size() == 2", true],
  ])('%s → %s', (expr, expected) => {
    const program = compileCondition(env, expr, 'test');
    expect(program({})).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['big && red', '(x > 1) && (y)'],
    ["big && name == 'big'", "(x > 1) && name == 'big'"],
    ['obj.big || big', 'obj.big || (x > 1)'],
    ['"big" + big', '"big" + (x > 1)'],
    ['bigger || 1.5 > 0', 'bigger || 1.5 > 0'],
  ])('expandMacros(%s) = %s', (expr, expected) => {
    const macros = new Map([
      ['big', 'x > 1'],
      ['red', 'y'],
    ]);
    expect(expandMacros(expr, macros)).toBe(expected);
  });

  it('stops a macro that uses itself', () => {
    expect(() => expandMacros('loop', new Map([['loop', 'loop && true']]))).toThrow(/nest more than 16 deep/);
  });

  it.each([
    ['10.0.0.1', 0x0a000001],
    ['255.255.255.255', 0xffffffff],
    ['1.2.3', -1],
    ['1.2.3.256', -1],
    ['01.2.3.4x', -1],
    ['::1', -1],
  ])('parseIPv4(%s) = %d', (ip, n) => {
    expect(parseIPv4(ip)).toBe(n);
  });

  it('matches CIDR sets for IPv4 and IPv6 and names invalid entries', () => {
    const set = buildCidrSet(['10.0.0.0/8', '192.168.7.7', '0.0.0.0/32', 'fd00::/8']);
    expect(['10.255.0.1', '192.168.7.7', '192.168.7.8', 'fd12::1', 'fe80::1', 'nonsense'].map((ip) => set.has(ip))).toEqual([true, true, false, true, false, false]);
    expect(buildCidrSet(['0.0.0.0/0']).has('203.0.113.1')).toBe(true);
    expect(invalidCidrs(['10.0.0.0/8', '10.0.0.0/40', 'example.com', '::/0'])).toEqual(['10.0.0.0/40', 'example.com']);
  });
});

describe('samples runner', () => {
  const doc = parseRuleFile(
    `
lists:
  bad_ips: []
rule:
  id: from-bad
  title: from a bad address
  severity: low
  tactics: [InitialAccess]
  match: { ips: [$bad_ips] }
  output: "{who}"
samples:
  lists: { bad_ips: [198.51.100.0/24] }
  fire: [{ ip: 198.51.100.7 }]
  quiet: [{ ip: 203.0.113.7 }]
`,
    'from-bad.yaml',
  );
  const other = parseRuleFile(`rules:\n  - {id: no-samples, title: t, severity: low, tactics: [X], output: x}\n`, 'o.yaml');
  const set = ruleSetFromDocuments([doc, other]);

  it('lists rules without samples', () => {
    expect(rulesWithoutSamples(set)).toEqual(['no-samples']);
  });

  it('runs each sample against its rule alone, with the samples list overrides', () => {
    const cases = sampleCases(set);
    expect(cases.map((c) => `${c.ruleId}/${c.kind}/${c.index}`)).toEqual(['from-bad/fire/0', 'from-bad/quiet/0']);
    const verdicts = cases.map((c) => {
      const engine = createRuleEngine(c.ruleSet, spec);
      const ip = typeof c.sample === 'object' && c.sample !== null && 'ip' in c.sample ? String(c.sample.ip) : '';
      return judgeSample(c, fired(engine, req({ ips: [ip] })));
    });
    expect(verdicts).toEqual([
      { passed: true, reason: '' },
      { passed: true, reason: '' },
    ]);
    expect(ruleSetForRule(set, 'from-bad').lists.get('bad_ips')).toEqual([]);
  });

  it('reports a fire sample that does not fire and a quiet one that does', () => {
    const [fire, quiet] = sampleCases(set);
    if (!fire || !quiet) throw new Error('expected two cases');
    expect(judgeSample(fire, [])).toEqual({ passed: false, reason: 'from-bad fire sample #1 did not fire it' });
    expect(judgeSample(quiet, ['from-bad'])).toEqual({ passed: false, reason: 'from-bad quiet sample #1 fired it' });
    expect(judgeSample(fire, ['from-bad'], ['no such key: x'])).toEqual({ passed: false, reason: 'condition errors: no such key: x' });
  });
});
