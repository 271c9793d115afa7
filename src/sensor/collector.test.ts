import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { fixedClock, silentLogger, systemClock } from '../core/index.js';
import type { RuntimeEvent } from '../threat/runtime/index.js';
import { createCollector } from './collector.js';

const CONTAINER = 'f'.repeat(64);

/** A /proc tree written by the test: a miner in a container, broken and vanishing entries, garbage tables. */
function fakeProc(): string {
  const root = mkdtempSync(join(tmpdir(), 'palisade-fakeproc-'));
  writeFileSync(join(root, 'stat'), 'cpu  1 2 3 4\nbtime 1795168000\nprocesses 1000\n');
  const proc = (pid: number, files: Record<string, string>, links: Record<string, string> = {}): void => {
    const dir = join(root, String(pid));
    mkdirSync(join(dir, 'fd'), { recursive: true });
    mkdirSync(join(dir, 'ns'), { recursive: true });
    mkdirSync(join(dir, 'net'), { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    for (const [name, target] of Object.entries(links)) symlinkSync(target, join(dir, name));
  };
  const status = (uid: number) => `Name:\tx\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nGid:\t0\t0\t0\t0\nCapEff:\t00000000a80425fb\nSigIgn:\t0000000000000000\n`;
  proc(
    1,
    { stat: '1 (systemd) S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 1 1 1', status: status(0), cmdline: '/sbin/init\0', cgroup: '0::/init.scope\n' },
    { exe: '/usr/lib/systemd/systemd', cwd: '/', 'ns/net': 'net:[4026531840]' },
  );
  proc(
    100,
    {
      stat: '100 (xmrig) S 1 100 100 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 50000 1 1',
      status: status(1000),
      cmdline: './xmrig\0-o\0stratum+tcp://pool.example.net:3333\0',
      cgroup: `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod11112222_3333_4444_5555_666677778888.slice/cri-containerd-${CONTAINER}.scope\n`,
      'net/tcp': [
        '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
        '   0: 0B01A8C0:A1B2 E0BA0F33:0D05 01 00000000:00000000 02:000A7B1C 00000000  1000        0 555 2 0000000000000000 20 4 30 10 -1',
        '   1: not a socket line',
      ].join('\n'),
      'net/tcp6': '',
      'net/udp': 'header\n',
    },
    { exe: '/tmp/.x/xmrig', cwd: '/tmp/.x', 'ns/net': 'net:[4026532999]', 'ns/mnt': 'mnt:[4026532998]', 'fd/0': 'socket:[555]', 'fd/1': 'socket:[555]', 'fd/2': '/dev/null', 'fd/3': '/var/lib/kubelet/kubeconfig' },
  );
  // Vanished between the listing and the reads: only a stat file, then nothing.
  proc(101, { stat: '101 (gone) S 1 101 101 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 50001 1 1' });
  proc(102, { stat: 'garbage' });
  proc(103, {});
  // A kernel thread: parent kthreadd, no argv, no exe.
  proc(2, { stat: '2 (kthreadd) S 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0', status: status(0), cmdline: '' });
  proc(40, { stat: '40 (kworker/0:1) I 2 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 3 0 0', status: status(0), cmdline: '' });
  mkdirSync(join(root, 'self'));
  mkdirSync(join(root, 'sys'));
  return root;
}

describe('collector on a written /proc tree', () => {
  const root = fakeProc();
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reports the process fully, resolves its socket stdio, attributes the container, and counts what it could not read', () => {
    const collector = createCollector({ procRoot: root, node: 'node-1', clock: fixedClock('2026-11-20T10:00:00Z'), log: silentLogger });
    const events = collector.tick();
    const execs = events.filter((e): e is Extract<RuntimeEvent, { kind: 'exec' }> => e.kind === 'exec');
    expect(execs.map((e) => e.process.pid).sort((a, b) => a - b)).toEqual([1, 100]);
    const miner = execs.find((e) => e.process.pid === 100);
    expect(miner?.process).toEqual({
      pid: 100,
      ppid: 1,
      name: 'xmrig',
      exe: '/tmp/.x/xmrig',
      args: ['./xmrig', '-o', 'stratum+tcp://pool.example.net:3333'],
      cmdline: './xmrig -o stratum+tcp://pool.example.net:3333',
      cwd: '/tmp/.x',
      uid: 1000,
      gid: 0,
      startTime: '2026-11-20T09:55:00.000Z',
      capEff: '00000000a80425fb',
      ancestors: [{ pid: 1, name: 'systemd', exe: '/usr/lib/systemd/systemd', cmdline: '/sbin/init' }],
      stdin: { type: 'socket', target: 'socket:[555]', remote: '51.15.186.224:3333' },
      stdout: { type: 'socket', target: 'socket:[555]', remote: '51.15.186.224:3333' },
      openFiles: ['/var/lib/kubelet/kubeconfig'],
      netns: 'net:[4026532999]',
      nsChanged: ['net'],
      ignoresHangup: false,
      truncated: false,
      container: { id: CONTAINER, runtime: 'containerd', name: '', podNamespace: '', podName: '', podUid: '11112222-3333-4444-5555-666677778888', image: '', imageDigest: '', labels: {} },
    });
    const connects = events.filter((e) => e.kind === 'connect');
    expect(connects.map((e) => (e.kind === 'connect' ? [e.process.pid, e.connection.remoteIP, e.connection.remotePort] : []))).toEqual([[100, '51.15.186.224', 3333]]);
    expect(collector.counters()).toMatchObject({ vanished: 3, kernelThreads: 2, malformedSocketLines: 1, execs: 2, connections: 1 });
  });

  it('does not report what it already saw, and gives an exit when a pid disappears', () => {
    const collector = createCollector({ procRoot: root, node: 'node-1', clock: fixedClock('2026-11-20T10:00:00Z'), log: silentLogger, reportExisting: false });
    expect(collector.tick()).toEqual([]);
    expect(collector.tick()).toEqual([]);
    rmSync(join(root, '100'), { recursive: true });
    const events = collector.tick();
    expect(events.map((e) => [e.kind, e.process.pid])).toEqual([['exit', 100]]);
  });

  it('reads the socket tables for a socket on stdio only when it may be an inet socket', () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-fakeproc-net-'));
    try {
      writeFileSync(join(dir, 'stat'), 'cpu  1 2 3 4\nbtime 1795168000\n');
      const net = (activeOpens: number): Record<string, string> => ({
        'net/tcp': '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0B01A8C0:A1B2 E0BA0F33:0D05 01 00000000:00000000 02:000A7B1C 00000000     0        0 555 2 0000000000000000 20 4 30 10 -1\n',
        'net/snmp': `Tcp: RtoAlgorithm ActiveOpens PassiveOpens\nTcp: 1 ${activeOpens} 0\n`,
        'net/sockstat': 'sockets: used 3\nTCP: inuse 1 orphan 0 tw 0 alloc 1 mem 1\nUDP: inuse 0 mem 0\n',
      });
      const proc = (pid: number, name: string, fds: Record<string, string>, activeOpens: number): void => {
        const d = join(dir, String(pid));
        mkdirSync(join(d, 'fd'), { recursive: true });
        mkdirSync(join(d, 'ns'), { recursive: true });
        mkdirSync(join(d, 'net'), { recursive: true });
        const files: Record<string, string> = {
          stat: `${pid} (${name}) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ${pid * 10} 1 1`,
          status: 'Name:\tx\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapEff:\t0\nSigIgn:\t0\n',
          cmdline: `${name}\0`,
          cgroup: '0::/\n',
          ...net(activeOpens),
        };
        for (const [f, text] of Object.entries(files)) writeFileSync(join(d, f), text);
        symlinkSync(`/usr/bin/${name}`, join(d, 'exe'));
        symlinkSync('net:[4026531840]', join(d, 'ns/net'));
        for (const [fd, target] of Object.entries(fds)) symlinkSync(target, join(d, 'fd', fd));
      };
      proc(1, 'init', {}, 7);
      const collector = createCollector({ procRoot: dir, node: 'n', clock: fixedClock('2026-11-20T10:00:00Z'), log: silentLogger, reportExisting: false });
      collector.tick();
      expect(collector.counters().socketTableReads).toBe(1);
      // stdout on a socket the last read did not hold, socket activity unchanged: a unix socket, no read.
      proc(200, 'logger', { '1': 'socket:[9001]' }, 7);
      const quiet = collector.tick().find((e) => e.process.pid === 200);
      expect(quiet?.process.stdout).toEqual({ type: 'socket', target: 'socket:[9001]', remote: '' });
      expect(collector.counters().socketTableReads).toBe(1);
      // stdin on a socket the last read held: its peer is looked up.
      proc(201, 'sh', { '0': 'socket:[555]', '1': 'socket:[555]' }, 7);
      const shell = collector.tick().find((e) => e.process.pid === 201);
      expect(shell?.process.stdin).toEqual({ type: 'socket', target: 'socket:[555]', remote: '51.15.186.224:3333' });
      expect(collector.counters().socketTableReads).toBe(2);
      // A new socket while the namespace's activity changed (a connection was opened): read.
      for (const pid of [1, 200, 201]) writeFileSync(join(dir, String(pid), 'net/snmp'), 'Tcp: RtoAlgorithm ActiveOpens PassiveOpens\nTcp: 1 8 0\n');
      proc(202, 'sh', { '0': 'socket:[9002]' }, 8);
      collector.tick();
      expect(collector.counters().socketTableReads).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('returns nothing for a /proc that does not exist', () => {
    const collector = createCollector({ procRoot: join(root, 'missing'), node: 'n', clock: fixedClock('2026-11-20T10:00:00Z'), log: silentLogger });
    expect(collector.tick()).toEqual([]);
  });
});

describe('collector on the real /proc', () => {
  it('cuts a huge argv and keeps the event bounded', async () => {
    const big = Array.from({ length: 8 }, (_, i) => `${i}`.repeat(100_000));
    const collector = createCollector({ node: 'n', clock: systemClock, log: silentLogger, reportExisting: false, maxArgvBytes: 32 * 1024, maxCmdline: 16 * 1024 });
    collector.tick();
    const huge = spawn('/bin/sh', ['-c', 'sleep 5', 'sh', ...big], { stdio: 'ignore' });
    try {
      let event: RuntimeEvent | undefined;
      for (let i = 0; i < 30 && event === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        event = collector.tick().find((e) => e.kind === 'exec' && e.process.pid === huge.pid);
      }
      expect(event?.process.truncated).toBe(true);
      expect(event?.process.cmdline.length).toBeLessThanOrEqual(16 * 1024);
      expect(event?.process.args.slice(0, 3)).toEqual(['/bin/sh', '-c', 'sleep 5']);
      expect(collector.counters().truncatedArgv).toBeGreaterThanOrEqual(1);
    } finally {
      huge.kill('SIGKILL');
    }
  });

  it('survives processes that start and vanish while it polls, and forgets every one that ended', async () => {
    const collector = createCollector({ node: 'n', clock: systemClock, log: silentLogger, reportExisting: false });
    collector.tick();
    const children = Array.from({ length: 200 }, () => spawn('sh', ['-c', 'exit 0'], { stdio: 'ignore' }));
    const pids = new Set(children.map((c) => c.pid));
    const exited = Promise.all(children.map((c) => new Promise((r) => c.once('exit', r))));
    let done = false;
    void exited.then(() => (done = true));
    const events: RuntimeEvent[] = [];
    // Exits are found by the full listing (every listIntervalMs): poll until one ran after the last exit.
    let listingsAtDone = -1;
    for (;;) {
      events.push(...collector.tick());
      if (done && listingsAtDone < 0) listingsAtDone = collector.counters().listings;
      else if (done && collector.counters().listings > listingsAtDone) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const started = events.filter((e) => e.kind === 'exec' && pids.has(e.process.pid)).map((e) => e.process.pid);
    const ended = events.filter((e) => e.kind === 'exit' && pids.has(e.process.pid)).map((e) => e.process.pid);
    expect([...new Set(ended)].sort()).toEqual([...new Set(started)].sort());
    expect(collector.counters().ticks).toBeGreaterThan(3);
  });

  it('finds new processes by probing the new pid range, without listing /proc, and does not take threads for processes', async () => {
    const collector = createCollector({ node: 'n', clock: systemClock, log: silentLogger, reportExisting: false, listIntervalMs: 600_000 });
    collector.tick();
    const tasksBefore = new Set(readdirSync('/proc/self/task'));
    const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
    const child = spawn('sleep', ['3'], { stdio: 'ignore' });
    try {
      const events: RuntimeEvent[] = [];
      for (let i = 0; i < 50 && !events.some((e) => e.kind === 'exec' && e.process.pid === child.pid); i++) {
        await new Promise((r) => setTimeout(r, 100));
        events.push(...collector.tick());
      }
      const threads = readdirSync('/proc/self/task').filter((t) => !tasksBefore.has(t)).map(Number);
      expect(threads.length).toBeGreaterThan(0);
      expect(events.filter((e) => e.kind === 'exec' && e.process.pid === child.pid).map((e) => e.process.name)).toEqual(['sleep']);
      expect(events.filter((e) => threads.includes(e.process.pid))).toEqual([]);
      // A listing can still happen (pid wrap-around on a busy machine), but the polls in between probe.
      expect(collector.counters().listingsSkipped).toBeGreaterThan(0);
      expect(collector.counters().pidsProbed).toBeGreaterThan(0);
    } finally {
      child.kill('SIGKILL');
      await worker.terminate();
    }
  });

  it('sees a shell exec another shell in place (same name, same pid) from its stat line', async () => {
    const collector = createCollector({ node: 'n', clock: systemClock, log: silentLogger, reportExisting: false });
    collector.tick();
    const shell = spawn('/bin/sh', ['-c', 'sleep 0.4; exec /bin/sh -c "sleep 3; true"'], { stdio: 'ignore' });
    try {
      const events: RuntimeEvent[] = [];
      for (let i = 0; i < 30 && events.filter((e) => e.kind === 'exec' && e.process.pid === shell.pid).length < 2; i++) {
        await new Promise((r) => setTimeout(r, 100));
        events.push(...collector.tick());
      }
      const cmdlines = events.filter((e) => e.kind === 'exec' && e.process.pid === shell.pid).map((e) => e.process.cmdline);
      expect(cmdlines).toEqual(['/bin/sh -c sleep 0.4; exec /bin/sh -c "sleep 3; true"', '/bin/sh -c sleep 3; true']);
      expect(collector.counters().execsInPlace).toBeGreaterThanOrEqual(1);
    } finally {
      shell.kill('SIGKILL');
    }
  });
});
