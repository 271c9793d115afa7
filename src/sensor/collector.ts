import type { Clock, Logger } from '../core/index.js';
import type { ContainerInfo, Connection, ProcessRef, RuntimeEvent, RuntimeProcess, StdioInfo } from '../threat/runtime/index.js';
import { containerFromCgroup } from './cgroup.js';
import { readSocketActivity, readSocketTables, type SocketEntry } from './net.js';
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
  readLoadavg,
  readNamespaces,
  readSocketInodes,
  readStat,
  readStatus,
  readText,
  showsOwnPidNamespace,
  stdioType,
  NAMESPACE_TYPES,
  type NamespaceIds,
  type ProcStat,
  type ProcStatus,
} from './procfs.js';

/**
 * The /proc poller. Each `tick()`:
 * 1. finds the processes started since the last poll. When /proc/loadavg can be trusted (procRoot
 *    shows our own pid namespace), its "last pid" bounds the pids handed out since the previous
 *    poll, and only those are probed (a thread's pid is told apart by its Tgid): a few reads per
 *    new pid instead of listing all of /proc. The full listing runs every `listIntervalMs` (it
 *    finds exits, and anything the probe missed), and whenever the pid range is unusable (first
 *    poll, pid wrap-around, a burst of more than `maxProbePids` pids). New processes are read in
 *    full (stat, status, cmdline, exe, cwd, fds, namespaces, cgroup) and give `exec` events; pids
 *    gone from a listing give `exit` events; a known pid handed out again (reuse) gives both;
 * 2. re-checks young launchers (shells, env, nohup, unshare …, younger than `youngMs`) for an
 *    exec in place (same pid, new image: `bash -c 'exec sh'`, `nohup x`, `unshare -n x`), from
 *    /proc/PID/stat alone (the image addresses change on exec; see ProcStat.execKey);
 * 3. every `netIntervalMs`, reads the socket tables of every network namespace whose socket
 *    activity changed (TCP opens, TCP/UDP sockets in use: a few counters, where the tables cost a
 *    walk of the kernel's whole TCP hash per namespace; at least every `netFullIntervalMs`), and
 *    gives `connect`, `accept` and `listen` events for sockets not seen before, attributed to their
 *    process through the socket inodes in /proc/PID/fd (known from the first read of a process,
 *    else searched: processes new since the last read, then socket holders, youngest first).
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
  /**
   * Longest time a namespace's socket tables go unread while its socket activity (TCP opens, TCP/UDP
   * sockets in use) looks unchanged. Default 10 s: a listener opened in the same net interval as
   * another socket closed, with no connection opened, is seen up to this late.
   */
  netFullIntervalMs?: number;
  /**
   * How often /proc is listed in full when the pid-range probe is in use. Default 1 s: exits are
   * reported up to this late, and a process the probe missed (see tick) is found by then.
   */
  listIntervalMs?: number;
  /** Largest pid range probed in one poll; a bigger jump lists /proc instead. Default 512. */
  maxProbePids?: number;
  /** Use the pid-range probe when /proc/loadavg allows it. Default true (false: list every poll). */
  probePids?: boolean;
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
  /** Socket-table passes (one per network namespace each net interval whose socket activity changed). */
  socketTableReads: number;
  /** Network namespaces whose tables were not read because their socket activity had not changed. */
  socketTablesSkipped: number;
  /** Polls that listed /proc in full. */
  listings: number;
  /** Polls that probed the new pid range instead of listing /proc. */
  listingsSkipped: number;
  /** Pids probed (new pids, threads and pids already gone). */
  pidsProbed: number;
  /** New processes that a listing found although the probe ran (started before being visible, or probe missed). */
  foundByListing: number;
  /** Known pids handed out again to a new process. */
  pidsReused: number;
  /** New children still running their parent's image, read at the next poll instead (see discovered). */
  forksDeferred: number;
}

interface NetState {
  /** readSocketActivity at the last table read ('' when it could not be read). */
  activity: string;
  readMs: number;
  seen: Set<number>;
  /** Fresh sockets were left unsearched (fd-scan cap): read again next interval. */
  retry: boolean;
}

interface Tracked {
  pid: number;
  startTicks: number;
  execKey: string;
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
/** Programs that commonly exec another instance of themselves (compared by command line when young and the kernel hides the image addresses). */
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
  const netFullIntervalMs = options.netFullIntervalMs ?? 10_000;
  const listIntervalMs = options.listIntervalMs ?? 1000;
  const maxProbePids = options.maxProbePids ?? 512;
  // /proc/loadavg's last pid is that of our own pid namespace: it bounds new pids only when
  // procRoot shows that namespace (a host /proc mounted into a container with its own does not).
  const probePids = options.probePids !== false && readLoadavg(root) !== undefined && showsOwnPidNamespace(root, process.pid);
  let lastNetMs = Number.NEGATIVE_INFINITY;
  let lastListMs = Number.NEGATIVE_INFINITY;
  /** Last pid handed out at the previous poll (from /proc/loadavg). */
  let lastPid: number | undefined;
  /** Pids of the previous probe that were absent: probed once more (a fork is visible in /proc a moment after its pid is taken). */
  let absent: number[] = [];
  /** Launchers younger than `youngMs`, re-checked for an exec in place every poll. */
  let young: Tracked[] = [];
  /** Children caught between fork and exec (pid → the parent image they still run), read once they exec'd or at the next poll. */
  const forks = new Map<number, string>();
  const bootMs = readBootTimeMs(root) ?? 0;
  const tracked = new Map<number, Tracked>();
  /** socket inode → pid, from fd reads. */
  const owners = new Map<number, number>();
  /** Per network namespace: its socket activity and sockets (inodes) at the last table read, reported or found unattributable. */
  const nets = new Map<string, NetState>();
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
    socketTablesSkipped: 0,
    listings: 0,
    listingsSkipped: 0,
    pidsProbed: 0,
    foundByListing: 0,
    pidsReused: 0,
    forksDeferred: 0,
  };

  // Socket tables and socket activity are read at most once per namespace per tick, lazily.
  let tables = new Map<string, Map<number, SocketEntry>>();
  let activities = new Map<string, string>();
  /** Per network namespace: the socket activity and the inet socket inodes of its last table read. */
  const lastTables = new Map<string, { activity: string | undefined; inodes: Set<number> }>();

  function activityOf(netns: string, pid: number): string | undefined {
    let activity = activities.get(netns);
    if (activity === undefined) {
      activity = readSocketActivity(root, pid);
      if (activity !== undefined) activities.set(netns, activity);
    }
    return activity;
  }

  function tableOf(netns: string, pid: number): Map<number, SocketEntry> | undefined {
    let table = tables.get(netns);
    if (table === undefined) {
      const activity = activityOf(netns, pid);
      const read = readSocketTables(root, pid);
      if (read === undefined) return undefined;
      counters.socketTableReads += 1;
      counters.malformedSocketLines += read.bad;
      table = new Map(read.entries.map((e) => [e.inode, e]));
      tables.set(netns, table);
      lastTables.set(netns, { activity, inodes: new Set(table.keys()) });
    }
    return table;
  }

  /**
   * A socket on stdin/stdout: its peer, from the socket tables when it is an inet socket. One that
   * the last table read did not hold, in a namespace whose socket activity has not changed since,
   * is not one (a unix socket: journald's stream, a socketpair made for a child's output), so no
   * table is read for it.
   */
  function stdio(target: string, netns: string, pid: number): StdioInfo {
    const type = stdioType(target);
    let remote = '';
    if (type === 'socket' && netns !== '') {
      const inode = Number(/\d+/.exec(target)?.[0]);
      const last = lastTables.get(netns);
      const notInet = !tables.has(netns) && last !== undefined && !last.inodes.has(inode) && last.activity !== undefined && activityOf(netns, pid) === last.activity;
      const entry = notInet ? undefined : tableOf(netns, pid)?.get(inode);
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

  /** Reads one process fully (`known`: its stat and status, when already read); undefined when it vanished. */
  function read(pid: number, nowMs: number, known: { stat?: ProcStat; status?: ProcStatus } = {}): Tracked | undefined {
    const stat = known.stat ?? readStat(root, pid);
    if (stat === undefined) return undefined;
    const argv = readArgv(root, pid, maxArgv);
    const exe = readExe(root, pid);
    if (stat.ppid === KERNEL_THREADD || pid === KERNEL_THREADD || (argv !== undefined && argv.args.length === 0 && exe === '')) {
      return { pid, startTicks: stat.startTicks, execKey: '', comm: stat.comm, exe: '', firstSeenMs: nowMs, kernel: true, ns: {}, sockets: [], process: { pid, ppid: stat.ppid, name: stat.comm, exe: '', args: [], cmdline: '', cwd: '', uid: 0, gid: 0, startTime: '', capEff: '', ancestors: [], stdin: { type: 'none', target: '', remote: '' }, stdout: { type: 'none', target: '', remote: '' }, openFiles: [], netns: '', nsChanged: [], ignoresHangup: false, truncated: false } };
    }
    const status = known.status ?? readStatus(root, pid);
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
    const t: Tracked = { pid, startTicks: stat.startTicks, execKey: stat.execKey, comm: stat.comm, exe, firstSeenMs: nowMs, kernel: false, ns, process, sockets: fds?.sockets ?? [] };
    if (LAUNCHERS.has(stat.comm)) young.push(t);
    return t;
  }

  function forget(t: Tracked): void {
    for (const inode of t.sockets) if (owners.get(inode) === t.pid) owners.delete(inode);
    tracked.delete(t.pid);
  }

  /**
   * Owner search order for sockets no fd table has shown yet: processes new since the namespace's
   * last table read (a new client or server), then those that held sockets at their last fd read
   * (servers accept, clients reconnect), then the rest; youngest first within each group.
   */
  function ownerCandidates(netns: string, sinceMs: number): Array<{ t: Tracked; rank: number }> {
    const out: Array<{ t: Tracked; rank: number }> = [];
    for (const t of tracked.values()) {
      if (!t.kernel && t.process.netns === netns) out.push({ t, rank: t.firstSeenMs >= sinceMs ? 0 : t.sockets.length > 0 ? 1 : 2 });
    }
    return out.sort((a, b) => a.rank - b.rank || b.t.startTicks - a.t.startTicks);
  }

  function connections(nowMs: number, now: string, node: string, out: RuntimeEvent[]): void {
    // A few representative processes per network namespace (the first may have ended since the last listing).
    const reps = new Map<string, number[]>();
    for (const t of tracked.values()) {
      if (t.kernel) continue;
      const netns = t.process.netns;
      if (netns === '') continue;
      const list = reps.get(netns);
      if (list === undefined) reps.set(netns, [t.pid]);
      else if (list.length < 3) list.push(t.pid);
    }
    for (const netns of nets.keys()) if (!reps.has(netns)) nets.delete(netns);
    for (const netns of lastTables.keys()) if (!reps.has(netns)) lastTables.delete(netns);
    let scans = 0;
    for (const [netns, pids] of reps) {
      const state = nets.get(netns);
      let rep: number | undefined;
      let activity: string | undefined;
      for (const pid of pids) {
        activity = activityOf(netns, pid);
        if (activity !== undefined) {
          rep = pid;
          break;
        }
      }
      rep ??= pids[0];
      if (rep === undefined) continue;
      // Nothing connected, accepted, listened or bound since the last read: skip the table walk.
      if (state !== undefined && !state.retry && activity !== undefined && activity === state.activity && nowMs - state.readMs < netFullIntervalMs) {
        counters.socketTablesSkipped += 1;
        continue;
      }
      const table = tableOf(netns, rep);
      if (table === undefined) continue;
      const seen = state?.seen ?? new Set<number>();
      const next: NetState = { activity: activity ?? '', readMs: nowMs, seen: new Set<number>(), retry: false };
      nets.set(netns, next);
      const listening = new Set<number>();
      for (const e of table.values()) if (e.state === 'listen') listening.add(e.localPort);
      const fresh: SocketEntry[] = [];
      for (const e of table.values()) {
        if (e.inode === 0) continue;
        if (seen.has(e.inode)) {
          next.seen.add(e.inode);
          continue;
        }
        if (e.protocol === 'tcp' && e.state !== 'listen' && e.state !== 'established' && e.state !== 'syn-sent') continue;
        fresh.push(e);
      }
      if (fresh.length === 0) continue;
      const missing = new Set<number>();
      for (const e of fresh) if (!owners.has(e.inode)) missing.add(e.inode);
      /** Sockets closed before their owner was found (no longer in the tables). */
      const closed = new Set<number>();
      if (missing.size > 0) {
        let checked = false;
        for (const { t, rank } of ownerCandidates(netns, state?.readMs ?? Number.NEGATIVE_INFINITY)) {
          if (missing.size === 0 || scans >= maxFdScans) break;
          if (rank === 2 && !checked) {
            // Before searching every other process: a short connection may already be closed, and
            // one more table read costs far less than reading every fd table of the namespace.
            checked = true;
            const again = readSocketTables(root, rep);
            if (again !== undefined) {
              counters.socketTableReads += 1;
              const present = new Set(again.entries.map((e) => e.inode));
              for (const inode of missing) {
                if (present.has(inode)) continue;
                missing.delete(inode);
                closed.add(inode);
              }
              if (missing.size === 0) break;
            }
          }
          scans += 1;
          counters.fdScans += 1;
          const inodes = readSocketInodes(root, t.pid, maxFds);
          if (inodes === undefined) continue;
          // Sockets it no longer holds are forgotten (a server's accepted connections come and go).
          for (const inode of t.sockets) if (owners.get(inode) === t.pid) owners.delete(inode);
          t.sockets = inodes;
          for (const inode of inodes) {
            owners.set(inode, t.pid);
            missing.delete(inode);
          }
        }
      }
      for (const e of fresh) {
        const owner = owners.get(e.inode);
        const t = owner === undefined ? undefined : tracked.get(owner);
        if (t === undefined) {
          // Searched everywhere, or closed meanwhile: unattributable. Cut short by the scan cap: retried next interval.
          if (scans < maxFdScans || closed.has(e.inode)) {
            next.seen.add(e.inode);
            counters.unattributedSockets += 1;
          } else {
            next.retry = true;
          }
          continue;
        }
        next.seen.add(e.inode);
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
  }

  function exited(t: Tracked, now: string, out: RuntimeEvent[]): void {
    if (!t.kernel) {
      counters.exits += 1;
      out.push({ kind: 'exit', time: now, node: options.node, source: 'proc', process: t.process });
    }
    forget(t);
  }

  /**
   * Reads a pid that is new to us (or whose old process was just forgotten) and reports it. A child
   * that still runs its parent's image is a fork caught before its exec (or a worker that never
   * execs): it is read at the next poll instead, when it runs its own program (or, if it never
   * execs, is reported as the copy it is). That saves reading and reporting the parent's image
   * twice, which fork+exec makes common at 100 ms polls. (An exec usually follows within a
   * millisecond: they are looked at again at the end of this poll, see execedForks.)
   */
  function discovered(pid: number, nowMs: number, now: string, out: RuntimeEvent[], status?: ProcStatus, defer = true, known?: ProcStat): void {
    const stat = known ?? readStat(root, pid);
    if (stat !== undefined && defer && counters.ticks > 0 && stat.execKey !== '') {
      const parent = tracked.get(stat.ppid);
      if (parent !== undefined && parent.execKey === stat.execKey) {
        counters.forksDeferred += 1;
        forks.set(pid, stat.execKey);
        return;
      }
    }
    const t = stat === undefined ? undefined : read(pid, nowMs, { stat, status });
    if (t === undefined) {
      counters.vanished += 1;
      return;
    }
    tracked.set(pid, t);
    if (t.kernel) {
      counters.kernelThreads += 1;
      return;
    }
    if (!first) {
      counters.execs += 1;
      out.push({ kind: 'exec', time: now, node: options.node, source: 'proc', process: t.process });
    }
  }

  /** Forks deferred at the last poll: read now, whatever they run. */
  function readForks(nowMs: number, now: string, out: RuntimeEvent[]): void {
    if (forks.size === 0) return;
    const pending = [...forks.keys()];
    forks.clear();
    for (const pid of pending) if (!tracked.has(pid)) discovered(pid, nowMs, now, out, undefined, false);
  }

  /** Forks deferred during this poll that have exec'd (or ended) since: read (or dropped) now rather than a poll later. */
  function execedForks(nowMs: number, now: string, out: RuntimeEvent[]): void {
    for (const [pid, parentImage] of forks) {
      const stat = readStat(root, pid);
      if (stat !== undefined && stat.execKey === parentImage) continue;
      forks.delete(pid);
      if (stat !== undefined && !tracked.has(pid)) discovered(pid, nowMs, now, out, undefined, false, stat);
    }
  }

  /** A known pid seen again with another start time: the old process ended and the pid was reused. */
  function reused(known: Tracked, nowMs: number, now: string, out: RuntimeEvent[]): void {
    counters.pidsReused += 1;
    exited(known, now, out);
    discovered(known.pid, nowMs, now, out);
  }

  /**
   * Exec in place (same pid, new program) of a young launcher, from its stat line: another start
   * time is another process (reuse); another image (execKey) is an exec. Where the kernel hides the
   * image addresses, a new comm is an exec, and for programs that exec themselves the command line
   * is compared.
   */
  function recheck(known: Tracked, nowMs: number, now: string, out: RuntimeEvent[]): 'same' | 'changed' {
    const stat = readStat(root, known.pid);
    if (stat === undefined) return 'same';
    if (stat.startTicks !== known.startTicks) {
      reused(known, nowMs, now, out);
      return 'changed';
    }
    if (stat.execKey !== '' && known.execKey !== '') {
      if (stat.execKey === known.execKey) return 'same';
    } else if (stat.comm === known.comm && (!SAME_NAME_EXECS.has(stat.comm) || readArgv(root, known.pid, maxArgv)?.args.join(' ').slice(0, maxCmdline) === known.process.cmdline)) {
      return 'same';
    }
    const again = read(known.pid, known.firstSeenMs);
    if (again === undefined) return 'same';
    if (again.kernel) {
      tracked.set(known.pid, again);
      return 'changed';
    }
    for (const inode of known.sockets) if (owners.get(inode) === known.pid && !again.sockets.includes(inode)) owners.delete(inode);
    tracked.set(known.pid, again);
    counters.execsInPlace += 1;
    counters.execs += 1;
    out.push({ kind: 'exec', time: now, node: options.node, source: 'proc', process: again.process });
    return 'changed';
  }

  /** Re-checks the young launchers; those still young and unchanged stay on the list. */
  function recheckYoung(nowMs: number, now: string, out: RuntimeEvent[]): void {
    const current = young;
    young = [];
    for (const t of current) {
      if (tracked.get(t.pid) !== t || nowMs - t.firstSeenMs > youngMs) continue;
      if (recheck(t, nowMs, now, out) === 'same') young.push(t);
    }
  }

  /** Lists /proc: exits, reuse of known pids within the new pid range, and every new process. */
  function list(nowMs: number, now: string, out: RuntimeEvent[], isNew: (pid: number) => boolean, probing: boolean): void {
    counters.listings += 1;
    lastListMs = nowMs;
    const pids = listPids(root);
    const present = new Set(pids);
    for (const t of tracked.values()) if (!present.has(t.pid)) exited(t, now, out);
    for (const pid of pids) {
      const known = tracked.get(pid);
      if (known === undefined) {
        if (probing && !isNew(pid)) counters.foundByListing += 1;
        discovered(pid, nowMs, now, out);
        continue;
      }
      // A known pid handed out again since the last poll: reuse, if its start time says so.
      if (isNew(pid) && !known.kernel) {
        const stat = readStat(root, pid);
        if (stat !== undefined && stat.startTicks !== known.startTicks) reused(known, nowMs, now, out);
      }
    }
  }

  /** Probes the pids handed out since the last poll (and those absent at the last probe). */
  function probe(from: number, to: number, nowMs: number, now: string, out: RuntimeEvent[]): void {
    counters.listingsSkipped += 1;
    const again = absent;
    absent = [];
    const visit = (pid: number, retry: boolean): void => {
      counters.pidsProbed += 1;
      const status = readStatus(root, pid);
      if (status === undefined) {
        if (!retry) absent.push(pid);
        return;
      }
      if (status.tgid !== pid && status.tgid !== -1) return; // a thread
      const known = tracked.get(pid);
      if (known === undefined) {
        discovered(pid, nowMs, now, out, status);
        return;
      }
      if (known.kernel || retry) return;
      const stat = readStat(root, pid);
      if (stat !== undefined && stat.startTicks !== known.startTicks) reused(known, nowMs, now, out);
    };
    for (const pid of again) if (pid <= from) visit(pid, true);
    for (let pid = from + 1; pid <= to; pid++) visit(pid, false);
    // Only the newest absences are worth a second look (a fork becomes visible within microseconds to milliseconds).
    if (absent.length > 32) absent = absent.slice(-32);
  }

  return {
    tick() {
      const started = performance.now();
      const nowMs = options.clock.now().getTime();
      const now = new Date(nowMs).toISOString();
      const node = options.node;
      const out: RuntimeEvent[] = [];
      tables = new Map();
      activities = new Map();
      recheckYoung(nowMs, now, out);
      readForks(nowMs, now, out);
      const load = probePids ? readLoadavg(root) : undefined;
      const from = lastPid;
      const to = load?.lastPid;
      lastPid = to;
      // Pids handed out since the last poll: (from, to], possibly wrapped around pid_max.
      const wrapped = from !== undefined && to !== undefined && to < from;
      const isNew = (pid: number): boolean => from !== undefined && to !== undefined && (wrapped ? pid > from || pid <= to : pid > from && pid <= to);
      if (first || from === undefined || to === undefined || wrapped || to - from > maxProbePids || nowMs - lastListMs >= listIntervalMs) {
        absent = [];
        list(nowMs, now, out, isNew, from !== undefined && to !== undefined);
      } else if (to > from || absent.length > 0) {
        probe(from, to, nowMs, now, out);
      } else {
        counters.listingsSkipped += 1;
      }
      execedForks(nowMs, now, out);
      if (nowMs - lastNetMs >= netIntervalMs || first) {
        lastNetMs = nowMs;
        connections(nowMs, now, node, out);
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
