import { z } from 'zod';

/**
 * The runtime event model: what the node sensor's collectors (the /proc poller, Falco's JSON output,
 * Tetragon's JSON export) all produce, and what runtime rules and detectors read. One schema serves
 * as the boundary for samples, for events read back from disk and for events a server receives.
 *
 * - `exec`    a process was seen (poller: a new pid, or a young pid whose image changed; Falco/Tetragon: execve)
 * - `exit`    a process ended
 * - `connect` an outbound TCP connection (established or in SYN_SENT) or a UDP socket with a peer
 * - `accept`  an inbound established TCP connection (its local port is a listening port)
 * - `listen`  a listening TCP socket, or an unconnected bound UDP socket
 * - `open`    a file the process holds open (poller) or opened (Falco/Tetragon)
 * - `signal`  a process sent a signal to another (Falco/Tetragon only; the poller cannot see it)
 */

export const RUNTIME_EVENT_KINDS = ['exec', 'exit', 'connect', 'accept', 'listen', 'open', 'signal'] as const;
export type RuntimeEventKind = (typeof RUNTIME_EVENT_KINDS)[number];
export const RUNTIME_SOURCES = ['proc', 'falco', 'tetragon'] as const;
export type RuntimeSource = (typeof RUNTIME_SOURCES)[number];
export const CONTAINER_RUNTIMES = ['containerd', 'cri-o', 'docker', 'podman', 'unknown'] as const;
export type ContainerRuntime = (typeof CONTAINER_RUNTIMES)[number];

/** A link of the process tree (parent first). */
export const processRefSchema = z.object({
  pid: z.number().int().nonnegative(),
  name: z.string(),
  exe: z.string().default(''),
  cmdline: z.string().default(''),
});
export type ProcessRef = z.infer<typeof processRefSchema>;

export const containerSchema = z.object({
  /** Full container id (64 hex for containerd, CRI-O and Docker). */
  id: z.string().min(1),
  runtime: z.enum(CONTAINER_RUNTIMES).default('unknown'),
  /** Container name inside its pod (from the kubelet), or the runtime's name. */
  name: z.string().default(''),
  podNamespace: z.string().default(''),
  podName: z.string().default(''),
  podUid: z.string().default(''),
  image: z.string().default(''),
  /** `sha256:<hex>` of the image (the kubelet's imageID), the key of the image's file index. */
  imageDigest: z.string().default(''),
  labels: z.record(z.string(), z.string()).default({}),
});
export type ContainerInfo = z.infer<typeof containerSchema>;

/** Where a standard stream points: `socket`, `pipe`, `tty` (a terminal), `file`, `null` (/dev/null) or `none`. */
export const STDIO_TYPES = ['socket', 'pipe', 'tty', 'file', 'null', 'none', 'unknown'] as const;
export const stdioSchema = z.object({
  type: z.enum(STDIO_TYPES).default('unknown'),
  /** The readlink text (`socket:[123]`, `/dev/pts/0`, a path). */
  target: z.string().default(''),
  /** For an inet socket: the peer as `ip:port` ('' for a unix socket or an unknown inode). */
  remote: z.string().default(''),
});
export type StdioInfo = z.infer<typeof stdioSchema>;

export const processSchema = z.object({
  pid: z.number().int().nonnegative(),
  ppid: z.number().int().nonnegative().default(0),
  /** The kernel's comm (15 characters) or the executable's base name. */
  name: z.string(),
  exe: z.string().default(''),
  args: z.array(z.string()).default([]),
  /** The arguments joined by spaces (capped by the collector). */
  cmdline: z.string().default(''),
  cwd: z.string().default(''),
  uid: z.number().int().default(-1),
  gid: z.number().int().default(-1),
  /** ISO start time. */
  startTime: z.string().default(''),
  /** Effective capabilities as the 16-hex-digit mask of /proc/PID/status. */
  capEff: z.string().default(''),
  /** Parent first, up to the collector's depth limit. */
  ancestors: z.array(processRefSchema).default([]),
  stdin: stdioSchema.default({ type: 'unknown', target: '', remote: '' }),
  stdout: stdioSchema.default({ type: 'unknown', target: '', remote: '' }),
  /** Files the process had open when it was seen (paths only, capped). */
  openFiles: z.array(z.string()).default([]),
  /** Network namespace inode (`net:[4026531840]`), '' when unknown. */
  netns: z.string().default(''),
  /** Namespace types (net, mnt, pid, user) in which the process differs from its parent. */
  nsChanged: z.array(z.string()).default([]),
  /** SIGHUP is ignored (what `nohup` leaves behind after it execs its command). */
  ignoresHangup: z.boolean().default(false),
  /** The argv was longer than the collector's cap and was cut. */
  truncated: z.boolean().default(false),
  /** Absent for a host process. */
  container: containerSchema.optional(),
});
export type RuntimeProcess = z.infer<typeof processSchema>;

export const connectionSchema = z.object({
  protocol: z.enum(['tcp', 'udp']),
  family: z.union([z.literal(4), z.literal(6)]),
  localIP: z.string(),
  localPort: z.number().int().min(0).max(65535),
  remoteIP: z.string().default(''),
  remotePort: z.number().int().min(0).max(65535).default(0),
  /** Kernel TCP state name in lower case (established, syn-sent, listen ...), `bound` for UDP. */
  state: z.string().default(''),
});
export type Connection = z.infer<typeof connectionSchema>;

const base = {
  time: z.string().min(1),
  node: z.string().default(''),
  source: z.enum(RUNTIME_SOURCES).default('proc'),
  process: processSchema,
};

export const runtimeEventSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('exec'), ...base }),
  z.object({ kind: z.literal('exit'), ...base, exitCode: z.number().int().optional() }),
  z.object({ kind: z.literal('connect'), ...base, connection: connectionSchema }),
  z.object({ kind: z.literal('accept'), ...base, connection: connectionSchema }),
  z.object({ kind: z.literal('listen'), ...base, connection: connectionSchema }),
  z.object({ kind: z.literal('open'), ...base, file: z.object({ path: z.string().min(1), write: z.boolean().default(false) }) }),
  z.object({ kind: z.literal('signal'), ...base, target: processRefSchema, signal: z.number().int() }),
]);
export type RuntimeEvent = z.infer<typeof runtimeEventSchema>;
export type RuntimeEventInput = z.input<typeof runtimeEventSchema>;

/** The executable's base name, else the process name. */
export function baseName(path: string): string {
  const i = path.lastIndexOf('/');
  return i >= 0 ? path.slice(i + 1) : path;
}

/** `name(pid) < parent(pid) < ...`: the process tree as one line for messages. */
export function processTree(p: RuntimeProcess): string {
  return [`${p.name}(${p.pid})`, ...p.ancestors.map((a) => `${a.name}(${a.pid})`)].join(' < ');
}
