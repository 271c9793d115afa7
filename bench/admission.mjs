// Admission webhook load benchmark (run after `npm run build`): every built-in policy assigned, a
// realistic 3-container pod, 200 concurrent keep-alive connections over loopback HTTPS. The webhook
// runs in its own process; a bare Fastify HTTPS endpoint answering a fixed AdmissionReview is
// measured in the same run, so the overhead ratio is ours alone.
//
//   node bench/admission.mjs [--seconds 10] [--connections 200[,20]] [--vary] [--compare DIR]
//
// --connections takes a list: each figure is one run of both endpoints (fewer connections leave
// more of the two cores to the server, the load generator being a node:https client on the same
// machine). --vary gives every request different container images, so no container repeats and
// the engine's container result cache never hits (the worst case; by default every request carries
// the same pod, as the pods of one ReplicaSet do). --compare DIR also measures the webhook built
// in DIR (an older `dist/`), for before/after figures in the same run.
import { fork } from 'node:child_process';
import { Agent, request } from 'node:https';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const SECONDS = Number(arg('seconds', '10'));
const CONNECTIONS = arg('connections', '200').split(',').map(Number);
const VARY = args.includes('--vary');
const COMPARE = arg('compare', undefined);
const defaultDist = fileURLToPath(new URL('../dist/', import.meta.url));
const distUrl = (dir) => pathToFileURL(dir.endsWith('/') ? dir : `${dir}/`);

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

export const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'checkout-7d9f8c6b5-x2x4q',
    namespace: 'shop',
    labels: { app: 'checkout', 'pod-template-hash': '7d9f8c6b5', team: 'payments' },
    annotations: { 'prometheus.io/scrape': 'true' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'checkout-7d9f8c6b5', uid: 'c0ffee00-1111-2222-3333-444455556666', controller: true }],
  },
  spec: {
    serviceAccountName: 'checkout',
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' }, appArmorProfile: { type: 'RuntimeDefault' }, fsGroup: 10001 },
    imagePullSecrets: [{ name: 'registry-example-com' }],
    initContainers: [container('migrate', 'registry.example.com/shop/checkout-migrate:3.8.1', { ports: undefined, readinessProbe: undefined, livenessProbe: undefined, lifecycle: undefined })],
    containers: [
      container('checkout', 'registry.example.com/shop/checkout:3.8.1'),
      container('envoy', 'registry.example.com/mirror/envoyproxy/envoy:v1.31.2', { ports: [{ name: 'admin', containerPort: 9901 }] }),
    ],
    volumes: [{ name: 'tmp', emptyDir: {} }],
  },
};

/** The review of request i: the same pod each time, or (--vary) a pod whose images are unique to i. */
function reviewBody(i, vary = false) {
  const object = vary
    ? { ...POD, spec: { ...POD.spec, initContainers: POD.spec.initContainers.map((c) => ({ ...c, image: `${c.image}-${i}` })), containers: POD.spec.containers.map((c) => ({ ...c, image: `${c.image}-${i}` })) } }
    : POD;
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `bench-${i}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'shop',
      name: POD.metadata.name,
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:serviceaccounts'] },
      object,
      oldObject: null,
      dryRun: false,
    },
  });
}

// ------------------------------------------------------------------------------------------------
// server side (child process)

async function serve(mode, distDir) {
  const dist = distUrl(distDir);
  // The parent asks for CPU time before and after the load window: a figure that other processes
  // on a busy machine cannot distort.
  process.on('message', (m) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send({ cpuMs: (u.user + u.system) / 1000 });
    }
  });
  const { silentLogger, systemClock } = await import(new URL('core/index.js', dist));
  const policy = await import(new URL('policy/index.js', dist));
  const tls = policy.generateSelfSigned({ names: ['localhost', '127.0.0.1'] });
  if (mode === 'fastify') {
    const { default: Fastify } = await import('fastify');
    const app = Fastify({ https: { cert: tls.cert, key: tls.key }, logger: false, bodyLimit: 6 * 1024 * 1024 });
    app.post('/validate', async (req) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: req.body.request.uid, allowed: true } }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    process.send({ port: app.server.address().port, ca: tls.ca, assignments: 0 });
    return;
  }
  const library = policy.loadLibrary();
  const PARAMS = {
    'allowed-images': { allowedContainerImagesRegex: '^registry\\.example\\.com/.+$' },
    'resource-limits': { cpuLimit: '2', memoryLimit: '4Gi' },
    'service-allowed-ports': { allowedServicePortsList: ['80', '443'] },
  };
  const assignments = [...library.policies.values()].map(({ policy: p }) => ({
    name: p.id,
    policy: p.id,
    effect: p.effects.includes('Deny') ? 'Deny' : 'Audit',
    match: {},
    parameters: PARAMS[p.id] ?? {},
  }));
  const engine = policy.createPolicyEngine(policy.bindAssignments(library, assignments));
  const audit = policy.createMemoryAuditSink(1000);
  const handler = policy.createAdmissionHandler({ engine, audit, clock: systemClock, log: silentLogger });
  const server = await policy.startAdmissionServer({ handler, tls, port: 0, host: '127.0.0.1', log: silentLogger });
  process.send({ port: server.port, ca: tls.ca, assignments: engine.assignments.length });
}

// ------------------------------------------------------------------------------------------------
// load generator (parent process)

function post(agent, port, ca, body) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(
      { host: '127.0.0.1', port, path: '/validate', method: 'POST', agent, ca, servername: 'localhost', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ ms, ok: res.statusCode === 200 && text.includes('"allowed":true') });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// With --vary, more distinct pods than the engine's container cache holds (512), taken in turn.
const BODIES = VARY ? Array.from({ length: 4096 }, (_, i) => reviewBody(i, true)) : [reviewBody(0)];
let nextBody = 0;
const body = () => BODIES[nextBody++ % BODIES.length];

async function load(port, ca, seconds, connections, cpuOf) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections, ca });
  // Warm up: open every connection (TLS handshakes) and let V8 optimise.
  await Promise.all(Array.from({ length: connections }, () => post(agent, port, ca, body())));
  const warmEnd = Date.now() + 2000;
  await Promise.all(Array.from({ length: connections }, async () => { while (Date.now() < warmEnd) await post(agent, port, ca, body()); }));
  const latencies = [];
  let failures = 0;
  const cpuBefore = await cpuOf();
  const started = Date.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < end) {
        const r = await post(agent, port, ca, body());
        latencies.push(r.ms);
        if (!r.ok) failures += 1;
      }
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  const cpuMs = (await cpuOf()) - cpuBefore;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { requests: latencies.length, rps: latencies.length / elapsed, p50: q(0.5), p99: q(0.99), max: latencies[latencies.length - 1], failures, cpuPerReview: cpuMs / latencies.length };
}

async function measure(mode, connections, distDir = defaultDist) {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', mode, distDir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const info = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  try {
    const cpuOf = () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve(m.cpuMs));
        child.send('cpu');
      });
    return { ...(await load(info.port, info.ca, SECONDS, connections, cpuOf)), assignments: info.assignments };
  } finally {
    child.kill('SIGTERM');
  }
}

async function inProcess(distDir) {
  // Evaluation cost alone, without HTTP: each review parsed afresh from its JSON, as the server does.
  const dist = distUrl(distDir);
  const { silentLogger, systemClock } = await import(new URL('core/index.js', dist));
  const policy = await import(new URL('policy/index.js', dist));
  const library = policy.loadLibrary();
  const PARAMS = { 'allowed-images': { allowedContainerImagesRegex: '^registry\\.example\\.com/.+$' }, 'resource-limits': { cpuLimit: '2', memoryLimit: '4Gi' }, 'service-allowed-ports': { allowedServicePortsList: ['80', '443'] } };
  const assignments = [...library.policies.values()].map(({ policy: p }) => ({ name: p.id, policy: p.id, effect: p.effects.includes('Deny') ? 'Deny' : 'Audit', match: {}, parameters: PARAMS[p.id] ?? {} }));
  const engine = policy.createPolicyEngine(policy.bindAssignments(library, assignments));
  const handler = policy.createAdmissionHandler({ engine, audit: policy.createMemoryAuditSink(10), clock: systemClock, log: silentLogger });
  const first = await handler.review(JSON.parse(body()));
  for (let i = 0; i < 300; i++) await handler.review(JSON.parse(body()));
  const n = 2000;
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const t0 = cpu();
  for (let i = 0; i < n; i++) await handler.review(JSON.parse(body()));
  const perReview = (cpu() - t0) / n;
  return { perReview, allowed: first.response.allowed, warnings: first.response.warnings ?? [], audit: first.response.auditAnnotations };
}

if (args[0] === '--serve') {
  await serve(args[1], args[2]);
} else {
  const builds = [['palisade', defaultDist], ...(COMPARE ? [[`palisade ${COMPARE}`, COMPARE]] : [])];
  for (const [name, dir] of builds) {
    const alone = await inProcess(dir);
    console.log(`${name}: evaluation alone (handler, no HTTP): ${alone.perReview.toFixed(3)} CPU-ms per review (${(1000 / alone.perReview).toFixed(0)} reviews per CPU-second); allowed=${alone.allowed}`);
  }
  const row = (name, r) =>
    `${name.padEnd(40)} ${r.rps.toFixed(0).padStart(8)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${r.max.toFixed(1).padStart(8)} ${String(r.failures).padStart(6)} ${r.cpuPerReview.toFixed(3).padStart(12)} ${(1000 / r.cpuPerReview).toFixed(0).padStart(10)}`;
  for (const connections of CONNECTIONS) {
    const bare = await measure('fastify', connections);
    const runs = [];
    for (const [name, dir] of builds) runs.push([name, await measure('palisade', connections, dir)]);
    const load = (await import('node:os')).loadavg()[0];
    console.log(`\nadmission load: ${connections} keep-alive HTTPS connections over loopback, ${SECONDS} s each, 3-container pod${VARY ? ', every pod different (--vary)' : ''}`);
    console.log(`${'endpoint'.padEnd(40)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'fails'.padStart(6)} ${'server CPU-ms'.padStart(12)} ${'per CPU-s'.padStart(10)}`);
    console.log(row('bare Fastify (fixed response)', bare));
    for (const [name, r] of runs) console.log(row(`${name} (${r.assignments} policies)`, r));
    const ours = runs[0][1];
    console.log(`overhead: throughput ${(bare.rps / ours.rps).toFixed(2)}x lower, p99 ${(ours.p99 / bare.p99).toFixed(2)}x higher, server CPU per review ${(ours.cpuPerReview / bare.cpuPerReview).toFixed(2)}x`);
    console.log(`machine load average during the run: ${load.toFixed(1)} on ${(await import('node:os')).cpus().length} cores`);
    console.log(`goal: p99 < 10 ms ${ours.p99 < 10 ? 'met' : 'NOT met'}; >= 2000 reviews/s ${ours.rps >= 2000 ? 'met' : 'NOT met'}`);
  }
}
