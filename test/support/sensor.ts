import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { silentLogger, systemClock } from '../../src/core/index.js';
import { createSensor, type Sensor } from '../../src/sensor/agent.js';
import { createCollector } from '../../src/sensor/collector.js';
import type { PodCache } from '../../src/sensor/pods.js';
import type { Alert } from '../../src/threat/alert.js';
import { createRuntimeAnalyzer, loadRuntimeRuleSet, type ImageFileLookup, type RuntimeEvent } from '../../src/threat/runtime/index.js';

/** Live-sensor helpers: real processes, a real /proc poller, real sockets and cgroups. */

export const ruleSet = loadRuntimeRuleSet();

export interface LiveSensor {
  sensor: Sensor;
  alerts: Alert[];
  events: RuntimeEvent[];
}

export function liveSensor(options: { pods?: PodCache; imageFiles?: ImageFileLookup; node?: string } = {}): LiveSensor {
  const alerts: Alert[] = [];
  const events: RuntimeEvent[] = [];
  const node = options.node ?? 'live-node';
  const collector = createCollector({ node, clock: systemClock, log: silentLogger, reportExisting: false, pods: options.pods });
  const analyzer = createRuntimeAnalyzer({ ruleSet, imageFiles: options.imageFiles });
  const sensor = createSensor({
    node,
    clock: systemClock,
    log: silentLogger,
    analyzer,
    collector,
    groupWindowMs: 0,
    onAlert: (a) => alerts.push(a),
    onEvent: (e) => events.push(e),
  });
  return { sensor, alerts, events };
}

const evidenceSchema = z.object({
  process: z.object({ pid: z.number(), tree: z.array(z.object({ pid: z.number() })) }),
});

/** The pids an alert's evidence names: the process and its ancestors. */
export function alertPids(alert: Alert): number[] {
  const e = evidenceSchema.safeParse(alert.evidence[0]);
  if (!e.success) return [];
  return [e.data.process.pid, ...e.data.process.tree.map((t) => t.pid)];
}

export function involves(alert: Alert, pid: number | undefined): boolean {
  return pid !== undefined && alertPids(alert).includes(pid);
}

/** Ticks every 100 ms until `done` holds or `timeoutMs` passes. */
export async function pollUntil(live: LiveSensor, done: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    await live.sensor.tick();
    if (done()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return done();
}

/** True once the poller has reported an exec of this pid (so a quiet twin was really looked at). */
export function seen(live: LiveSensor, pid: number | undefined): boolean {
  return pid !== undefined && live.events.some((e) => e.kind === 'exec' && e.process.pid === pid);
}

export class Processes {
  private children: ChildProcess[] = [];
  private servers: Array<Server | HttpServer> = [];
  private sockets: Socket[] = [];
  private cgroups: string[] = [];

  start(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn(command, args, { stdio: 'ignore', ...options });
    child.on('error', () => undefined);
    this.children.push(child);
    return child;
  }

  keep(socket: Socket): void {
    this.sockets.push(socket);
  }

  async listen(port = 0): Promise<{ server: Server; port: number }> {
    const server = createServer((s) => {
      s.on('error', () => undefined);
      this.sockets.push(s);
    });
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    return { server, port: typeof address === 'object' && address !== null ? address.port : 0 };
  }

  async http(body: string, json = false): Promise<number> {
    const server = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'text/plain' });
      res.end(body);
    });
    this.servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** A new cgroup v2 directory named the way containerd names a container's cgroup. */
  containerCgroup(root: string, containerId: string): string {
    const parent = join(root, `palisade-test-${process.pid}-${this.cgroups.length}`);
    const dir = join(parent, `cri-containerd-${containerId}.scope`);
    mkdirSync(dir, { recursive: true });
    this.cgroups.push(dir, parent);
    return dir;
  }

  /** Starts `command args` inside the cgroup (the shell moves itself in, then execs the command). */
  startIn(cgroup: string, command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    return this.start('sh', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec "$@"`, 'sh', command, ...args], options);
  }

  async cleanup(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const exits = this.children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
          setTimeout(resolve, 2000);
        }),
    );
    await Promise.all(exits);
    for (const s of this.servers) s.close();
    for (const dir of this.cgroups) {
      for (let i = 0; i < 20; i++) {
        try {
          if (existsSync(dir)) rmdirSync(dir);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
    this.children = [];
    this.servers = [];
    this.sockets = [];
    this.cgroups = [];
  }
}

/** The cgroup v2 mount point if this machine lets us create cgroups there, else undefined. */
export function writableCgroup2Root(): string | undefined {
  let mounts = '';
  try {
    mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of mounts.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!right?.startsWith('cgroup2 ')) continue;
    const mountPoint = left?.split(' ')[4];
    if (mountPoint === undefined) continue;
    const probe = join(mountPoint, `palisade-probe-${process.pid}`);
    try {
      mkdirSync(probe);
      rmdirSync(probe);
      return mountPoint;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Copies a binary under another name (a real process that the kernel names `name`). */
export function renamedBinary(dir: string, source: string, name: string): string {
  const target = join(dir, name);
  copyFileSync(source, target);
  chmodSync(target, 0o755);
  return target;
}

export function script(dir: string, name: string, body: string): string {
  const target = join(dir, name);
  writeFileSync(target, body);
  chmodSync(target, 0o755);
  return target;
}
