import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { AppError, errorMessage, systemClock } from '../core/index.js';
import type { InputKind } from '../sensor/agent.js';
import { followFile } from '../sensor/follow.js';
import type { PodCache } from '../sensor/pods.js';
import type { Shipper } from '../sensor/ship.js';
import type { ImageFileLookup } from '../threat/runtime/index.js';
import type { CliContext } from './context.js';

/**
 * `palisade sensor`: the node agent. Polls /proc (and/or reads Falco / Tetragon JSON), runs the
 * runtime rules, and prints alerts as JSON lines, or ships them to the server with --server.
 *
 * The sensor's modules (rules, CEL, YAML, the collectors) are imported by the command itself, after
 * it has capped V8's young generation (youngGenerationFlag): loading them is what would grow it.
 */

const SA_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const SA_CA = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';

export function parseInterval(text: string): number {
  const m = /^(\d+)(ms|s)?$/.exec(text.trim());
  if (!m) throw new AppError('BAD_INPUT', `--interval ${text} is not a duration: write it like 100ms or 1s`);
  const ms = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  if (ms < 10 || ms > 60_000) throw new AppError('BAD_INPUT', `--interval ${text} is out of range: use 10ms to 60s`);
  return ms;
}

const imageFilesSchema = z.record(z.string().regex(/^sha256:[0-9a-f]{64}$/), z.array(z.string()));

function loadImageFiles(path: string): ImageFileLookup {
  let parsed;
  try {
    parsed = imageFilesSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    throw new AppError('BAD_INPUT', `--image-files ${path} is not readable JSON: give a file {"sha256:<digest>": ["/usr/bin/x", ...]}`);
  }
  if (!parsed.success) throw new AppError('BAD_INPUT', `--image-files ${path} must map sha256:<digest> to arrays of absolute paths`);
  const index = new Map(Object.entries(parsed.data).map(([digest, paths]) => [digest, new Set(paths.map((p) => (p.startsWith('/') ? p : `/${p}`)))]));
  return (digest) => index.get(digest);
}

/** stdin, or a file: read whole with --once, else followed like `tail -F` from its end (src/sensor/follow.ts). */
function inputStream(spec: string, follow: { signal: AbortSignal; onReopen: (why: string) => void } | undefined): Readable {
  if (spec === '-') return process.stdin;
  if (follow !== undefined) return followFile(spec, follow);
  if (!existsSync(spec)) throw new AppError('NOT_FOUND', `input ${spec} does not exist: give a Falco/Tetragon JSON-lines file or - for stdin`);
  return createReadStream(spec);
}

/**
 * Keeps V8's young generation at its initial 1 MiB per semi-space (what `--max-semi-space-size=1`
 * does at start-up, but settable from inside the process: V8 reads the growth factor each time it
 * would grow the new space). The sensor allocates little per poll, so the default growth to 16 MiB
 * semi-spaces only adds ~20 MiB of RSS. Returns the V8 flag to set, or undefined when the user set
 * either flag in NODE_OPTIONS or on the node command line (theirs wins).
 */
export function youngGenerationFlag(execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  if (given.some((a) => /^--(max-semi-space-size|semi-space-growth-factor)\b/.test(a.replaceAll('_', '-')))) return undefined;
  return '--semi-space-growth-factor=1';
}

/** The node name: --node-name (or its alias --node), else $NODE_NAME (the downward API's spec.nodeName), else the host name. */
export function nodeName(flags: { nodeName?: string; node?: string }, env: NodeJS.ProcessEnv, host: string): string {
  if (flags.nodeName !== undefined && flags.node !== undefined && flags.nodeName !== flags.node) {
    throw new AppError('BAD_INPUT', `--node-name ${flags.nodeName} and --node ${flags.node} differ: give one of them`);
  }
  const name = (flags.nodeName ?? flags.node ?? env.NODE_NAME ?? '').trim() || host;
  if (name.length > 253) throw new AppError('BAD_INPUT', 'the node name is longer than 253 characters: give the Kubernetes node name with --node-name');
  return name;
}

/** The process's memory in MiB (RSS, V8 heap in use and reserved, buffers outside the heap), for the counters lines. */
function memoryMiB(): Record<string, number> {
  const m = process.memoryUsage();
  const mib = (n: number): number => Math.round((n / 1048576) * 10) / 10;
  return { rss: mib(m.rss), heapUsed: mib(m.heapUsed), heapTotal: mib(m.heapTotal), external: mib(m.external) };
}

interface SensorFlags {
  server?: string;
  token?: string;
  nodeName?: string;
  node?: string;
  cluster?: string;
  interval: string;
  netInterval: string;
  bufferDir?: string;
  bufferMax: string;
  serverCa?: string;
  falco?: string;
  tetragon?: string;
  once?: boolean;
  skipExisting?: boolean;
  proc: boolean;
  rules: string[];
  events?: boolean;
  kubelet?: string;
  kubeletInsecure?: boolean;
  imageFiles?: string;
  groupWindow: string;
  procRoot: string;
}

export function registerSensor(program: Command, ctx: CliContext): void {
  program
    .command('sensor')
    .description('Run the node sensor: poll /proc (and read Falco/Tetragon JSON), detect runtime threats, print or ship alerts')
    .option('--server <url>', 'ship alerts to this Palisade server (https) instead of printing them')
    .option('--token <token>', 'node token for the server (default: $PALISADE_SENSOR_TOKEN)')
    .option('--node-name <name>', 'node name put on alerts (target.node) and batches (default: $NODE_NAME, else the host name)')
    .addOption(new Option('--node <name>', 'same as --node-name').hideHelp())
    .option('--cluster <name>', 'cluster name put on alerts')
    .option('--interval <duration>', 'poll interval of /proc processes', '100ms')
    .option('--net-interval <duration>', 'poll interval of the socket tables (costlier: one kernel hash walk per network namespace)', '1s')
    .option('--buffer-dir <dir>', 'keep undelivered batches on disk here while the server is unreachable')
    .option('--buffer-max <mib>', 'largest buffer in MiB (oldest batches are dropped beyond it)', '64')
    .option('--server-ca <file>', 'PEM CA of the server certificate')
    .option('--falco <file>', 'read Falco JSON output from a file (followed from its end like tail -F; read whole with --once), or - for stdin')
    .option('--tetragon <file>', 'read Tetragon JSON export from a file (followed from its end like tail -F; read whole with --once), or - for stdin')
    .option('--once', 'poll once (reporting every running process), read the inputs to their end, then exit')
    .option('--no-proc', 'do not poll /proc (only the Falco/Tetragon inputs)')
    .option('--skip-existing', 'do not judge the processes already running at start (only new ones)')
    .option('--rules <dir>', 'user rules directory over the built-ins (repeatable)', (v: string, prev: string[]) => [...prev, v], [])
    .option('--events', 'also print every event as a JSON line (debugging, benchmarks)')
    .option('--kubelet <url>', 'kubelet pods endpoint for pod metadata, e.g. https://$NODE_IP:10250/pods (default: $PALISADE_KUBELET_URL)')
    .option('--kubelet-insecure', 'do not verify the kubelet certificate')
    .option('--image-files <file>', 'image file index for drift: JSON {"sha256:<digest>": ["/path", ...]}')
    .option('--group-window <duration>', 'repeats within this window become one alert', '250ms')
    .addOption(new Option('--proc-root <dir>', 'proc filesystem root').default('/proc').hideHelp())
    .action(async (flags: SensorFlags) => {
      await runSensor(flags, ctx);
    });
}

async function runSensor(flags: SensorFlags, ctx: CliContext): Promise<void> {
  const intervalMs = parseInterval(flags.interval);
  const groupWindowMs = parseInterval(flags.groupWindow);
  const node = nodeName(flags, process.env, hostname());
  const youngFlag = youngGenerationFlag(process.execArgv, process.env.NODE_OPTIONS);
  if (youngFlag !== undefined) setFlagsFromString(youngFlag);
  const youngGenerationCapped = youngFlag !== undefined;
  const [{ createCollector }, { createSensor }, { createKubeletFetcher, createPodCache }, { createShipper }, { alertToJsonLine }, { createRuntimeAnalyzer, loadRuntimeRuleSet }] = await Promise.all([
    import('../sensor/collector.js'),
    import('../sensor/agent.js'),
    import('../sensor/pods.js'),
    import('../sensor/ship.js'),
    import('../threat/alert.js'),
    import('../threat/runtime/index.js'),
  ]);
  const log = ctx.log.child({ component: 'sensor', node });
  const clock = systemClock;
  const ruleSet = loadRuntimeRuleSet(flags.rules);
  const analyzer = createRuntimeAnalyzer({ ruleSet, imageFiles: flags.imageFiles ? loadImageFiles(flags.imageFiles) : undefined, cluster: flags.cluster });

  const kubeletUrl = flags.kubelet ?? process.env.PALISADE_KUBELET_URL;
  let pods: PodCache | undefined;
  if (kubeletUrl) {
    const token = existsSync(SA_TOKEN) ? readFileSync(SA_TOKEN, 'utf8').trim() : undefined;
    const ca = !flags.kubeletInsecure && existsSync(SA_CA) ? readFileSync(SA_CA, 'utf8') : undefined;
    pods = createPodCache(createKubeletFetcher({ url: kubeletUrl, token, ca, insecure: flags.kubeletInsecure }), { clock, log });
    await pods.refresh();
  }

  let shipper: Shipper | undefined;
  if (flags.server) {
    const token = flags.token ?? process.env.PALISADE_SENSOR_TOKEN ?? '';
    const maxMiB = Number(flags.bufferMax);
    if (!Number.isFinite(maxMiB) || maxMiB <= 0) throw new AppError('BAD_INPUT', `--buffer-max ${flags.bufferMax} is not a positive number of MiB`);
    shipper = createShipper({
      server: flags.server,
      token,
      node,
      clock,
      log,
      bufferDir: flags.bufferDir,
      maxBufferBytes: Math.round(maxMiB * 1024 * 1024),
      ca: flags.serverCa ? readFileSync(flags.serverCa, 'utf8') : undefined,
    });
  }

  const collector = flags.proc
    ? createCollector({ procRoot: flags.procRoot, node, clock, log, pods, netIntervalMs: parseInterval(flags.netInterval), reportExisting: Boolean(flags.once) || !flags.skipExisting })
    : undefined;
  const sensor = createSensor({
    node,
    clock,
    log,
    analyzer,
    collector,
    shipper,
    groupWindowMs,
    procRoot: flags.procRoot,
    onAlert: shipper ? undefined : (alert) => ctx.out(alertToJsonLine(alert)),
    onEvent: flags.events ? (event) => ctx.out(`${JSON.stringify({ event })}\n`) : undefined,
  });

  const inputs: Promise<void>[] = [];
  const following = new AbortController();
  const addInput = (spec: string | undefined, kind: InputKind): void => {
    if (spec === undefined) return;
    const follow = flags.once ? undefined : { signal: following.signal, onReopen: (why: string) => log.info({ input: spec, why }, `${kind} input reopened`) };
    const ingesting = sensor.ingest(inputStream(spec, follow), kind);
    // A followed file that turns unreadable ends that input, not the sensor (its /proc polling goes on).
    inputs.push(
      follow === undefined
        ? ingesting
        : ingesting.catch((error: unknown) => {
            log.error({ input: spec, problem: errorMessage(error) }, `${kind} input failed`);
            ctx.err(`palisade sensor: ${kind} input ${spec} stopped: ${errorMessage(error)}\n`);
          }),
    );
  };
  addInput(flags.falco, 'falco');
  addInput(flags.tetragon, 'tetragon');

  if (flags.once) {
    await sensor.tick();
    await Promise.all(inputs);
    sensor.flush();
    if (shipper) {
      for (let i = 0; i < 100 && shipper.counters().bufferedBatches > 0; i++) {
        const before = shipper.counters().attempts;
        await shipper.pump();
        if (shipper.counters().attempts === before) await sleep(50);
        if (shipper.counters().failures > 0) break;
      }
    }
    log.info({ counters: sensor.counters() }, 'sensor finished');
    ctx.err(`${JSON.stringify({ counters: sensor.counters() })}\n`);
    return;
  }

  // One plain timer per poll (no AbortSignal listener per wait); a signal ends the wait at once.
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const onSignal = (): void => {
    stopped = true;
    clearTimeout(timer);
    wake?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let lastStats = clock.now().getTime();
  let ticks = 0;
  while (!stopped) {
    const started = clock.now().getTime();
    await sensor.tick();
    ticks += 1;
    if (ticks === 1) ctx.err(`${JSON.stringify({ sensor: 'started', node, intervalMs, rules: analyzer.engine.rules.length, youngGenerationCapped })}\n`);
    if (started - lastStats >= 60_000) {
      lastStats = started;
      log.info({ counters: sensor.counters(), memory: memoryMiB() }, 'sensor counters');
    }
    const wait = intervalMs - (clock.now().getTime() - started);
    if (wait > 0 && !stopped) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, wait);
      });
    }
  }
  following.abort();
  await Promise.all(inputs);
  sensor.flush();
  if (shipper) await shipper.pump();
  ctx.err(`${JSON.stringify({ counters: sensor.counters(), memory: memoryMiB() })}\n`);
}
