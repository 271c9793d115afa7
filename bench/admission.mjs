// Admission webhook load benchmark (run after `npm run build`): every built-in policy assigned,
// realistic 3-container pods, 200 keep-alive HTTPS connections over loopback. Three processes: the
// webhook, the load generator and this coordinator; on a machine with taskset and 2+ cores the
// webhook is pinned to CPU 1 and the generator to CPU 0. A bare Fastify HTTPS endpoint answering a
// fixed AdmissionReview is measured in the same run, the same way, so the overhead ratio is ours.
//
//   node bench/admission.mjs [--seconds 10] [--connections 200] [--rate 2000] [--templates 20]
//                            [--vary] [--compare DIR] [--dist DIR] [--no-pin] [--evaluation-only]
//                            [--server-profile DIR] [--server-node-args "--trace-gc …"] [--evaluation-tail N]
//                            [--no-evaluation] [--pin-main-only] [--trace-tail]
//
// Two measurements per endpoint:
// - closed loop: every connection sends its next review as soon as the last is answered (the
//   maximum throughput at 200 connections, with its latency);
// - open loop: reviews are scheduled at a fixed rate (--rate, default 2,000/s) spread over the open
//   connections, whatever the answers do, and each latency is taken from the review's scheduled send
//   time, so a stalled server is charged for the reviews it held up (no coordinated omission).
// Server CPU time per review is read from the server process itself (process.cpuUsage over the
// measurement), which other processes on a busy machine cannot distort; so are its GC pauses
// (minor and major, from its own PerformanceObserver) and the old space it uses at the end of each
// window: a server whose requests' garbage reaches the old generation shows it there first.
//
// The review stream: pods of --templates workloads (7 in 10 Deployments, 2 StatefulSets, 1 a
// DaemonSet) taken in turn, each pod with its own name, uid, creationTimestamp and request uid, as a
// ReplicaSet's pods are; StatefulSet pods also carry their own pod-name/pod-index labels and
// hostname, DaemonSet pods their own node affinity. --vary gives every pod its own images as well,
// so no two pods share a container or a policy answer (the worst case). --compare DIR also measures
// the webhook built in DIR (an older dist/), for before/after figures in the same run; --dist DIR
// measures another build than ../dist/ as "palisade". --evaluation-only prints only the cost of
// evaluation alone (the handler called in-process, no HTTP), for the stream and for --vary pods.
import { execFileSync, fork } from 'node:child_process';
import { openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay, constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const SECONDS = Number(arg('seconds', '10'));
const CONNECTIONS = Number(arg('connections', '200'));
const RATE = Number(arg('rate', '2000'));
const TEMPLATES = Number(arg('templates', '20'));
const VARY = args.includes('--vary');
const COMPARE = arg('compare', undefined);
const PIN = !args.includes('--no-pin');
/** --pin-main-only: pin only each process's main thread (V8's GC and compiler threads and libuv's pool stay free). */
const PIN_MAIN_ONLY = args.includes('--pin-main-only');
const EVALUATION_ONLY = args.includes('--evaluation-only');
/** --no-evaluation: skip "evaluation alone", measure only over HTTP. */
const NO_EVALUATION = args.includes('--no-evaluation');
/** --evaluation-tail N: only the CPU cost of each of N reviews of the stream in-process (its tail, with the major GCs), per build. */
const EVALUATION_TAIL = Number(arg('evaluation-tail', '0'));
/** --server-profile DIR: the servers write V8 CPU profiles there (DIR/fastify, DIR/palisade). */
const PROFILE = arg('server-profile', undefined);
/** --server-node-args "…": extra Node flags for the server processes (e.g. "--trace-gc"). */
const SERVER_NODE_ARGS = (arg('server-node-args', '') ?? '').split(' ').filter(Boolean);
/**
 * --trace-tail: where the open loop's slow reviews spend their time. Every review carries its number
 * (x-id); the generator records when it was due, issued and answered, the server when its request
 * event came and its answer was flushed (and, for the webhook, the handler's own time), both sides
 * their GC pauses and event-loop delay, all on one clock (timeOrigin + now, ms).
 */
const TRACE = args.includes('--trace-tail');
const now = () => performance.timeOrigin + performance.now();
const defaultDist = arg('dist', fileURLToPath(new URL('../dist/', import.meta.url)));
const distUrl = (dir) => pathToFileURL(dir.endsWith('/') ? dir : `${dir}/`);
const script = fileURLToPath(import.meta.url);

// ------------------------------------------------------------------------------------------------
// the review stream

const container = (name, image, extra = {}) => ({
  name,
  image,
  imagePullPolicy: 'IfNotPresent',
  ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
  env: [
    { name: 'LOG_LEVEL', value: 'info' },
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  ],
  resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 10001, capabilities: { drop: ['ALL'] } },
  readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 5 },
  livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 },
  lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
  volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
  ...extra,
});

const APPS = ['checkout', 'cart', 'catalog', 'payments', 'orders', 'search', 'shipping', 'accounts', 'reviews', 'recommend', 'inventory', 'pricing', 'notify', 'gateway', 'auth', 'ledger', 'media', 'reports', 'quotes', 'tax'];
const hex = (n, width) => (n >>> 0).toString(16).padStart(width, '0').slice(-width);
const SUFFIX = 'bcdfghjklmnpqrstvwxz2456789';
const podSuffix = (n) => Array.from({ length: 5 }, (_, k) => SUFFIX[Math.floor(n / SUFFIX.length ** k) % SUFFIX.length]).join('');

/** Workload t of the stream: its kind and a function from the pod's ordinal to the pod. */
function workload(t) {
  const app = `${APPS[t % APPS.length]}${t >= APPS.length ? `-${Math.floor(t / APPS.length)}` : ''}`;
  const kind = t % 10 === 9 ? 'DaemonSet' : t % 10 >= 7 ? 'StatefulSet' : 'Deployment';
  const hash = hex(0x7d9f8c6b + t * 7919, 9);
  const owner = kind === 'Deployment' ? { kind: 'ReplicaSet', name: `${app}-${hash}` } : { kind, name: app };
  const version = `3.${t % 9}.${t % 4}`;
  return (n, vary) => {
    const tag = vary ? `${version}-${n}` : version;
    const name = kind === 'StatefulSet' ? `${app}-${n}` : `${owner.name}-${podSuffix(n)}`;
    const labels = { app, team: 'shop', ...(kind === 'Deployment' ? { 'pod-template-hash': hash } : { 'controller-revision-hash': `${app}-${hash}` }) };
    if (kind === 'StatefulSet') Object.assign(labels, { 'statefulset.kubernetes.io/pod-name': name, 'apps.kubernetes.io/pod-index': String(n) });
    if (kind === 'DaemonSet') labels['pod-template-generation'] = '3';
    const spec = {
      serviceAccountName: app,
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' }, appArmorProfile: { type: 'RuntimeDefault' }, fsGroup: 10001 },
      imagePullSecrets: [{ name: 'registry-example-com' }],
      initContainers: [container('migrate', `registry.example.com/shop/${app}-migrate:${tag}`, { ports: undefined, readinessProbe: undefined, livenessProbe: undefined, lifecycle: undefined })],
      containers: [
        container(app, `registry.example.com/shop/${app}:${tag}`),
        container('envoy', `registry.example.com/mirror/envoyproxy/envoy:v1.31.${vary ? n : 2}`, { ports: [{ name: 'admin', containerPort: 9901 }] }),
      ],
      volumes: [{ name: 'tmp', emptyDir: {} }],
      ...(kind === 'StatefulSet' ? { hostname: name, subdomain: app } : {}),
      ...(kind === 'DaemonSet'
        ? {
            tolerations: [{ operator: 'Exists', effect: 'NoSchedule' }],
            affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [`node-${n % 500}`] }] }] } } },
          }
        : {}),
    };
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        ...(kind === 'StatefulSet' ? {} : { generateName: `${owner.name}-` }),
        namespace: 'shop',
        uid: `${hex(n * 2654435761, 8)}-${hex(t, 4)}-4${hex(n, 3)}-8${hex(n * 31, 3)}-${hex(n * 40503, 12)}`,
        creationTimestamp: new Date(Date.UTC(2026, 10, 27, 2, 0, 0) + n * 37).toISOString().replace(/\.\d+Z$/, 'Z'),
        labels,
        annotations: { 'prometheus.io/scrape': 'true' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, uid: `c0ffee00-1111-2222-3333-${hex(t, 12)}`, controller: true, blockOwnerDeletion: true }],
      },
      spec,
    };
  };
}

const WORKLOADS = Array.from({ length: TEMPLATES }, (_, t) => workload(t));

/** The JSON of review i of the stream. */
function reviewBody(i, vary = VARY) {
  const object = WORKLOADS[i % WORKLOADS.length](Math.floor(i / WORKLOADS.length), vary);
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `${hex(i * 2246822519, 8)}-0000-4000-8000-${hex(i, 12)}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'shop',
      name: object.metadata.name,
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] },
      object,
      oldObject: null,
      dryRun: false,
    },
  });
}

// ------------------------------------------------------------------------------------------------
// server (child process)

const PARAMS = {
  'allowed-images': { allowedContainerImagesRegex: '^registry\\.example\\.com/.+$' },
  'resource-limits': { cpuLimit: '2', memoryLimit: '4Gi' },
  'service-allowed-ports': { allowedServicePortsList: ['80', '443'] },
};

async function handlerOf(distDir) {
  const dist = distUrl(distDir);
  const { silentLogger, systemClock } = await import(new URL('core/index.js', dist));
  const policy = await import(new URL('policy/index.js', dist));
  const library = policy.loadLibrary();
  const assignments = [...library.policies.values()].map(({ policy: p }) => ({
    name: p.id,
    policy: p.id,
    effect: p.effects.includes('Deny') ? 'Deny' : 'Audit',
    match: {},
    parameters: PARAMS[p.id] ?? {},
  }));
  const engine = policy.createPolicyEngine(policy.bindAssignments(library, assignments));
  const handler = policy.createAdmissionHandler({ engine, audit: policy.createMemoryAuditSink(1000), clock: systemClock, log: silentLogger });
  return { policy, handler, silentLogger, assignments: engine.assignments.length };
}

/**
 * The scheduler's account of each thread of this process (Linux): name → [ms on the CPU, ms
 * runnable but waiting for it, time slices]. {} where /proc has no schedstat.
 */
function threadSchedule() {
  const out = {};
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const name = `${readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()}${tid === String(process.pid) ? ' (main)' : ''}`;
      const [run, wait, slices] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      const t = (out[name] ??= [0, 0, 0]);
      t[0] += run / 1e6;
      t[1] += wait / 1e6;
      t[2] += slices;
    }
  } catch {
    // not Linux, or no schedstat: nothing to report
  }
  return out;
}

async function serve(mode, distDir) {
  // Exit normally on SIGTERM, so --cpu-prof writes its profile.
  process.on('SIGTERM', () => process.exit(0));
  // The server's own GC pauses (each one stops every request in flight), counted between two
  // 'cpu' messages: by V8's own kind, minor (scavenge) or major (mark-compact).
  const gcKinds = { [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major' };
  let gc = { minor: { n: 0, ms: 0, max: 0 }, major: { n: 0, ms: 0, max: 0 } };
  // --trace-tail: [id, request event, answer written] per review, [id, handler ms] per webhook review
  // (preallocated, so the trace itself puts nothing on the heap per review), GC pauses [start, ms, kind].
  const CAP = 1 << 17;
  const requests = TRACE ? new Float64Array(3 * CAP) : undefined;
  const handled = TRACE ? new Float64Array(5 * CAP) : undefined;
  /**
   * The main thread's own [ns on the CPU, ns runnable but waiting] (Linux /proc schedstat, read with
   * pread into one buffer and parsed in place: no garbage per review), or zeros.
   */
  const schedBuffer = Buffer.alloc(128);
  const schedPair = [0, 0];
  let schedFd = -1;
  try {
    schedFd = TRACE ? openSync('/proc/thread-self/schedstat', 'r') : -1;
  } catch {
    schedFd = -1;
  }
  const mainSchedule = () => {
    if (schedFd < 0) return [0, 0];
    const n = readSync(schedFd, schedBuffer, 0, schedBuffer.length, 0);
    let field = 0;
    let value = 0;
    for (let k = 0; k < n && field < 2; k++) {
      const c = schedBuffer[k];
      if (c >= 48 && c <= 57) value = value * 10 + (c - 48);
      else {
        schedPair[field++] = value;
        value = 0;
      }
    }
    return [schedPair[0], schedPair[1]];
  };
  let trace = { requests: 0, handler: 0, gcs: [] };
  const traced = () => ({
    requests: Array.from({ length: Math.min(trace.requests, CAP) }, (_, i) => [requests[3 * i], requests[3 * i + 1], requests[3 * i + 2]]),
    handler: Array.from({ length: Math.min(trace.handler, CAP) }, (_, i) => [handled[5 * i], handled[5 * i + 1], handled[5 * i + 2], handled[5 * i + 3], handled[5 * i + 4]]),
    gcs: trace.gcs,
  });
  const eld = TRACE ? monitorEventLoopDelay({ resolution: 1 }) : undefined;
  eld?.enable();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (TRACE) trace.gcs.push([performance.timeOrigin + e.startTime, e.duration, gcKinds[e.detail?.kind] ?? String(e.detail?.kind)]);
      const g = gc[gcKinds[e.detail?.kind]];
      if (g === undefined) continue;
      g.n += 1;
      g.ms += e.duration;
      g.max = Math.max(g.max, e.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  // The coordinator asks for CPU time (and the GC pauses since it last asked) before and after each measurement.
  process.on('message', (m) => {
    if (m === 'cpu') {
      // With --server-node-args (--trace-gc, --trace-deopt …), mark the windows in the server's output.
      if (SERVER_NODE_ARGS.length > 0) console.log(`[bench] ${mode} server: window boundary`);
      const u = process.cpuUsage();
      const old = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'old_space')?.space_used_size ?? 0;
      // Let the observer see the last GCs of the window first.
      setImmediate(() => {
        const delay = eld ? { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, p999: eld.percentile(99.9) / 1e6, max: eld.max / 1e6 } : undefined;
        process.send({ cpuMs: (u.user + u.system) / 1000, gc, oldSpaceMiB: old / 2 ** 20, threads: threadSchedule(), ...(TRACE ? { trace: traced(), delay } : {}) });
        gc = { minor: { n: 0, ms: 0, max: 0 }, major: { n: 0, ms: 0, max: 0 } };
        trace = { requests: 0, handler: 0, gcs: [] };
        eld?.reset();
      });
    }
  });
  /** --trace-tail: when each review's request event came and when its answer was flushed. */
  const traceRequests = (httpServer) => {
    if (!TRACE) return;
    httpServer.prependListener('request', (req, res) => {
      const i = trace.requests++ % CAP;
      requests[3 * i] = Number(req.headers['x-id']);
      requests[3 * i + 1] = now();
      // When the answer is handed to the socket (res.end), not when the write completes.
      const end = res.end;
      res.end = function (...a) {
        requests[3 * i + 2] = now();
        return end.apply(this, a);
      };
    });
  };
  const policy = await import(new URL('policy/index.js', distUrl(distDir)));
  const tls = policy.generateSelfSigned({ names: ['localhost', '127.0.0.1'] });
  if (mode === 'fastify') {
    const { default: Fastify } = await import('fastify');
    const app = Fastify({ https: { cert: tls.cert, key: tls.key }, logger: false, bodyLimit: 6 * 1024 * 1024 });
    app.post('/validate', async (req) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: req.body.request.uid, allowed: true } }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    traceRequests(app.server);
    process.send({ port: app.server.address().port, ca: tls.ca, assignments: 0 });
    return;
  }
  const { handler: inner, silentLogger, assignments } = await handlerOf(distDir);
  const handler = TRACE
    ? {
        counters: inner.counters,
        async review(body) {
          const s0 = mainSchedule();
          const t0 = performance.now();
          const r = await inner.review(body);
          const t1 = performance.now();
          const s1 = mainSchedule();
          // The review's number is the last 12 hex digits of its uid; then wall ms, start, main-thread CPU ms, ms waiting for the CPU.
          const i = trace.handler++ % CAP;
          handled.set([parseInt(String(body?.request?.uid).slice(-12), 16), t1 - t0, performance.timeOrigin + t0, (s1[0] - s0[0]) / 1e6, (s1[1] - s0[1]) / 1e6], 5 * i);
          return r;
        },
      }
    : inner;
  const server = await policy.startAdmissionServer({ handler, tls, port: 0, host: '127.0.0.1', log: silentLogger });
  traceRequests(server.server);
  process.send({ port: server.port, ca: tls.ca, assignments });
}

// ------------------------------------------------------------------------------------------------
// load generator (child process)

function generator() {
  let agent;
  let target;
  let next = 0;
  const gcs = [];
  const eld = TRACE ? monitorEventLoopDelay({ resolution: 1 }) : undefined;
  if (TRACE) {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcs.push([performance.timeOrigin + e.startTime, e.duration, e.detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR ? 'major' : 'minor']);
    }).observe({ entryTypes: ['gc'] });
  }
  const post = (body, id = -1) =>
    new Promise((resolve) => {
      const req = request(
        { host: '127.0.0.1', port: target.port, path: '/validate', method: 'POST', agent, ca: target.ca, servername: 'localhost', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(TRACE ? { 'x-id': String(id) } : {}) } },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve(res.statusCode === 200 && Buffer.concat(chunks).toString('utf8').includes('"allowed":true')));
          res.on('error', () => resolve(false));
        },
      );
      req.on('error', () => resolve(false));
      req.end(body);
    });
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const stats = (latencies, failures, elapsedS, cpuMs) => {
    latencies.sort((a, b) => a - b);
    const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
    return { requests: latencies.length, rps: latencies.length / elapsedS, p50: q(0.5), p99: q(0.99), p999: q(0.999), max: latencies[latencies.length - 1] ?? NaN, failures, generatorCpuMs: cpuMs / Math.max(1, latencies.length) };
  };

  async function warm(connections) {
    // Opens every connection (TLS handshakes) and lets both sides' JIT settle.
    await Promise.all(Array.from({ length: connections }, () => post(reviewBody(next++))));
    const end = Date.now() + 3000;
    await Promise.all(Array.from({ length: connections }, async () => { while (Date.now() < end) await post(reviewBody(next++)); }));
  }

  async function closed(connections, seconds) {
    const latencies = [];
    let failures = 0;
    const cpu0 = cpu();
    const started = performance.now();
    const end = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (performance.now() < end) {
          const body = reviewBody(next++);
          const t0 = performance.now();
          const ok = await post(body);
          latencies.push(performance.now() - t0);
          if (!ok) failures += 1;
        }
      }),
    );
    return stats(latencies, failures, (performance.now() - started) / 1000, cpu() - cpu0);
  }

  async function open(rate, seconds) {
    const total = Math.round(rate * seconds);
    const latencies = [];
    let failures = 0;
    let issued = 0;
    let done = 0;
    let lastDone = 0;
    // --trace-tail: [id, due, issued, answered] per review (timeOrigin + ms).
    const reviews = [];
    gcs.length = 0;
    eld?.reset();
    eld?.enable();
    const cpu0 = cpu();
    const started = performance.now();
    await new Promise((resolve) => {
      const tick = () => {
        // Every review due by now goes out; its latency counts from when it was due.
        const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
        while (issued < due) {
          const scheduled = started + (issued * 1000) / rate;
          issued += 1;
          const id = next++;
          const record = TRACE ? [id, performance.timeOrigin + scheduled, 0, 0] : undefined;
          post(reviewBody(id), id).then((ok) => {
            lastDone = performance.now();
            if (record) {
              record[3] = performance.timeOrigin + lastDone;
              reviews.push(record);
            }
            latencies.push(lastDone - scheduled);
            if (!ok) failures += 1;
            done += 1;
            if (done === total) resolve();
          });
          if (record) record[2] = now();
        }
        if (issued < total) setTimeout(tick, 0);
        // A server that stops answering: give up 30 s after the last send; the missing count as failures.
        else setTimeout(resolve, 30_000).unref();
      };
      tick();
    });
    const delay = eld ? { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, p999: eld.percentile(99.9) / 1e6, max: eld.max / 1e6 } : undefined;
    eld?.disable();
    return { ...stats(latencies, failures + (total - done), (lastDone - started) / 1000, cpu() - cpu0), offered: rate, ...(TRACE ? { trace: { reviews, gcs: [...gcs], delay } } : {}) };
  }

  process.on('message', async (m) => {
    if (m.type === 'target') {
      target = m;
      // FIFO: requests take the longest-idle connection, so an open-loop load is spread over all of them.
      agent = new Agent({ keepAlive: true, maxSockets: m.connections, scheduling: 'fifo', ca: m.ca });
      await warm(m.connections);
      process.send({ type: 'warm' });
    } else if (m.type === 'closed') {
      process.send({ type: 'result', result: await closed(m.connections, m.seconds) });
    } else if (m.type === 'open') {
      process.send({ type: 'result', result: await open(m.rate, m.seconds) });
    }
  });
  process.send({ type: 'ready' });
}

// ------------------------------------------------------------------------------------------------
// coordinator

const canPin = (() => {
  if (!PIN || cpus().length < 2) return false;
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
/** Pins every thread of a process to one CPU. */
const pin = (pid, cpu) => {
  if (canPin) execFileSync('taskset', [...(PIN_MAIN_ONLY ? [] : ['-a']), '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
};

function child(argv, execArgv = []) {
  const c = fork(script, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  const next = (predicate = () => true) =>
    new Promise((resolve, reject) => {
      const onMessage = (m) => {
        if (!predicate(m)) return;
        c.off('message', onMessage);
        c.off('exit', onExit);
        resolve(m);
      };
      const onExit = (code) => reject(new Error(`${argv.join(' ')} exited with ${code}`));
      c.on('message', onMessage);
      c.once('exit', onExit);
    });
  return { process: c, next };
}

async function measure(mode, distDir = defaultDist) {
  const server = child(['--serve', mode, distDir, ...args], [...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}/${mode}`] : []), ...SERVER_NODE_ARGS]);
  const info = await server.next();
  pin(server.process.pid, 1);
  const gen = child(['--generate', ...args]);
  await gen.next((m) => m.type === 'ready');
  pin(gen.process.pid, 0);
  const serverCpu = async () => {
    const reply = server.next((m) => m.cpuMs !== undefined);
    server.process.send('cpu');
    return reply;
  };
  try {
    gen.process.send({ type: 'target', port: info.port, ca: info.ca, connections: CONNECTIONS });
    await gen.next((m) => m.type === 'warm');
    const phase = async (message) => {
      const before = await serverCpu();
      const load0 = loadavg()[0];
      gen.process.send(message);
      const { result } = await gen.next((m) => m.type === 'result');
      const after = await serverCpu();
      return { ...result, cpuPerReview: (after.cpuMs - before.cpuMs) / result.requests, gc: after.gc, oldSpaceMiB: after.oldSpaceMiB, load: Math.max(load0, loadavg()[0]), serverTrace: after.trace, serverDelay: after.delay, threads: Object.fromEntries(Object.entries(after.threads).map(([k, v]) => [k, v.map((x, i) => x - (before.threads[k]?.[i] ?? 0))])) };
    };
    const closedLoop = await phase({ type: 'closed', connections: CONNECTIONS, seconds: SECONDS });
    const openLoop = await phase({ type: 'open', rate: RATE, seconds: SECONDS });
    return { closedLoop, openLoop, assignments: info.assignments };
  } finally {
    gen.process.kill('SIGTERM');
    server.process.kill('SIGTERM');
  }
}

/** Evaluation cost alone, in a process of its own (no other build's code or garbage beside it). */
async function inProcess(distDir, vary) {
  const c = child(['--evaluate', distDir, vary ? 'vary' : 'stream', ...args]);
  try {
    return await c.next();
  } finally {
    c.process.kill('SIGTERM');
  }
}

async function evaluateAlone(distDir, vary) {
  // Without HTTP: each review parsed afresh from its JSON, as the server does.
  const { handler } = await handlerOf(distDir);
  let i = 0;
  const first = await handler.review(JSON.parse(reviewBody(i++, vary)));
  for (let k = 0; k < 500; k++) await handler.review(JSON.parse(reviewBody(i++, vary)));
  const bodies = Array.from({ length: 3000 }, () => reviewBody(i++, vary));
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const t0 = cpu();
  for (const body of bodies) await handler.review(JSON.parse(body));
  process.send({ perReview: (cpu() - t0) / bodies.length, allowed: first.response.allowed });
}

/**
 * The tail of evaluation alone: CPU time of each review of the stream (the handler in-process,
 * each body parsed from its JSON), one after another, and the major GCs among them. CPU time, so
 * other processes on the machine do not count, but the process's GC threads do.
 */
async function evaluationTail(distDir, n) {
  const { handler } = await handlerOf(distDir);
  for (let i = 0; i < 3000; i++) await handler.review(JSON.parse(reviewBody(i)));
  const majors = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) majors.push(e.duration);
  }).observe({ entryTypes: ['gc'] });
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const per = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    // Let the GC observer run now and then (reviews are synchronous but for their promise).
    if (k % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    const body = reviewBody(3000 + k);
    const t0 = cpu();
    await handler.review(JSON.parse(body));
    per[k] = cpu() - t0;
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
  let worst = 0;
  let window = 0;
  for (let k = 0; k < n; k++) {
    window += per[k] - (k >= 20 ? per[k - 20] : 0);
    worst = Math.max(worst, window);
  }
  const sorted = [...per].sort((a, b) => a - b);
  const q = (p) => sorted[Math.min(n - 1, Math.floor(p * n))];
  process.send({ mean: per.reduce((a, b) => a + b, 0) / n, p99: q(0.99), p999: q(0.999), max: sorted[n - 1], over5: per.filter((x) => x > 5).length, worst20: worst, majors: majors.length, majorMax: Math.max(0, ...majors) });
}

const f = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/**
 * --trace-tail: the open loop's slow reviews taken apart. Each review's latency is split into
 * generator lateness (due → issued), the way in (issued → the server's request event: the socket,
 * TLS, HTTP parsing and the server's event loop), the server (request event → answer flushed) and
 * the way back (flushed → the generator's callback). Then the stalls: gaps of 4 ms or more in the
 * server's request and finish events while reviews were waiting, and in the generator's answers,
 * each with the GC pauses of either process that overlap it.
 */
function tailReport(name, r) {
  const { reviews, gcs: genGcs, delay: genDelay } = r.trace;
  const server = new Map(r.serverTrace.requests.map(([id, a, b]) => [id, [a, b]]));
  const handler = new Map(r.serverTrace.handler.map(([id, ms]) => [id, ms]));
  const rows = reviews
    .map(([id, due, issued, done]) => {
      const s = server.get(id);
      return s ? { id, due, issued, arrive: s[0], finish: s[1], done, latency: done - due, handler: handler.get(id) } : undefined;
    })
    .filter((x) => x !== undefined)
    .sort((a, b) => a.latency - b.latency);
  if (rows.length === 0) return console.log(`${name}: no traced reviews`);
  const t0 = Math.min(...rows.map((x) => x.due));
  const p99 = rows[Math.floor(0.99 * rows.length)].latency;
  const slow = rows.filter((x) => x.latency >= p99);
  const mean = (xs, fn) => xs.reduce((a, x) => a + fn(x), 0) / Math.max(1, xs.length);
  const split = (xs) =>
    `late ${f(mean(xs, (x) => x.issued - x.due))}  in ${f(mean(xs, (x) => x.arrive - x.issued))}  server ${f(mean(xs, (x) => x.finish - x.arrive))}  (handler ${f(mean(xs, (x) => x.handler ?? 0))})  back ${f(mean(xs, (x) => x.done - x.finish))}`;
  console.log(`\n${name}: ${rows.length} reviews traced; open-loop latency split, mean ms — all: ${split(rows)}`);
  console.log(`${' '.repeat(name.length)}  the slowest 1 % (≥ ${f(p99)} ms): ${split(slow)}`);
  const d = (x) => (x ? `p50 ${f(x.p50)} p99 ${f(x.p99)} p99.9 ${f(x.p999)} max ${f(x.max)}` : '-');
  console.log(`  event-loop delay (ms, 1 ms resolution): server ${d(r.serverDelay)}; generator ${d(genDelay)}`);
  const kindOf = (id) => {
    const t = ((id % TEMPLATES) + TEMPLATES) % TEMPLATES;
    return t % 10 === 9 ? 'DaemonSet' : t % 10 >= 7 ? 'StatefulSet' : 'Deployment';
  };
  const handled = rows.filter((x) => x.handler !== undefined);
  if (handled.length > 0) {
    const byKind = {};
    for (const x of handled) {
      const k = (byKind[kindOf(x.id)] ??= { n: 0, ms: 0, over2: 0, max: 0 });
      k.n += 1;
      k.ms += x.handler;
      if (x.handler > 2) k.over2 += 1;
      k.max = Math.max(k.max, x.handler);
    }
    console.log(`  handler time by workload kind: ${Object.entries(byKind).map(([k, v]) => `${k} n ${v.n} mean ${f(v.ms / v.n, 3)} max ${f(v.max)} over 2 ms ${v.over2}`).join('; ')}`);
  }
  const slowCalls = r.serverTrace.handler.filter(([, ms]) => ms >= 3);
  if (slowCalls.length > 0) {
    const inGc = slowCalls.filter(([, ms, s0]) => r.serverTrace.gcs.some(([g, gms]) => g < s0 + ms && g + gms > s0));
    const sum = (xs, i) => xs.reduce((a, x) => a + x[i], 0);
    console.log(
      `  handler calls ≥ 3 ms: ${slowCalls.length}, wall ${f(sum(slowCalls, 1), 1)} ms = main thread on CPU ${f(sum(slowCalls, 3), 1)} + waiting for the CPU ${f(sum(slowCalls, 4), 1)} (+ blocked/other); ${inGc.length} of them overlap a GC pause (${f(sum(inGc, 1), 1)} ms wall)`,
    );
    for (const [id, ms, , cpuMs, waitMs] of [...slowCalls].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`    #${id} (${kindOf(id)}): ${f(ms)} ms wall, ${f(cpuMs)} on CPU, ${f(waitMs)} waiting`);
  }
  // Stalls: gaps between consecutive server events (request or finish) while a review was issued but not answered.
  const gaps = (times, min) => {
    const sorted = [...times].sort((a, b) => a - b);
    const out = [];
    for (let i = 1; i < sorted.length; i++) if (sorted[i] - sorted[i - 1] >= min) out.push([sorted[i - 1], sorted[i]]);
    return out;
  };
  const overlapping = (list, [a, b]) => list.filter(([s, ms]) => s < b && s + ms > a && ms >= 0.5).map(([, ms, kind]) => `${kind} ${f(ms, 1)}`);
  const busy = ([a, b]) => rows.filter((x) => x.issued < a && x.done > b).length;
  const serverGaps = gaps(rows.flatMap((x) => [x.arrive, x.finish]), 4).filter((g) => busy(g) > 0);
  const genGaps = gaps(rows.flatMap((x) => [x.done, x.issued]), 4);
  const show = (label, list) => {
    console.log(`  ${label}: ${list.length}, ${f(list.reduce((a, [x, y]) => a + y - x, 0), 1)} ms in all`);
    for (const g of list.slice(0, 12)) {
      console.log(`    at ${f(g[0] - t0, 1)} ms for ${f(g[1] - g[0], 1)} ms, ${busy(g)} reviews waiting; server GC [${overlapping(r.serverTrace.gcs, g).join(', ')}] generator GC [${overlapping(genGcs, g).join(', ')}]`);
    }
  };
  show('server silent ≥ 4 ms while reviews were waiting', serverGaps);
  show('generator silent ≥ 4 ms (no review issued or answered)', genGaps);
  console.log(`  server threads in the window (ms on CPU / ms runnable but waiting / slices): ${Object.entries(r.threads).filter(([, v]) => v[0] > 1 || v[1] > 1).map(([k, v]) => `${k} ${f(v[0], 0)} / ${f(v[1], 0)} / ${v[2]}`).join('; ')}`);
  // The slow reviews that were waiting within 60 ms before the end of a major GC's pause (its
  // incremental and concurrent marking come first), or during any GC pause of the generator.
  const majors = r.serverTrace.gcs.filter(([, , kind]) => kind === 'major');
  const nearMajor = slow.filter((x) => majors.some(([s0, ms]) => x.due < s0 + ms && x.done > s0 - 60)).length;
  const genPaused = slow.filter((x) => genGcs.some(([s0, ms]) => ms >= 1 && x.due < s0 + ms && x.done > s0)).length;
  console.log(`  of the slowest 1 % (${slow.length}): ${nearMajor} waiting within 60 ms before the end of one of the server's ${majors.length} major GCs; ${genPaused} waiting across a generator GC pause ≥ 1 ms (generator: ${genGcs.filter(([, , k]) => k === 'minor').length} minor, ${genGcs.filter(([, , k]) => k === 'major').length} major, longest ${f(Math.max(0, ...genGcs.map(([, ms]) => ms)), 1)} ms)`);
  const worst = rows.slice(-5).reverse();
  for (const x of worst) console.log(`  slowest: #${x.id} (${kindOf(x.id)}) due at ${f(x.due - t0, 1)}: late ${f(x.issued - x.due)} in ${f(x.arrive - x.issued)} server ${f(x.finish - x.arrive)} handler ${f(x.handler ?? NaN)} back ${f(x.done - x.finish)}`);
}

async function main() {
  const builds = [['palisade', defaultDist], ...(COMPARE ? [[`palisade ${COMPARE}`, COMPARE]] : [])];
  console.log(`admission benchmark: ${TEMPLATES} workloads (${VARY ? 'every pod with its own images (--vary)' : 'pods of a workload differ in name, uid, timestamps, StatefulSet labels/hostname, DaemonSet node affinity'})`);
  console.log(`webhook and load generator in separate processes; ${canPin ? `webhook pinned to CPU 1, generator to CPU 0 (taskset, ${PIN_MAIN_ONLY ? 'main threads only' : 'all threads'})` : 'not pinned'}; ${cpus().length} cores; load average at start ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  if (EVALUATION_TAIL > 0) {
    for (const [name, dir] of builds) {
      const c = child(['--evaluation-tail-of', dir, ...args]);
      const t = await c.next();
      c.process.kill('SIGTERM');
      console.log(
        `${name}: ${EVALUATION_TAIL} reviews of the stream in-process, CPU-ms per review: mean ${t.mean.toFixed(3)}, p99 ${f(t.p99)}, p99.9 ${f(t.p999)}, max ${f(t.max, 1)}; ` +
          `${t.over5} over 5 ms; worst 20 in a row ${f(t.worst20, 1)} ms; ${t.majors} major GCs (longest ${f(t.majorMax, 1)} ms wall); load ${loadavg()[0].toFixed(1)}`,
      );
    }
    return;
  }
  for (const [name, dir] of NO_EVALUATION ? [] : builds) {
    for (const vary of [false, true]) {
      const alone = await inProcess(dir, vary);
      console.log(`${name}: evaluation alone (handler, no HTTP), ${vary ? 'every pod new (--vary)  ' : 'the stream              '}: ${alone.perReview.toFixed(3)} CPU-ms per review (${(1000 / alone.perReview).toFixed(0)} per CPU-second); allowed=${alone.allowed}`);
    }
  }
  if (EVALUATION_ONLY) return;
  const results = [['bare Fastify (fixed response)', await measure('fastify')]];
  for (const [name, dir] of builds) {
    const r = await measure('palisade', dir);
    results.push([`${name} (${r.assignments} policies)`, r]);
  }
  const head = (cols) => console.log(cols.map(([text, width], i) => (i === 0 ? text.padEnd(width) : text.padStart(width))).join(' '));
  console.log(`\nclosed loop: ${CONNECTIONS} keep-alive HTTPS connections over loopback, each sending its next review when answered, ${SECONDS} s`);
  head([['endpoint', 44], ['req/s', 8], ['p50 ms', 8], ['p99 ms', 8], ['p99.9 ms', 9], ['max ms', 8], ['fails', 6], ['server CPU-ms', 13], ['gen CPU-ms', 10], ['load', 5]]);
  for (const [name, { closedLoop: r }] of results) {
    console.log(`${name.padEnd(44)} ${f(r.rps, 0).padStart(8)} ${f(r.p50).padStart(8)} ${f(r.p99).padStart(8)} ${f(r.p999).padStart(9)} ${f(r.max, 1).padStart(8)} ${String(r.failures).padStart(6)} ${f(r.cpuPerReview, 3).padStart(13)} ${f(r.generatorCpuMs, 3).padStart(10)} ${f(r.load, 1).padStart(5)}`);
  }
  console.log(`\nopen loop: ${RATE} reviews/s offered for ${SECONDS} s, spread over the ${CONNECTIONS} connections; latency from each review's scheduled send time`);
  head([['endpoint', 44], ['achieved/s', 10], ['p50 ms', 8], ['p99 ms', 8], ['p99.9 ms', 9], ['max ms', 8], ['fails', 6], ['server CPU-ms', 13], ['gen CPU-ms', 10], ['load', 5]]);
  for (const [name, { openLoop: r }] of results) {
    console.log(`${name.padEnd(44)} ${f(r.rps, 0).padStart(10)} ${f(r.p50).padStart(8)} ${f(r.p99).padStart(8)} ${f(r.p999).padStart(9)} ${f(r.max, 1).padStart(8)} ${String(r.failures).padStart(6)} ${f(r.cpuPerReview, 3).padStart(13)} ${f(r.generatorCpuMs, 3).padStart(10)} ${f(r.load, 1).padStart(5)}`);
  }
  console.log(`\nserver GC pauses (wall ms, from the server's PerformanceObserver) during each window; old space used at its end`);
  head([['endpoint', 44], ['window', 7], ['minor n', 8], ['total ms', 9], ['max ms', 7], ['major n', 8], ['total ms', 9], ['max ms', 7], ['old MiB', 8]]);
  for (const [name, r] of results) {
    for (const [label, w] of [['closed', r.closedLoop], ['open', r.openLoop]]) {
      const { minor, major } = w.gc;
      console.log(`${name.padEnd(44)} ${label.padStart(7)} ${String(minor.n).padStart(8)} ${f(minor.ms, 1).padStart(9)} ${f(minor.max, 1).padStart(7)} ${String(major.n).padStart(8)} ${f(major.ms, 1).padStart(9)} ${f(major.max, 1).padStart(7)} ${f(w.oldSpaceMiB, 1).padStart(8)}`);
    }
  }
  if (TRACE) for (const [name, r] of results) tailReport(name, r.openLoop);
  const bare = results[0][1];
  const ours = results[1][1];
  console.log(
    `\noverhead vs bare Fastify: closed-loop throughput ${(bare.closedLoop.rps / ours.closedLoop.rps).toFixed(2)}x lower, p99 ${(ours.closedLoop.p99 / bare.closedLoop.p99).toFixed(2)}x; ` +
      `open-loop p99 ${(ours.openLoop.p99 / bare.openLoop.p99).toFixed(2)}x; server CPU per review ${(ours.openLoop.cpuPerReview / bare.openLoop.cpuPerReview).toFixed(2)}x (open loop), ${(ours.closedLoop.cpuPerReview / bare.closedLoop.cpuPerReview).toFixed(2)}x (closed loop)`,
  );
  const o = ours.openLoop;
  const met = o.p99 < 10 && o.rps >= RATE * 0.99 && o.failures === 0;
  console.log(`goal (${RATE}/s offered over ${CONNECTIONS} connections, p99 < 10 ms): ${met ? 'met' : 'NOT met'} (achieved ${f(o.rps, 0)}/s, p99 ${f(o.p99)} ms, ${o.failures} failures)`);
  console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cores`);
}

if (args[0] === '--serve') await serve(args[1], args[2]);
else if (args[0] === '--generate') generator();
else if (args[0] === '--evaluate') await evaluateAlone(args[1], args[2] === 'vary');
else if (args[0] === '--evaluation-tail-of') await evaluationTail(args[1], EVALUATION_TAIL);
else await main();
