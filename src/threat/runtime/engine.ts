import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { celList, celMap, type CelInput } from '@bufbuild/cel';
import { createRuleEngine, loadRuleSet, type EngineSpec, type RuleEngine, type RuleSet } from '../../rules/index.js';
import { baseName, processTree, type RuntimeEvent, type RuntimeProcess } from './event.js';

/** The built-in runtime rules, lists, macros and detector params (copied beside the compiled code). */
export const BUILTIN_RUNTIME_RULES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'rules');

export function loadRuntimeRuleSet(userDirs: readonly string[] = []): RuleSet {
  return loadRuleSet(BUILTIN_RUNTIME_RULES_DIR, userDirs);
}

/** What the match block and output templates read, extracted once per event. */
export interface RuntimeFacts {
  event: RuntimeEvent;
  kind: string;
  /** The process name and the executable's base name (they differ for scripts and renamed copies). */
  names: string[];
  parentName: string;
  where: 'container' | 'host';
  namespace: string;
  image: string;
  uid: number;
  remoteIPs: string[];
  remotePort: number;
  localPort: number;
  paths: string[];
  cmdlineLower: string;
}

export function runtimeFacts(event: RuntimeEvent): RuntimeFacts {
  const p = event.process;
  const names = [p.name];
  const exeBase = baseName(p.exe);
  if (exeBase !== '' && exeBase !== p.name) names.push(exeBase);
  const conn = 'connection' in event ? event.connection : undefined;
  return {
    event,
    kind: event.kind,
    names,
    parentName: p.ancestors[0]?.name ?? '',
    where: p.container ? 'container' : 'host',
    namespace: p.container?.podNamespace ?? '',
    image: p.container?.image ?? '',
    uid: p.uid,
    remoteIPs: conn && conn.remoteIP !== '' ? [conn.remoteIP] : [],
    remotePort: conn?.remotePort ?? 0,
    localPort: conn?.localPort ?? 0,
    paths: event.kind === 'open' ? [event.file.path] : [],
    cmdlineLower: p.cmdline.toLowerCase(),
  };
}

function containerLabel(p: RuntimeProcess): string {
  const c = p.container;
  if (!c) return 'host';
  if (c.podName) return `${c.podNamespace}/${c.podName}/${c.name || c.id.slice(0, 12)}`;
  return `container ${c.id.slice(0, 12)}`;
}

const MAX_CMDLINE_IN_MESSAGE = 300;

function shortCmdline(p: RuntimeProcess): string {
  const text = p.cmdline || p.name;
  return text.length > MAX_CMDLINE_IN_MESSAGE ? `${text.slice(0, MAX_CMDLINE_IN_MESSAGE)}…` : text;
}

function endpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export const RUNTIME_ENGINE_SPEC: EngineSpec<RuntimeFacts> = {
  fields: {
    events: { kind: 'keyword', get: (f) => f.kind },
    names: { kind: 'keywords', get: (f) => f.names },
    parents: { kind: 'keyword', get: (f) => f.parentName },
    where: { kind: 'keyword', get: (f) => f.where },
    namespaces: { kind: 'keyword', get: (f) => f.namespace },
    images: { kind: 'keyword', get: (f) => f.image },
    uids: { kind: 'int', get: (f) => f.uid },
    remoteIPs: { kind: 'cidr', get: (f) => f.remoteIPs },
    remotePorts: { kind: 'int', get: (f) => f.remotePort },
    localPorts: { kind: 'int', get: (f) => f.localPort },
    paths: { kind: 'keywords', get: (f) => f.paths },
    cmdlines: { kind: 'substring', get: (f) => f.cmdlineLower },
  },
  index: ['events'],
  placeholders: {
    node: (f) => f.event.node || '(node)',
    container: (f) => containerLabel(f.event.process),
    image: (f) => f.event.process.container?.image || (f.event.process.container ? '(unknown image)' : '(host)'),
    proc: (f) => f.event.process.name,
    pid: (f) => String(f.event.process.pid),
    exe: (f) => f.event.process.exe || '(unknown executable)',
    cmdline: (f) => shortCmdline(f.event.process),
    uid: (f) => String(f.event.process.uid),
    parent: (f) => f.parentName || '(unknown parent)',
    tree: (f) => processTree(f.event.process),
    remote: (f) => ('connection' in f.event ? endpoint(f.event.connection.remoteIP, f.event.connection.remotePort) : '(no peer)'),
    local: (f) => ('connection' in f.event ? endpoint(f.event.connection.localIP, f.event.connection.localPort) : '(no socket)'),
    stdin: (f) => f.event.process.stdin.remote || f.event.process.stdin.target || '(unknown)',
    file: (f) => (f.event.kind === 'open' ? f.event.file.path : '(no file)'),
    target: (f) => (f.event.kind === 'signal' ? `${f.event.target.name}(${f.event.target.pid})` : '(no target)'),
  },
};

export type RuntimeRuleEngine = RuleEngine<RuntimeFacts>;

export function createRuntimeRuleEngine(set: RuleSet): RuntimeRuleEngine {
  return createRuleEngine(set, RUNTIME_ENGINE_SPEC);
}

/**
 * CEL turns a plain object into a map (and an array into a list) each time a rule reads it; the
 * variables are built once per event and read by several rules, so they are converted here once.
 */
function celValue(value: unknown): CelInput {
  // A list's elements are converted when read (they are strings here: args, open files, names).
  if (Array.isArray(value)) return celList(value);
  if (value !== null && typeof value === 'object') {
    const map = new Map<string, CelInput>();
    for (const [k, v] of Object.entries(value)) map.set(k, celValue(v));
    return celMap(map);
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value;
  return null;
}

const NO_CONNECTION = celValue({ protocol: '', family: 0, localIP: '', localPort: 0, remoteIP: '', remotePort: 0, state: '' });
const NO_CONTAINER = celValue({ id: '', runtime: '', name: '', podNamespace: '', podName: '', podUid: '', image: '', imageDigest: '', labels: {} });
const NO_PARENT = celValue({ pid: 0, name: '', exe: '', cmdline: '' });
const NO_FILE = celValue({ path: '', write: false });

/**
 * The CEL variables of a runtime rule:
 * `kind`, `node`, `source`; `proc` (pid, ppid, name, exe, exeName, args, cmdline, cwd, uid, gid,
 * capEff, stdin/stdout {type, target, remote}, openFiles, nsChanged, ignoresHangup, truncated); `parent` (pid, name, exe,
 * cmdline; empty strings when unknown); `ancestors` (names, parent first); `inContainer`;
 * `container` (id, runtime, name, podNamespace, podName, image, imageDigest, labels; empty for a
 * host process); `conn` (protocol, family, localIP, localPort, remoteIP, remotePort, state);
 * `file` (path, write); `target` (pid, name, exe, cmdline) and `signal` for signal events; and
 * `lists` (bound by the engine).
 */
export function runtimeVariables(f: RuntimeFacts): Record<string, CelInput> {
  const e = f.event;
  const p = e.process;
  const parent = p.ancestors[0];
  return {
    kind: e.kind,
    node: e.node,
    source: e.source,
    proc: celValue({
      pid: p.pid,
      ppid: p.ppid,
      name: p.name,
      exe: p.exe,
      exeName: baseName(p.exe),
      args: p.args,
      cmdline: p.cmdline,
      cwd: p.cwd,
      uid: p.uid,
      gid: p.gid,
      capEff: p.capEff,
      stdin: p.stdin,
      stdout: p.stdout,
      openFiles: p.openFiles,
      nsChanged: p.nsChanged,
      ignoresHangup: p.ignoresHangup,
      truncated: p.truncated,
    }),
    parent: parent ? celValue(parent) : NO_PARENT,
    ancestors: celList(p.ancestors.map((a) => a.name)),
    inContainer: p.container !== undefined,
    container: p.container ? celValue(p.container) : NO_CONTAINER,
    conn: 'connection' in e ? celValue(e.connection) : NO_CONNECTION,
    file: e.kind === 'open' ? celValue(e.file) : NO_FILE,
    target: e.kind === 'signal' ? celValue(e.target) : NO_PARENT,
    signal: e.kind === 'signal' ? e.signal : 0,
  };
}
