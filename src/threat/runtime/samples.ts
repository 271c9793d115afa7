import { z } from 'zod';
import { AppError } from '../../core/index.js';
import { runtimeEventSchema, type RuntimeEvent } from './event.js';

/**
 * Samples of runtime rules and detectors are written as the fields that matter, merged over a
 * complete, ordinary event: an application process starting in a Kubernetes pod. Objects merge key
 * by key, arrays and scalars replace, `null` removes a field (`container: null` makes a host
 * process). When a sample sets `process.args` without `process.cmdline`, the command line is the
 * arguments joined by spaces, as the collector builds it.
 */
export const SAMPLE_BASE_EVENT = {
  kind: 'exec',
  time: '2026-11-20T10:00:00.000Z',
  node: 'aks-nodepool1-38291742-vmss000002',
  source: 'proc',
  process: {
    pid: 4242,
    ppid: 4200,
    name: 'python3',
    exe: '/usr/local/bin/python3.12',
    args: ['python3', 'app.py'],
    cmdline: 'python3 app.py',
    cwd: '/app',
    uid: 1000,
    gid: 1000,
    startTime: '2026-11-20T10:00:00.000Z',
    capEff: '0000000000000000',
    ancestors: [
      { pid: 4200, name: 'containerd-shim', exe: '/usr/bin/containerd-shim-runc-v2', cmdline: '/usr/bin/containerd-shim-runc-v2 -namespace k8s.io -id 5d1c' },
      { pid: 1, name: 'systemd', exe: '/usr/lib/systemd/systemd', cmdline: '/sbin/init' },
    ],
    stdin: { type: 'null', target: '/dev/null', remote: '' },
    stdout: { type: 'pipe', target: 'pipe:[552101]', remote: '' },
    openFiles: [],
    netns: 'net:[4026532511]',
    container: {
      id: '5d1c0b7e1f9a4c2d8e3b6a7f0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d',
      runtime: 'containerd',
      name: 'api',
      podNamespace: 'shop',
      podName: 'api-7c9d8b7f5-x2k4q',
      podUid: '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d',
      image: 'registry.example.com/shop/api:2.14.1',
      imageDigest: 'sha256:3f1a9c0d2b4e6f8a0c2e4a6b8d0f2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f',
      labels: { app: 'api', 'pod-template-hash': '7c9d8b7f5' },
    },
  },
};

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function mergeSample(base: Json, patch: Json): Json {
  if (!isObject(base) || !isObject(patch)) return patch;
  const out: { [key: string]: Json } = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else {
      const prior = out[key];
      out[key] = prior === undefined ? value : mergeSample(prior, value);
    }
  }
  return out;
}

const jsonSchema: z.ZodType<Json> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonSchema), z.record(z.string(), jsonSchema)]),
);

/** One sample (YAML-decoded) → the runtime event it stands for; `index` moves its time along. */
export function sampleEvent(sample: unknown, index: number, where: string): RuntimeEvent {
  const patch = jsonSchema.safeParse(sample);
  if (!patch.success || !isObject(patch.data)) throw new AppError('BAD_INPUT', `${where}: a sample must be a mapping of event fields`);
  const base = jsonSchema.parse(SAMPLE_BASE_EVENT);
  const merged = mergeSample(base, patch.data);
  if (!isObject(merged)) throw new AppError('BAD_INPUT', `${where}: a sample must be a mapping of event fields`);
  const proc = patch.data.process;
  const mergedProc = merged.process;
  if (isObject(proc) && isObject(mergedProc) && Array.isArray(proc.args) && proc.cmdline === undefined) {
    mergedProc.cmdline = proc.args.map(String).join(' ');
  }
  if (patch.data.time === undefined) merged.time = new Date(Date.parse('2026-11-20T10:00:00.000Z') + index * 1000).toISOString();
  const parsed = runtimeEventSchema.safeParse(merged);
  if (!parsed.success) {
    throw new AppError('BAD_INPUT', `${where}: not a runtime event: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** Detector samples: scenarios of events in order; `repeat` expands one event n times, `every` apart. */
const stepSchema = z.object({
  repeat: z.number().int().min(1).max(10_000).optional(),
  every: z.string().regex(/^\d+(ms|s|m|h)$/).optional(),
  event: z.record(z.string(), z.unknown()),
});
const scenarioSchema = z.object({
  name: z.string().min(1),
  steps: z.array(stepSchema).min(1),
  /** How many alerts of this detector a fire scenario must raise (default 1); quiet scenarios raise none. */
  alerts: z.number().int().min(1).optional(),
});
export const runtimeDetectorSamplesSchema = z.strictObject({
  detector: z.string().min(1),
  params: z.record(z.string(), z.unknown()).optional(),
  /** The image file index the scenarios see (digest → paths), for the drift detector. */
  imageFiles: z.record(z.string(), z.array(z.string())).optional(),
  fire: z.array(scenarioSchema).min(1),
  quiet: z.array(scenarioSchema).min(1),
});
export type RuntimeDetectorSamples = z.infer<typeof runtimeDetectorSamplesSchema>;
export type RuntimeScenario = z.infer<typeof scenarioSchema>;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** The events of a scenario: each step's event merged over the base, repeated, with times and pids moved along. */
export function scenarioEvents(scenario: RuntimeScenario, where: string): RuntimeEvent[] {
  const out: RuntimeEvent[] = [];
  let atMs = Date.parse('2026-11-20T10:00:00.000Z');
  let n = 0;
  for (const step of scenario.steps) {
    const m = /^(\d+)(ms|s|m|h)$/.exec(step.every ?? '1s');
    const stepMs = Number(m?.[1] ?? 1) * (UNIT_MS[m?.[2] ?? 's'] ?? 1000);
    for (let i = 0; i < (step.repeat ?? 1); i++) {
      const event = sampleEvent({ ...step.event, time: new Date(atMs).toISOString() }, n, where);
      if (!('process' in step.event) || !hasPid(step.event.process)) event.process.pid = 5000 + n;
      out.push(event);
      atMs += stepMs;
      n += 1;
    }
  }
  return out;
}

function hasPid(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'pid' in value;
}
