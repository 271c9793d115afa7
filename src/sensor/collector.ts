import type { Clock, Logger } from '../core/index.js';
import type { ContainerInfo, Connection, ProcessRef, RuntimeEvent, RuntimeProcess, StdioInfo } from '../threat/runtime/index.js';
import { containerFromCgroup } from './cgroup.js';
import { readSocketTables, type SocketEntry } from './net.js';
import type { PodCache } from './pods.js';
import {
  CLOCK_TICKS_PER_SECOND,
  ignoresHangup,
  listPids,
  readArgv,
  readBootTimeMs,
  readCwd,
  readExe,
  readFds,
  readNamespaces,
  readSocketInodes,
  readStat,
  readStatus,
  readText,
  stdioType,
  NAMESPACE_TYPES,
  type NamespaceIds,
} from './procfs.js';

/**
 * The /proc poller. Each `tick()`:
 * 1. lists /proc; pids that disappeared give `exit` events, new pids are read (stat, status,
 *    cmdline, exe, cwd, fds, namespaces, cgroup) and give `exec` events;
 * 2. re-checks young launchers (shells, env, nohup, unshare …, younger than `youngMs`) for an
 *    exec in place (same pid, new image: `bash -c 'exec sh'`, `nohup x`, `unshare -n x`);
 * 3. every `netIntervalMs`, reads the socket tables of every network namespace once, and gives `connect`, `accept` and
 *    `listen` events for sockets not seen before, attributed to their process through the socket
 *    inodes in /proc/PID/fd (known from the first read of a process, else searched youngest first).
 *
 * What polling cannot see is documented in docs/sensor.md: processes that start and end between
 * two ticks, exec chains within one tick, and connections opened and closed within one tick.
 */
export interface CollectorOptions {
  procRoot?: string;
  node: string;
  clock: Clock;
  log: Logger;
  /** Pod metadata for container ids (absent: containers carry their id and runtime only). */
  pods?: PodCache;
  /** argv bytes read per process. Default 32 KiB. */
  maxArgvBytes?: number;
  maxAncestors?: number;
  maxFds?: number;
  maxOpenFiles?: number;
  /** Processes younger than this are re-checked for exec-in-place every tick. Default 1 s. */
  youngMs?: number;
  /** Emit `exec` events for the processes already running at the first tick. Default true. */
  reportExisting?: boolean;
  /** Fd tables read per tick when searching the owner of new sockets. Default 4,000. */
  maxFdScansPerTick?: number;
  /** Longest command line kept on an event (the argv array is cut to match). Default 16 KiB. */
  maxCmdline?: number;
  /**
   * How often the socket tables are read. Default 1 s: generating /proc/net/tcp walks the kernel's
   * whole TCP hash table once per network namespace (milliseconds on large-memory hosts), so it is
   * polled less often than processes. Connections shorter than this can be missed.
   */
  netIntervalMs?: number;
}

export interface CollectorCounters {
  ticks: number;
  processesTracked: number;
  execs: number;
  execsInPlace: number;
  exits: number;
  connections: number;
  /** Processes that vanished between listing and reading. */
  vanished: number;
  /** Kernel threads (no argv, no exe) tracked but not reported. */
  kernelThreads: number;
  truncatedArgv: number;
  /** Sockets whose owning process was not found (closed or passed on before the search). */
  unattributedSockets: number;
  malformedSocketLines: number;
  fdScans: number;
  lastTickMs: number;
  maxTickMs: number;
  /** Socket-table passes (one per network namespace each net interval). */
  socketTableReads: number;
  /** Polls where /proc/loadavg showed no fork and no exit, so /proc was not listed. */
  listingsSkipped: number;
}

interface Tracked {
  pid: number;
  startTicks: number;
  comm: string;
  exe: string;
  firstSeenMs: number;
  kernel: boolean;
  ns: NamespaceIds;
  process: RuntimeProcess;
  sockets: number[];
}

export interface Collector {
  tick(): RuntimeEvent[];
  counters(): CollectorCounters;
}

const KERNEL_THREADD = 2;
/**
 * Programs that exec another program in place (same pid): only these are re-read while young,
 * which keeps the per-tick cost independent of how many ordinary processes start.
 */
const LAUNCHERS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', 'ksh', 'mksh', 'busybox', 'env', 'nohup', 'unshare', 'nsenter', 'nice', 'ionice', 'chroot', 'setsid', 'setpriv', 'stdbuf', 'taskset', 'chrt', 'numactl', 'capsh', 'exec', 'runc', 'runc:[2:INIT]', 'runc:[1:CHILD]', 'crun', 'tini', 'dumb-init', 'su', 'sudo', 'doas', 'xargs', 'timeout', 'python', 'python3', 'perl', 'node', 'script']);
/** Programs that commonly exec another instance of themselves (compared by command line when young). */
const SAME_NAME_EXECS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', 'busybox', 'env', 'python', 'python3', 'perl', 'node']);

function ref(p: RuntimeProcess): ProcessRef {
  return { pid: p.pid, name: p.name, exe: p.exe, cmdline: p.cmdline.length > 512 ? p.cmdline.slice(0, 512) : p.cmdline };
}

function endpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function createCollector(options: CollectorOptions): Collector {
  const root = options.procRoot ?? '/proc';
  const maxArgv = options.maxArgvBytes ?? 32 * 1024;
  const maxAncestors = options.maxAncestors ?? 8;
  const maxFds = options.maxFds ?? 1024;
  const maxOpenFiles = options.maxOpenFiles ?? 32;
  const youngMs = options.youngMs ?? 1000;
  const maxFdScans = options.maxFdScansPerTick ?? 4000;
  const maxCmdline = options.maxCmdline ?? 16 * 1024;
  const netIntervalMs = options.netIntervalMs ?? 1000;
  let lastNetMs = Number.NEGATIVE_INFINITY;
  let lastSignature: string | undefined;
  const bootMs = readBootTimeMs(root) ?? 0;
  const tracked = new Map<number, Tracked>();
  /** socket inode → pid, from fd reads. */
  const owners = new Map<number, number>();
  /** `netns inode` keys of sockets already reported (or found unattributable). */
  const seenSockets = new Set<string>();
  let first = options.reportExisting === false;
  const counters: CollectorCounters = {
    ticks: 0,
    processesTracked: 0,
    execs: 0,
    execsInPlace: 0,
    exits: 0,
    connections: 0,
    vanished: 0,
    kernelThreads: 0,
    truncatedArgv: 0,
    unattributedSockets: 0,
    malformedSocketLines: 0,
    fdScans: 0,
    lastTickMs: 0,
    maxTickMs: 0,
    socketTableReads: 0,
    listingsSkipped: 0,
  };

  // Socket tables are read once per namespace per tick, lazily.
  let tables = new Map<string, Map<number, SocketEntry>>();
  function tableOf(netns: string, pid: number): Map<number, SocketEntry> {
    let table = tables.get(netns);
    if (table === undefined) {
      const read = readSocketTables(root, pid);
      counters.socketTableReads += 1;
      counters.malformedSocketLines += read.bad;
      table = new Map(read.entries.map((e) => [e.inode, e]));
      tables.set(netns, table);
    }
    return table;
  }

  function stdio(target: string, netns: string, pid: number): StdioInfo {
    const type = stdioType(target);
    let remote = '';
    if (type === 'socket' && netns !== '') {
      const inode = Number(/\d+/.exec(target)?.[0]);
      const entry = tableOf(netns, pid).get(inode);
      if (entry && entry.remoteIP !== '') remote = endpoint(entry.remoteIP, entry.remotePort);
    }
    return { type, target, remote };
  }

  function container(pid: number): ContainerInfo | undefined {
    const text = readText(`${root}/${pid}/cgroup`, 16 * 1024);
    if (text === undefined) return undefined;
    const c = containerFromCgroup(text);
    if (c === undefined) return undefined;
    const pod = options.pods?.lookup(c.id);
    return {
      id: c.id,
      runtime: c.runtime,
      name: pod?.containerName ?? '',
      podNamespace: pod?.podNamespace ?? '',
      podName: pod?.podName ?? '',
      podUid: pod?.podUid || c.podUid,
      image: pod?.image ?? '',
      imageDigest: pod?.imageDigest ?? '',
      labels: pod?.labels ?? {},
    };
  }

  function ancestors(ppid: number): ProcessRef[] {
    const out: ProcessRef[] = [];
    let pid = ppid;
    const seen = new Set<number>();
    while (pid > 0 && out.length < maxAncestors && !seen.has(pid)) {
      seen.add(pid);
      const t = tracked.get(pid);
      if (t !== undefined) {
        out.push(ref(t.process));
        pid = t.process.ppid;
        continue;
      }
      const stat = readStat(root, pid);
      if (stat === undefined) break;
      const argv = readArgv(root, pid, 512);
      out.push({ pid, name: stat.comm, exe: readExe(root, pid), cmdline: argv?.args.join(' ') ?? '' });
      pid = stat.ppid;
    }
    return out;
  }

  /** Reads one process fully; undefined when it vanished. */
  function read(pid: number, nowMs: number): Tracked | undefined {
    const stat = readStat(root, pid);
    if (stat === undefined) return undefined;
    const argv = readArgv(root, pid, maxArgv);
    const exe = readExe(root, pid);
    if (stat.ppid === KERNEL_THREADD || pid === KERNEL_THREADD || (argv !== undefined && argv.args.length === 0 && exe === '')) {
      return { pid, startTicks: stat.startTicks, comm: stat.comm, exe: '', firstSeenMs: nowMs, kernel: true, ns: {}, sockets: [], process: { pid, ppid: stat.ppid, name: stat.comm, exe: '', args: [], cmdline: '', cwd: '', uid: 0, gid: 0, startTime: '', capEff: '', ancestors: [], stdin: { type: 'none', target: '', remote: '' }, stdout: { type: 'none', target: '', remote: '' }, openFiles: [], netns: '', nsChanged: [], ignoresHangup: false, truncated: false } };
    }
    const status = readStatus(root, pid);
    if (status === undefined || argv === undefined) return undefined;
    const ns = readNamespaces(root, pid);
    const netns = ns.net ?? '';
    const fds = readFds(root, pid, maxFds, maxOpenFiles);
    let args = argv.args;
    let cmdline = args.join(' ');
    let truncated = argv.truncated;
    if (cmdline.length > maxCmdline) {
      cmdline = cmdline.slice(0, maxCmdline);
      let used = 0;
      const kept: string[] = [];
      for (const a of args) {
        if (used + a.length > maxCmdline) break;
        kept.push(a);
        used += a.length + 1;
      }
      args = kept;
      truncated = true;
    }
    if (truncated) counters.truncatedArgv += 1;
    const parent = tracked.get(stat.ppid);
    const parentNs = parent?.ns ?? (stat.ppid > 0 ? readNamespaces(root, stat.ppid) : {});
    const nsChanged = NAMESPACE_TYPES.filter((t) => ns[t] !== undefined && parentNs[t] !== undefined && ns[t] !== parentNs[t]);
    const process: RuntimeProcess = {
      pid,
      ppid: stat.ppid,
      name: stat.comm,
      exe,
      args,
      cmdline,
      cwd: readCwd(root, pid),
      uid: status.uid,
      gid: status.gid,
      startTime: bootMs > 0 ? new Date(bootMs + (stat.startTicks * 1000) / CLOCK_TICKS_PER_SECOND).toISOString() : '',
      capEff: status.capEff,
      ancestors: ancestors(stat.ppid),
      stdin: stdio(fds?.stdin ?? '', netns, pid),
      stdout: stdio(fds?.stdout ?? '', netns, pid),
      openFiles: fds?.files ?? [],
      netns,
      nsChanged,
      ignoresHangup: ignoresHangup(status.sigIgn),
      truncated,
    };
    const c = container(pid);
    if (c !== undefined) process.container = c;
    for (const inode of fds?.sockets ?? []) owners.set(inode, pid);
    return { pid, startTicks: stat.startTicks, comm: stat.comm, exe, firstSeenMs: nowMs, kernel: false, ns, process, sockets: fds?.sockets ?? [] };
  }

  function forget(t: Tracked): void {
    for (const inode of t.sockets) if (owners.get(inode) === t.pid) owners.delete(inode);
    tracked.delete(t.pid);
  }

  function connections(now: string, node: string, out: RuntimeEvent[]): void {
    // One representative process per network namespace.
    const reps = new Map<string, number>();
    for (const t of tracked.values()) {
      if (t.kernel) continue;
      const netns = t.process.netns;
      if (netns !== '' && !reps.has(netns)) reps.set(netns, t.pid);
    }
    const alive = new Set<string>();
    let scans = 0;
    for (const [netns, rep] of reps) {
      const table = tableOf(netns, rep);
      const listening = new Set<number>();
      for (const e of table.values()) if (e.state === 'listen') listening.add(e.localPort);
      const fresh: SocketEntry[] = [];
      for (const e of table.values()) {
        if (e.inode === 0) continue;
        const key = `${netns} ${e.inode}`;
        alive.add(key);
        if (seenSockets.has(key)) continue;
        if (e.protocol === 'tcp' && !['listen', 'established', 'syn-sent'].includes(e.state)) continue;
        fresh.push(e);
      }
      if (fresh.length === 0) continue;
      // Find owners of sockets not seen in any fd table yet: youngest processes of this namespace first.
      if (fresh.some((e) => !owners.has(e.inode))) {
        const candidates = [...tracked.values()].filter((t) => !t.kernel && t.process.netns === netns).sort((a, b) => b.startTicks - a.startTicks);
        const missing = new Set(fresh.filter((e) => !owners.has(e.inode)).map((e) => e.inode));
        for (const t of candidates) {
          if (missing.size === 0 || scans >= maxFdScans) break;
          scans += 1;
          counters.fdScans += 1;
          const inodes = readSocketInodes(root, t.pid, maxFds);
          if (inodes === undefined) continue;
          t.sockets = inodes;
          for (const inode of inodes) {
            owners.set(inode, t.pid);
            missing.delete(inode);
          }
        }
      }
      for (const e of fresh) {
        const key = `${netns} ${e.inode}`;
        const owner = owners.get(e.inode);
        const t = owner === undefined ? undefined : tracked.get(owner);
        if (t === undefined) {
          if (scans < maxFdScans) {
            seenSockets.add(key);
            counters.unattributedSockets += 1;
          }
          continue;
        }
        seenSockets.add(key);
        const connection: Connection = {
          protocol: e.protocol,
          family: e.family,
          localIP: e.localIP,
          localPort: e.localPort,
          remoteIP: e.remoteIP,
          remotePort: e.remotePort,
          state: e.state,
        };
        const kind = e.state === 'listen' || (e.protocol === 'udp' && e.remoteIP === '') ? 'listen' : e.protocol === 'tcp' && listening.has(e.localPort) ? 'accept' : 'connect';
        counters.connections += 1;
        out.push({ kind, time: now, node, source: 'proc', process: t.process, connection });
      }
    }
    for (const key of seenSockets) if (!alive.has(key)) seenSockets.delete(key);
  }

  /**
   * Exec in place (same pid, new program) of a young launcher. 'gone' when the pid now belongs to
   * another process (reuse): the caller reads it as new.
   */
  function recheck(known: Tracked, nowMs: number, now: string, out: RuntimeEvent[]): 'same' | 'exec' | 'gone' {
    if (known.kernel || nowMs - known.firstSeenMs > youngMs || !LAUNCHERS.has(known.comm)) return 'same';
    const stat = readStat(root, known.pid);
    if (stat === undefined) return 'same';
    if (stat.startTicks !== known.startTicks) {
      forget(known);
      return 'gone';
    }
    // An exec changes the comm, except when a shell execs a shell (`sh -c 'exec sh …'`).
    if (stat.comm === known.comm && (!SAME_NAME_EXECS.has(stat.comm) || readArgv(root, known.pid, maxArgv)?.args.join(' ').slice(0, maxCmdline) === known.process.cmdline)) return 'same';
    const again = read(known.pid, known.firstSeenMs);
    if (again === undefined) return 'same';
    tracked.set(known.pid, again);
    counters.execsInPlace += 1;
    counters.execs += 1;
    out.push({ kind: 'exec', time: now, node: options.node, source: 'proc', process: again.process });
    return 'exec';
  }

  return {
    tick() {
      const started = performance.now();
      const nowMs = options.clock.now().getTime();
      const now = new Date(nowMs).toISOString();
      const node = options.node;
      const out: RuntimeEvent[] = [];
      tables = new Map();
      // Nothing forked and nothing exited since the last poll (same last pid, same thread count):
      // skip the /proc listing and only re-check young launchers for an exec in place.
      const load = readText(`${root}/loadavg`, 256)?.trim().split(/\s+/);
      const signature = load === undefined || load.length < 5 ? undefined : `${load[3]?.split('/')[1]} ${load[4]}`;
      const unchanged = signature !== undefined && signature === lastSignature && !first;
      lastSignature = signature;
      if (unchanged) {
        counters.listingsSkipped += 1;
        for (const known of [...tracked.values()]) recheck(known, nowMs, now, out);
      } else {
        const pids = listPids(root);
        const present = new Set(pids);
        for (const t of [...tracked.values()]) {
          if (present.has(t.pid)) continue;
          if (!t.kernel) {
            counters.exits += 1;
            out.push({ kind: 'exit', time: now, node, source: 'proc', process: t.process });
          }
          forget(t);
        }
        const report = !first;
        for (const pid of pids) {
          const known = tracked.get(pid);
          if (known !== undefined && recheck(known, nowMs, now, out) !== 'gone') continue;
          const t = read(pid, nowMs);
          if (t === undefined) {
            counters.vanished += 1;
            continue;
          }
          tracked.set(pid, t);
          if (t.kernel) {
            counters.kernelThreads += 1;
            continue;
          }
          if (report) {
            counters.execs += 1;
            out.push({ kind: 'exec', time: now, node, source: 'proc', process: t.process });
          }
        }
      }
      if (nowMs - lastNetMs >= netIntervalMs || first) {
        lastNetMs = nowMs;
        connections(now, node, out);
      }
      if (first) {
        // Existing processes were not reported: only their connections from now on are news.
        first = false;
        out.length = 0;
      }
      counters.ticks += 1;
      counters.processesTracked = tracked.size;
      counters.lastTickMs = performance.now() - started;
      counters.maxTickMs = Math.max(counters.maxTickMs, counters.lastTickMs);
      return out;
    },
    counters: () => ({ ...counters }),
  };
}
