// Audit-log analysis throughput. Goal: at least 50,000 events/s on one core, and at most 3× the
// floor of reading the same file and JSON.parse-ing each line, measured in the same run.
// Run after `npm run build`: node bench/audit.mjs [events]   (default 1,000,000)
//
// It writes a file of realistic audit events into a temp dir — controllers and kubelets watching,
// listing and updating (leases, endpoints, pods, nodes), humans using kubectl, pods created with
// their specs, secrets read by kubelets — with a few attacks mixed in (exec, privileged pod, miner
// image, cluster-admin binding, anonymous access, kube-hunter, a secret-read burst, a failed-request
// burst) and a few broken lines; then times `palisade audit analyze FILE --format jsonl` as a child
// process (pinned to one core with taskset when available) and reports its peak RSS (VmHWM).
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync, closeSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(repoRoot, 'dist/cli/main.js');
if (!existsSync(cli)) {
  console.log('audit bench skipped: dist/cli/main.js is missing; run `npm run build` first');
  process.exit(0);
}
const TOTAL = Number(process.argv[2] ?? 1_000_000);
const GOAL_RATE = 50_000;
const GOAL_RATIO = 3;

// ---------------------------------------------------------------------------------------------
// Generator (deterministic: a small LCG, no Math.random)
let seed = 0x2f6b1d;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 0x100000000);
const pick = (list) => list[Math.floor(rnd() * list.length)];
const hex = (n) => Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join('');
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;

const START = Date.parse('2026-11-20T08:00:00Z');
const NODES = Array.from({ length: 40 }, (_, i) => `ip-10-0-${Math.floor(i / 10) + 1}-${20 + i}.eu-west-1.compute.internal`);
const NAMESPACES = ['default', 'shop', 'payments', 'data', 'monitoring', 'ingress', 'ci', 'kube-system'];
const APPS = ['api', 'web', 'worker', 'cart', 'checkout', 'search', 'orders-db', 'redis', 'prometheus', 'grafana'];
const HUMANS = ['alice@example.com', 'bob@example.com', 'carol@example.com', 'deploy-bot@example.com'];
const KCM = (name) => `system:serviceaccount:kube-system:${name}`;
const CONTROLLERS = ['replicaset-controller', 'deployment-controller', 'endpointslice-controller', 'daemon-set-controller', 'job-controller', 'statefulset-controller', 'namespace-controller', 'generic-garbage-collector'];
const CM_UA = 'kube-controller-manager/v1.30.4 (linux/amd64) kubernetes/a51b3b7/system:serviceaccount:kube-system:';
const KUBELET_UA = 'kubelet/v1.30.4 (linux/amd64) kubernetes/a51b3b7';
const KUBECTL_UA = 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350';

function podName(app) {
  return `${app}-${hex(9)}-${hex(5)}`;
}

function event(atMs, fields) {
  const t = new Date(atMs).toISOString().replace('Z', '123Z');
  const t2 = new Date(atMs + 7).toISOString();
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: fields.level ?? 'Metadata',
    auditID: uuid(),
    stage: 'ResponseComplete',
    requestURI: fields.requestURI,
    verb: fields.verb,
    user: fields.user,
    sourceIPs: fields.sourceIPs,
    userAgent: fields.userAgent,
    ...(fields.objectRef ? { objectRef: fields.objectRef } : {}),
    responseStatus: { metadata: {}, code: fields.code ?? 200 },
    ...(fields.requestObject ? { requestObject: fields.requestObject } : {}),
    ...(fields.responseObject ? { responseObject: fields.responseObject } : {}),
    requestReceivedTimestamp: t,
    stageTimestamp: t2,
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': fields.reason ?? '' },
  };
}

const saUser = (name) => ({ username: KCM(name), uid: hex(8), groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] });
const nodeUser = (node) => ({ username: `system:node:${node}`, groups: ['system:nodes', 'system:authenticated'] });
const human = (name) => ({ username: name, groups: ['developers', 'system:authenticated'] });

function podSpec(app, image, extra = {}) {
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name: podName(app), namespace: 'shop', labels: { app, 'pod-template-hash': hex(9) }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${app}-${hex(9)}`, uid: uuid(), controller: true }] },
    spec: {
      containers: [
        {
          name: app,
          image,
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          env: [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'PORT', value: '8080' }],
          volumeMounts: [{ name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
          securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false },
        },
      ],
      serviceAccountName: app,
      volumes: [{ name: 'kube-api-access', projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }] } }],
      ...extra,
    },
  };
}

/** One ordinary event. */
function ordinary(atMs) {
  const r = rnd();
  if (r < 0.22) {
    // Node lease renewals.
    const node = pick(NODES);
    return event(atMs, { requestURI: `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node}?timeout=10s`, verb: 'update', user: nodeUser(node), sourceIPs: [`10.0.${node.split('-')[3]}.${node.split('-')[4].split('.')[0]}`], userAgent: KUBELET_UA, objectRef: { resource: 'leases', namespace: 'kube-node-lease', name: node, apiGroup: 'coordination.k8s.io', apiVersion: 'v1' } });
  }
  if (r < 0.37) {
    // Controller watches and lists.
    const c = pick(CONTROLLERS);
    const resource = pick(['pods', 'endpoints', 'replicasets', 'deployments', 'nodes', 'configmaps']);
    const group = resource === 'replicasets' || resource === 'deployments' ? 'apps' : '';
    const verb = pick(['watch', 'list', 'get']);
    return event(atMs, { requestURI: `/${group ? `apis/${group}` : 'api'}/v1/${resource}?allowWatchBookmarks=true&resourceVersion=${Math.floor(rnd() * 1e7)}&watch=true`, verb, user: saUser(c), sourceIPs: ['10.0.0.10'], userAgent: CM_UA + c, objectRef: { resource, apiVersion: 'v1', ...(group ? { apiGroup: group } : {}) } });
  }
  if (r < 0.52) {
    // Kubelet pod status patches.
    const node = pick(NODES);
    const ns = pick(NAMESPACES);
    const name = podName(pick(APPS));
    return event(atMs, { requestURI: `/api/v1/namespaces/${ns}/pods/${name}/status`, verb: 'patch', user: nodeUser(node), sourceIPs: ['10.0.1.20'], userAgent: KUBELET_UA, objectRef: { resource: 'pods', subresource: 'status', namespace: ns, name, apiVersion: 'v1' } });
  }
  if (r < 0.62) {
    // Kubelets reading the secrets and configmaps of their pods.
    const node = pick(NODES);
    const ns = pick(NAMESPACES);
    const resource = rnd() < 0.5 ? 'secrets' : 'configmaps';
    const name = `${pick(APPS)}-${resource === 'secrets' ? 'credentials' : 'config'}`;
    return event(atMs, { requestURI: `/api/v1/namespaces/${ns}/${resource}/${name}`, verb: 'get', user: nodeUser(node), sourceIPs: ['10.0.2.31'], userAgent: KUBELET_UA, objectRef: { resource, namespace: ns, name, apiVersion: 'v1' } });
  }
  if (r < 0.72) {
    // Endpoint and endpointslice updates.
    const ns = pick(NAMESPACES);
    const name = pick(APPS);
    return event(atMs, { requestURI: `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/${name}-${hex(5)}`, verb: 'update', user: saUser('endpointslice-controller'), sourceIPs: ['10.0.0.10'], userAgent: `${CM_UA}endpointslice-controller`, objectRef: { resource: 'endpointslices', namespace: ns, name: `${name}-${hex(5)}`, apiGroup: 'discovery.k8s.io', apiVersion: 'v1' } });
  }
  if (r < 0.8) {
    // Pods created by the replicaset controller, with their spec (RequestResponse level for pods).
    const app = pick(APPS);
    const pod = podSpec(app, `registry.example.com/shop/${app}:2.${Math.floor(rnd() * 40)}.${Math.floor(rnd() * 10)}`);
    return event(atMs, { level: 'Request', requestURI: '/api/v1/namespaces/shop/pods', verb: 'create', user: saUser('replicaset-controller'), sourceIPs: ['10.0.0.10'], userAgent: `${CM_UA}replicaset-controller`, objectRef: { resource: 'pods', namespace: 'shop', name: pod.metadata.name, apiVersion: 'v1' }, code: 201, requestObject: pod });
  }
  if (r < 0.86) {
    // Humans with kubectl.
    const who = pick(HUMANS);
    const ns = pick(NAMESPACES);
    const resource = pick(['pods', 'deployments', 'services', 'events', 'configmaps']);
    const verb = pick(['get', 'list', 'list', 'watch']);
    return event(atMs, { requestURI: `/api/v1/namespaces/${ns}/${resource}?limit=500`, verb, user: human(who), sourceIPs: [`10.8.0.${Math.floor(rnd() * 200) + 2}`], userAgent: KUBECTL_UA, objectRef: { resource, namespace: ns, apiVersion: 'v1', ...(resource === 'deployments' ? { apiGroup: 'apps' } : {}) } });
  }
  if (r < 0.9) {
    // Deployments applied by CI (RequestResponse).
    const app = pick(APPS);
    const dep = { kind: 'Deployment', apiVersion: 'apps/v1', metadata: { name: app, namespace: 'shop', labels: { app } }, spec: { replicas: 3, selector: { matchLabels: { app } }, template: { metadata: { labels: { app } }, spec: podSpec(app, `registry.example.com/shop/${app}:2.${Math.floor(rnd() * 40)}.0`).spec } } };
    return event(atMs, { level: 'RequestResponse', requestURI: `/apis/apps/v1/namespaces/shop/deployments/${app}?fieldManager=kubectl-client-side-apply&fieldValidation=Strict`, verb: 'patch', user: human('deploy-bot@example.com'), sourceIPs: ['10.9.0.4'], userAgent: KUBECTL_UA, objectRef: { resource: 'deployments', namespace: 'shop', name: app, apiGroup: 'apps', apiVersion: 'v1' }, requestObject: { spec: { template: { spec: { containers: [{ name: app, image: dep.spec.template.spec.containers[0].image }] } } } }, responseObject: dep });
  }
  if (r < 0.95) {
    // Leader-election leases of the control plane.
    const who = pick(['kube-scheduler', 'kube-controller-manager', 'cloud-controller-manager']);
    return event(atMs, { requestURI: `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${who}?timeout=5s`, verb: 'update', user: { username: `system:${who}`, groups: ['system:authenticated'] }, sourceIPs: ['10.0.0.10'], userAgent: `${who}/v1.30.4 (linux/amd64) kubernetes/a51b3b7/leader-election`, objectRef: { resource: 'leases', namespace: 'kube-system', name: who, apiGroup: 'coordination.k8s.io', apiVersion: 'v1' } });
  }
  // Non-resource requests: anonymous health probes, authenticated discovery.
  if (rnd() < 0.6) {
    return event(atMs, { requestURI: pick(['/healthz', '/readyz', '/livez', '/version']), verb: 'get', user: { username: 'system:anonymous', groups: ['system:unauthenticated'] }, sourceIPs: ['10.0.0.1'], userAgent: 'kube-probe/1.30' });
  }
  const c = pick(CONTROLLERS);
  return event(atMs, { requestURI: pick(['/api', '/apis', '/openapi/v3']), verb: 'get', user: saUser(c), sourceIPs: ['10.0.0.10'], userAgent: CM_UA + c });
}

/** The attacks, at fixed positions. */
function attacks(atMs) {
  const out = [];
  out.push(event(atMs, { requestURI: '/api/v1/namespaces/payments/pods/api-5c9d7b8f4-qx2lm/exec?command=sh&stdin=true&tty=true', verb: 'create', user: human('mallory@example.com'), sourceIPs: ['10.8.0.66'], userAgent: KUBECTL_UA, objectRef: { resource: 'pods', subresource: 'exec', namespace: 'payments', name: 'api-5c9d7b8f4-qx2lm', apiVersion: 'v1' }, code: 101 }));
  out.push(event(atMs + 1, { level: 'Request', requestURI: '/api/v1/namespaces/default/pods', verb: 'create', user: human('mallory@example.com'), sourceIPs: ['10.8.0.66'], userAgent: KUBECTL_UA, objectRef: { resource: 'pods', namespace: 'default', name: 'debug', apiVersion: 'v1' }, code: 201, requestObject: podSpec('debug', 'docker.io/library/alpine:3.20', { hostPID: true, volumes: [{ name: 'host', hostPath: { path: '/' } }] }) }));
  out.at(-1).requestObject.spec.containers[0].securityContext = { privileged: true };
  out.push(event(atMs + 2, { level: 'Request', requestURI: '/apis/apps/v1/namespaces/default/deployments', verb: 'create', user: human('mallory@example.com'), sourceIPs: ['10.8.0.66'], userAgent: KUBECTL_UA, objectRef: { resource: 'deployments', namespace: 'default', name: 'helper', apiGroup: 'apps', apiVersion: 'v1' }, code: 201, requestObject: { kind: 'Deployment', apiVersion: 'apps/v1', metadata: { name: 'helper' }, spec: { template: { spec: { containers: [{ name: 'x', image: 'docker.io/someone/xmrig:6.21.0' }] } } } } }));
  out.push(event(atMs + 3, { level: 'RequestResponse', requestURI: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', verb: 'create', user: human('mallory@example.com'), sourceIPs: ['10.8.0.66'], userAgent: KUBECTL_UA, objectRef: { resource: 'clusterrolebindings', name: 'backdoor', apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1' }, code: 201, requestObject: { kind: 'ClusterRoleBinding', apiVersion: 'rbac.authorization.k8s.io/v1', metadata: { name: 'backdoor' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'default' }] } }));
  out.push(event(atMs + 4, { requestURI: '/api/v1/namespaces/kube-system/secrets', verb: 'list', user: { username: 'system:anonymous', groups: ['system:unauthenticated'] }, sourceIPs: ['198.51.100.14'], userAgent: 'curl/8.5.0', objectRef: { resource: 'secrets', namespace: 'kube-system', apiVersion: 'v1' } }));
  out.push(event(atMs + 5, { requestURI: '/api/v1/namespaces', verb: 'list', user: { username: 'system:anonymous', groups: ['system:unauthenticated'] }, sourceIPs: ['192.168.49.1'], userAgent: 'kube-hunter/0.6.8', objectRef: { resource: 'namespaces', apiVersion: 'v1' }, code: 403 }));
  for (let i = 0; i < 35; i++) {
    out.push(event(atMs + 10 + i * 500, { requestURI: `/api/v1/namespaces/payments/secrets/s${i}`, verb: 'get', user: human('mallory@example.com'), sourceIPs: ['10.8.0.66'], userAgent: KUBECTL_UA, objectRef: { resource: 'secrets', namespace: 'payments', name: `s${i}`, apiVersion: 'v1' } }));
  }
  for (let i = 0; i < 25; i++) {
    out.push(event(atMs + 20 + i * 300, { requestURI: '/api/v1/namespaces/kube-system/secrets', verb: 'list', user: { username: 'system:serviceaccount:default:default', groups: ['system:serviceaccounts', 'system:authenticated'] }, sourceIPs: ['203.0.113.77'], userAgent: KUBECTL_UA, objectRef: { resource: 'secrets', namespace: 'kube-system', apiVersion: 'v1' }, code: 403 }));
  }
  return out;
}

function generate(file) {
  const fd = openSync(file, 'w');
  const attackAt = new Set([Math.floor(TOTAL * 0.25), Math.floor(TOTAL * 0.5), Math.floor(TOTAL * 0.75)]);
  const stepMs = (10 * 3600 * 1000) / TOTAL;
  let batch = [];
  let written = 0;
  let bad = 0;
  for (let i = 0; written < TOTAL; i++) {
    const at = START + i * stepMs;
    if (attackAt.has(i)) {
      const list = attacks(at);
      for (const e of list) batch.push(JSON.stringify(e));
      written += list.length;
    }
    if (i % 200_000 === 100_000) {
      batch.push('{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"trunc'); // truncated line
      batch.push('E1120 08:00:01.000000       1 audit.go:42] not json at all');
      batch.push('{"kind":"Event","apiVersion":"audit.k8s.io/v2alpha9","verb":"get"}');
      bad += 3;
    }
    batch.push(JSON.stringify(ordinary(at)));
    written += 1;
    if (batch.length >= 5000) {
      writeSync(fd, `${batch.join('\n')}\n`);
      batch = [];
    }
  }
  if (batch.length > 0) writeSync(fd, `${batch.join('\n')}\n`);
  closeSync(fd);
  return { bad };
}

// ---------------------------------------------------------------------------------------------
// The floor: read the file and JSON.parse each line, in this process.
async function floor(file) {
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  let lines = 0;
  let carry = '';
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024, encoding: 'utf8' })) {
    const text = carry + chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl === -1) break;
      try {
        JSON.parse(text.slice(start, nl));
      } catch {
        // broken lines count as read
      }
      lines += 1;
      start = nl + 1;
    }
    carry = text.slice(start);
  }
  const cpu = process.cpuUsage(cpuStart);
  return { lines, seconds: (performance.now() - started) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function analyze(file) {
  const taskset = spawnSync('taskset', ['--version']).status === 0;
  const args = [cli, 'audit', 'analyze', file, '--format', 'jsonl'];
  const [cmd, argv] = taskset ? ['taskset', ['-c', '0', process.execPath, ...args]] : [process.execPath, args];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const devnull = openSync('/dev/null', 'w');
    const child = spawn(cmd, argv, { stdio: ['ignore', devnull, 'pipe'] });
    let stderr = '';
    let hwmKb = 0;
    let cpuTicks = 0;
    child.stderr.on('data', (d) => (stderr += d));
    // With taskset the child is `taskset` exec'ing node, so the pid is node's after the exec.
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwmKb = Math.max(hwmKb, Number(m[1]));
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        cpuTicks = Math.max(cpuTicks, Number(fields[11]) + Number(fields[12]));
      } catch {
        // the process ended between polls
      }
    }, 50);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      closeSync(devnull);
      resolve({ code, stderr, seconds: (performance.now() - started) / 1000, cpuSeconds: cpuTicks / CLK_TCK, hwmKb, pinned: taskset });
    });
  });
}

// PALISADE_BENCH_AUDIT_KEEP=DIR keeps the generated file in DIR (to look at the alerts).
const keep = process.env.PALISADE_BENCH_AUDIT_KEEP;
const dir = keep ?? mkdtempSync(path.join(tmpdir(), 'palisade-audit-bench-'));
try {
  const file = path.join(dir, 'audit.log');
  const genStart = performance.now();
  const { bad } = generate(file);
  const bytes = statSync(file).size;
  console.log(`generated ${TOTAL} events (+${bad} broken lines), ${(bytes / 1e6).toFixed(0)} MB (avg ${Math.round(bytes / TOTAL)} B/event) in ${((performance.now() - genStart) / 1000).toFixed(1)} s`);

  const f = await floor(file);
  console.log(`floor (read + JSON.parse each line): ${f.seconds.toFixed(2)} s wall, ${f.cpuSeconds.toFixed(2)} s CPU, ${Math.round(f.lines / f.seconds)} lines/s`);

  const run = await analyze(file);
  if (run.code !== 0) {
    console.log(`palisade audit analyze exited with ${run.code}:\n${run.stderr}`);
    process.exitCode = 1;
  } else {
    const rate = TOTAL / run.seconds;
    const ratio = run.seconds / f.seconds;
    const cpuRate = TOTAL / run.cpuSeconds;
    const cpuRatio = run.cpuSeconds / f.cpuSeconds;
    console.log(`palisade audit analyze${run.pinned ? ' (taskset -c 0)' : ''}: ${run.seconds.toFixed(2)} s wall, ${run.cpuSeconds.toFixed(2)} s CPU (process start included)`);
    console.log(`  ${run.stderr.trim().split('\n').join('\n  ')}`);
    // Wall time suffers when other processes share the core; CPU time is what one core spends.
    console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
    console.log(`events/s: ${Math.round(rate)} wall, ${Math.round(cpuRate)} per CPU-second (goal ≥ ${GOAL_RATE})  ${cpuRate >= GOAL_RATE ? 'OK' : 'MISSED'}`);
    console.log(`ratio to floor: ${ratio.toFixed(2)}× wall, ${cpuRatio.toFixed(2)}× CPU (goal ≤ ${GOAL_RATIO}×)  ${cpuRatio <= GOAL_RATIO ? 'OK' : 'MISSED'}`);
    console.log(`peak RSS (VmHWM): ${(run.hwmKb / 1024).toFixed(0)} MB`);
  }
} finally {
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
