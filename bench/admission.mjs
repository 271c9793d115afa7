// Admission webhook load benchmark (run after `npm run build`): every built-in policy assigned, a
// realistic 3-container pod, 200 concurrent keep-alive connections over loopback HTTPS. The webhook
// runs in its own process; a bare Fastify HTTPS endpoint answering a fixed AdmissionReview is
// measured in the same run, so the overhead ratio is ours alone.
//
//   node bench/admission.mjs [--seconds 10] [--connections 200]
import { fork } from 'node:child_process';
import { Agent, request } from 'node:https';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const SECONDS = Number(arg('seconds', '10'));
const CONNECTIONS = Number(arg('connections', '200'));
const dist = new URL('../dist/', import.meta.url);

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

function reviewBody(i) {
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
      object: POD,
      oldObject: null,
      dryRun: false,
    },
  });
}

// ------------------------------------------------------------------------------------------------
// server side (child process)

async function serve(mode) {
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

async function load(port, ca, seconds, connections, cpuOf) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections, ca });
  const body = reviewBody(0);
  // Warm up: open every connection (TLS handshakes) and let V8 optimise.
  await Promise.all(Array.from({ length: connections }, () => post(agent, port, ca, body)));
  const warmEnd = Date.now() + 2000;
  await Promise.all(Array.from({ length: connections }, async () => { while (Date.now() < warmEnd) await post(agent, port, ca, body); }));
  const latencies = [];
  let failures = 0;
  const cpuBefore = await cpuOf();
  const started = Date.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < end) {
        const r = await post(agent, port, ca, body);
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

async function measure(mode) {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', mode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
    return { ...(await load(info.port, info.ca, SECONDS, CONNECTIONS, cpuOf)), assignments: info.assignments };
  } finally {
    child.kill('SIGTERM');
  }
}

async function inProcess() {
  // Evaluation cost alone, without HTTP: one review through the handler, many times.
  const { silentLogger, systemClock } = await import(new URL('core/index.js', dist));
  const policy = await import(new URL('policy/index.js', dist));
  const library = policy.loadLibrary();
  const PARAMS = { 'allowed-images': { allowedContainerImagesRegex: '^registry\\.example\\.com/.+$' }, 'resource-limits': { cpuLimit: '2', memoryLimit: '4Gi' }, 'service-allowed-ports': { allowedServicePortsList: ['80', '443'] } };
  const assignments = [...library.policies.values()].map(({ policy: p }) => ({ name: p.id, policy: p.id, effect: p.effects.includes('Deny') ? 'Deny' : 'Audit', match: {}, parameters: PARAMS[p.id] ?? {} }));
  const engine = policy.createPolicyEngine(policy.bindAssignments(library, assignments));
  const handler = policy.createAdmissionHandler({ engine, audit: policy.createMemoryAuditSink(10), clock: systemClock, log: silentLogger });
  const body = JSON.parse(reviewBody(0));
  const first = await handler.review(body);
  for (let i = 0; i < 300; i++) await handler.review(body);
  const n = 2000;
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const t0 = cpu();
  for (let i = 0; i < n; i++) await handler.review(body);
  const perReview = (cpu() - t0) / n;
  return { perReview, allowed: first.response.allowed, warnings: first.response.warnings ?? [], audit: first.response.auditAnnotations };
}

if (args[0] === '--serve') {
  await serve(args[1]);
} else {
  const alone = await inProcess();
  console.log(`evaluation alone (handler, no HTTP): ${alone.perReview.toFixed(3)} CPU-ms per review (${(1000 / alone.perReview).toFixed(0)} reviews per CPU-second); allowed=${alone.allowed}`);
  const bare = await measure('fastify');
  const ours = await measure('palisade');
  const row = (name, r) =>
    `${name.padEnd(34)} ${r.rps.toFixed(0).padStart(8)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${r.max.toFixed(1).padStart(8)} ${String(r.failures).padStart(6)} ${r.cpuPerReview.toFixed(3).padStart(12)} ${(1000 / r.cpuPerReview).toFixed(0).padStart(10)}`;
  console.log(`\nadmission load: ${CONNECTIONS} keep-alive HTTPS connections over loopback, ${SECONDS} s each, 3-container pod`);
  console.log(`${'endpoint'.padEnd(34)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)} ${'fails'.padStart(6)} ${'server CPU-ms'.padStart(12)} ${'per CPU-s'.padStart(10)}`);
  console.log(row('bare Fastify (fixed response)', bare));
  console.log(row(`palisade (${ours.assignments} policies assigned)`, ours));
  console.log(`overhead: throughput ${(bare.rps / ours.rps).toFixed(2)}x lower, p99 ${(ours.p99 / bare.p99).toFixed(2)}x higher, server CPU per review ${(ours.cpuPerReview / bare.cpuPerReview).toFixed(2)}x`);
  const load = (await import('node:os')).loadavg()[0];
  console.log(`machine load average during the run: ${load.toFixed(1)} on ${(await import('node:os')).cpus().length} cores`);
  console.log(`goal: p99 < 10 ms ${ours.p99 < 10 ? 'met' : 'NOT met'}; >= 2000 reviews/s ${ours.rps >= 2000 ? 'met' : 'NOT met'}`);
}
