import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { fixedClock, silentLogger } from '../core/index.js';
import type { Alert } from '../threat/alert.js';
import { createRuntimeAnalyzer, loadRuntimeRuleSet } from '../threat/runtime/index.js';
import { createSensor } from './agent.js';
import { normaliseFalco } from './falco.js';
import { normaliseTetragon } from './tetragon.js';

// Falco JSON output (json_output: true) and Tetragon JSON export lines, as those tools write them.

const FALCO_SHELL = {
  hostname: 'aks-nodepool1-38291742-vmss000002',
  output: '10:00:00.123456789: Notice A shell was spawned in a container with an attached terminal (evt_type=execve user=root user_uid=0 process=bash proc_exepath=/usr/bin/bash parent=runc command=bash terminal=34816 container_id=5d1c0b7e1f9a container_name=api)',
  output_fields: {
    'container.id': '5d1c0b7e1f9a',
    'container.image.repository': 'registry.example.com/shop/api',
    'container.image.tag': '2.14.1',
    'container.name': 'api',
    'evt.time': 1795168800123456789,
    'evt.type': 'execve',
    'k8s.ns.name': 'shop',
    'k8s.pod.name': 'api-7c9d8b7f5-x2k4q',
    'proc.cmdline': 'bash',
    'proc.exepath': '/usr/bin/bash',
    'proc.name': 'bash',
    'proc.pid': 31337,
    'proc.ppid': 31300,
    'proc.pname': 'runc',
    'proc.tty': 34816,
    'user.loginuid': -1,
    'user.name': 'root',
    'user.uid': 0,
  },
  priority: 'Notice',
  rule: 'Terminal shell in container',
  source: 'syscall',
  tags: ['T1059', 'container', 'mitre_execution', 'shell'],
  time: '2026-11-20T10:00:00.123456789Z',
};

const FALCO_CONNECT = {
  hostname: 'node-1',
  output: 'Outbound connection to miner pool port',
  output_fields: {
    'evt.time': 1795168801000000000,
    'evt.type': 'connect',
    'fd.rip': '51.15.58.224',
    'fd.rport': 3333,
    'fd.lip': '10.244.1.17',
    'fd.lport': 40112,
    'fd.l4proto': 'tcp',
    'proc.name': 'kdevtmpfsi',
    'proc.exepath': '/tmp/kdevtmpfsi',
    'proc.cmdline': 'kdevtmpfsi',
    'proc.pid': 4242,
    'container.id': 'host',
  },
  priority: 'Critical',
  rule: 'Detect outbound connections to common miner pool ports',
  time: '2026-11-20T10:00:01Z',
};

const TETRAGON_EXEC = {
  process_exec: {
    process: {
      exec_id: 'a2luZC1jb250cm9sLXBsYW5lOjE0NjQ4NjU3OTc0NTI3OjUyNjk5',
      pid: 52699,
      uid: 0,
      cwd: '/',
      binary: '/usr/bin/curl',
      arguments: '-s https://raw.githubusercontent.com/cilium/tetragon/main/README.md -o /tmp/r',
      flags: 'execve rootcwd',
      start_time: '2026-11-20T10:00:02.000000000Z',
      auid: 4294967295,
      pod: {
        namespace: 'default',
        name: 'xwing',
        container: {
          id: `containerd://${'ab'.repeat(32)}`,
          name: 'spaceship',
          image: { id: `docker.io/tgraf/netperf@sha256:${'cd'.repeat(32)}`, name: 'docker.io/tgraf/netperf:latest' },
          start_time: '2026-11-20T09:00:00Z',
          pid: 13,
        },
        pod_labels: { app: 'xwing', class: 'xwing', org: 'alliance' },
      },
      docker: 'abababababababababababababababab',
      parent_exec_id: 'a2luZC1jb250cm9sLXBsYW5lOjE0NjQ4NjE2NzQ0MjQ5OjUyNjkz',
    },
    parent: { exec_id: 'x', pid: 52693, uid: 0, cwd: '/', binary: '/bin/bash', arguments: '-c "curl -s https://raw.githubusercontent.com/x | sh"', flags: 'execve', start_time: '2026-11-20T10:00:01.900000000Z' },
  },
  node_name: 'kind-control-plane',
  time: '2026-11-20T10:00:02.000000000Z',
};

const TETRAGON_CONNECT = {
  process_kprobe: {
    process: {
      exec_id: 'y',
      pid: 52710,
      uid: 0,
      cwd: '/',
      binary: '/usr/bin/python3',
      arguments: 'app.py',
      start_time: '2026-11-20T10:00:00Z',
      pod: { namespace: 'default', name: 'xwing', container: { id: `containerd://${'ab'.repeat(32)}`, name: 'spaceship' } },
    },
    function_name: 'tcp_connect',
    args: [{ sock_arg: { family: 'AF_INET', type: 'SOCK_STREAM', protocol: 'IPPROTO_TCP', saddr: '10.244.0.5', daddr: '169.254.169.254', sport: 41234, dport: 80, cookie: '1', state: 'TCP_SYN_SENT' } }],
    action: 'KPROBE_ACTION_POST',
    policy_name: 'connect',
  },
  node_name: 'kind-control-plane',
  time: '2026-11-20T10:00:03.000000000Z',
};

describe('Falco JSON output', () => {
  it('normalises an execve alert with its container and terminal', () => {
    const result = normaliseFalco(FALCO_SHELL, 'fallback');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.event).toMatchObject({
      kind: 'exec',
      time: '2026-11-20T10:00:00.123Z',
      node: 'aks-nodepool1-38291742-vmss000002',
      source: 'falco',
      process: {
        pid: 31337,
        ppid: 31300,
        name: 'bash',
        exe: '/usr/bin/bash',
        args: ['bash'],
        uid: 0,
        stdin: { type: 'tty', target: 'tty 34816', remote: '' },
        ancestors: [{ pid: 31300, name: 'runc', exe: '', cmdline: '' }],
        container: { id: '5d1c0b7e1f9a', podNamespace: 'shop', podName: 'api-7c9d8b7f5-x2k4q', image: 'registry.example.com/shop/api:2.14.1', name: 'api' },
      },
    });
  });

  it('normalises a connect on a host process', () => {
    const result = normaliseFalco(FALCO_CONNECT, 'fallback');
    expect(result.ok && result.event.kind === 'connect' ? [result.event.connection, result.event.process.container] : undefined).toEqual([
      { protocol: 'tcp', family: 4, localIP: '10.244.1.17', localPort: 40112, remoteIP: '51.15.58.224', remotePort: 3333, state: 'established' },
      undefined,
    ]);
  });

  it.each([
    [{ output: 'x', priority: 'Notice' }, 'falco: not a Falco JSON alert (no output_fields)'],
    [{ output_fields: { 'proc.name': 'bash', 'proc.pid': 1 } }, 'falco: no usable time'],
    [{ time: '2026-11-20T10:00:00Z', output_fields: { 'evt.type': 'execve' } }, 'falco: no proc.name or proc.pid in output_fields'],
    [{ time: '2026-11-20T10:00:00Z', output_fields: { 'evt.type': 'ptrace', 'proc.name': 'gdb', 'proc.pid': 5 } }, 'falco: event type ptrace is not used'],
  ])('skips %j', (value, reason) => {
    expect(normaliseFalco(value, 'n')).toEqual({ ok: false, reason });
  });
});

describe('Tetragon JSON export', () => {
  it('normalises process_exec with pod, image digest, labels and parent', () => {
    const result = normaliseTetragon(TETRAGON_EXEC, 'fallback');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.event).toMatchObject({
      kind: 'exec',
      node: 'kind-control-plane',
      source: 'tetragon',
      process: {
        pid: 52699,
        ppid: 52693,
        name: 'curl',
        exe: '/usr/bin/curl',
        args: ['/usr/bin/curl', '-s', 'https://raw.githubusercontent.com/cilium/tetragon/main/README.md', '-o', '/tmp/r'],
        ancestors: [{ pid: 52693, name: 'bash', exe: '/bin/bash', cmdline: '/bin/bash -c "curl -s https://raw.githubusercontent.com/x | sh"' }],
        container: {
          id: 'ab'.repeat(32),
          runtime: 'containerd',
          name: 'spaceship',
          podNamespace: 'default',
          podName: 'xwing',
          image: 'docker.io/tgraf/netperf:latest',
          imageDigest: `sha256:${'cd'.repeat(32)}`,
          labels: { app: 'xwing', class: 'xwing', org: 'alliance' },
        },
      },
    });
  });

  it('normalises a tcp_connect kprobe', () => {
    const result = normaliseTetragon(TETRAGON_CONNECT, 'n');
    expect(result.ok && result.event.kind === 'connect' ? result.event.connection : undefined).toEqual({
      protocol: 'tcp',
      family: 4,
      localIP: '10.244.0.5',
      localPort: 41234,
      remoteIP: '169.254.169.254',
      remotePort: 80,
      state: 'syn-sent',
    });
  });

  it.each([
    [{ process_exec: {}, time: '2026-11-20T10:00:00Z' }, 'tetragon: not a Tetragon export event'],
    [{ process_exec: { process: { pid: 1 } }, time: '2026-11-20T10:00:00Z' }, 'tetragon: process without pid or binary'],
    [{ process_loader: { process: { pid: 1, binary: '/x' } }, time: '2026-11-20T10:00:00Z' }, 'tetragon: event kind is not used'],
    [{ process_kprobe: { process: { pid: 1, binary: '/x' }, function_name: 'security_bprm_check' }, time: '2026-11-20T10:00:00Z' }, 'tetragon: kprobe security_bprm_check is not used'],
  ])('skips %j', (value, reason) => {
    expect(normaliseTetragon(value, 'n')).toEqual({ ok: false, reason });
  });
});

describe('sensor ingesting Falco and Tetragon streams', () => {
  it('raises the same runtime alerts and counts malformed lines without stopping', async () => {
    const alerts: Alert[] = [];
    const sensor = createSensor({
      node: 'n',
      clock: fixedClock('2026-11-20T10:05:00Z'),
      log: silentLogger,
      analyzer: createRuntimeAnalyzer({ ruleSet: loadRuntimeRuleSet() }),
      onAlert: (a) => alerts.push(a),
      maxLineBytes: 4096,
    });
    const falco = [JSON.stringify(FALCO_SHELL), '{"truncated', 'not json at all', JSON.stringify(FALCO_CONNECT), 'x'.repeat(5000), '[1,2,3]', ''].join('\n');
    const tetragon = [JSON.stringify(TETRAGON_EXEC), JSON.stringify(TETRAGON_CONNECT), '{}', '{"time":"2026-11-20T10:00:00Z","process_exit":{"process":{"pid":9,"binary":"/x"},"status":0}}'].join('\n');
    await sensor.ingest(Readable.from([falco]), 'falco');
    await sensor.ingest(Readable.from([tetragon]), 'tetragon');
    sensor.flush();
    expect(alerts.map((a) => a.rule).sort()).toEqual(['K8S.NODE_ImdsCall', 'PAL_MiningPoolConnection', 'PAL_ShellInContainer']);
    expect(sensor.counters().skipped).toEqual({
      'falco: line over 4096 bytes': 1,
      'falco: not JSON': 2,
      'falco: not a Falco JSON alert (no output_fields)': 1,
      'tetragon: not a Tetragon export event': 1,
    });
    expect(sensor.counters().events).toBe(5);
  });
});
