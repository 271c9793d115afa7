import { z } from 'zod';
import { AppError, SEVERITIES, errorMessage, severityRank, type Severity } from '../core/index.js';
import { FIX_STATES } from '../core/index.js';

/**
 * A small client of the server API for the CLI: the CI gate (wait for an image's findings and judge
 * them) and the usage report. Every response is parsed with zod.
 */
export interface ApiClientOptions {
  server: string;
  token: string;
  fetch?: typeof fetch;
}

const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

async function call<T>(options: ApiClientOptions, path: string, schema: z.ZodType<T>, post?: { body: unknown }): Promise<{ status: number; body?: T; error?: string }> {
  const doFetch = options.fetch ?? fetch;
  const url = new URL(path, options.server.endsWith('/') ? options.server : `${options.server}/`);
  let response: Response;
  try {
    const headers: Record<string, string> = { authorization: `Bearer ${options.token}`, accept: 'application/json' };
    if (post) headers['content-type'] = 'application/json';
    response = await doFetch(url, { headers, signal: AbortSignal.timeout(30_000), ...(post ? { method: 'POST', body: JSON.stringify(post.body) } : {}) });
  } catch (cause) {
    throw new AppError('UPSTREAM', `cannot reach the Palisade server at ${url.origin}: ${errorMessage(cause)}`, { cause });
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('UPSTREAM', `${url.origin} answered HTTP ${response.status} with a body that is not JSON; is --server a Palisade server?`);
  }
  if (!response.ok) {
    const parsed = errorBody.safeParse(json);
    return { status: response.status, error: parsed.success ? parsed.data.error.message : `HTTP ${response.status}` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new AppError('UPSTREAM', `unexpected answer from ${url.pathname}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return { status: response.status, body: parsed.data };
}

const gateFinding = z.object({
  advisoryId: z.string(),
  severity: z.enum(SEVERITIES),
  installedVersion: z.string(),
  fixedVersions: z.array(z.string()),
  fixState: z.enum(FIX_STATES),
  package: z.object({ name: z.string() }),
  kev: z.object({ cveId: z.string() }).optional(),
  disabledBy: z.object({ name: z.string() }).optional(),
});
const gateBody = z.object({ digest: z.string(), status: z.enum(['pending', 'done', 'failed']), error: z.string().optional(), findings: z.array(gateFinding) });
const resolveBody = z.object({ digest: z.string() });

export interface GateOptions extends ApiClientOptions {
  image: string;
  failOn: Severity;
  timeoutMs: number;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export type GateOutcome =
  | { result: 'pass'; digest: string; findings: number; disabled: number }
  | { result: 'fail'; digest: string; reasons: string[] }
  | { result: 'error'; digest?: string; message: string };

export async function runGate(options: GateOptions): Promise<GateOutcome> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? (() => Date.now());
  const deadline = now() + options.timeoutMs;
  const pollMs = options.pollMs ?? 2000;
  let digest: string | undefined;
  let lastState = 'not yet pushed';
  while (now() <= deadline) {
    if (!digest) {
      const resolved = await call(options, `api/v1/images/resolve?reference=${encodeURIComponent(options.image)}`, resolveBody);
      if (resolved.body) digest = resolved.body.digest;
      else if (resolved.status !== 404) return { result: 'error', message: resolved.error ?? `HTTP ${resolved.status}` };
    }
    if (digest) {
      const answer = await call(options, `api/v1/images/${digest}/findings`, gateBody);
      if (answer.body) {
        const body = answer.body;
        if (body.status === 'failed') return { result: 'error', digest, message: `the scan of ${digest} failed: ${body.error ?? 'no reason recorded'}` };
        if (body.status === 'done') {
          const shown = body.findings.filter((f) => !f.disabledBy);
          const failing = shown.filter((f) => severityRank(f.severity) >= severityRank(options.failOn));
          if (failing.length === 0) return { result: 'pass', digest, findings: shown.length, disabled: body.findings.length - shown.length };
          return {
            result: 'fail',
            digest,
            reasons: failing.map(
              (f) =>
                `${f.advisoryId} ${f.severity} ${f.package.name} ${f.installedVersion} ${f.fixedVersions.length > 0 ? `(fixed in ${f.fixedVersions.join(', ')})` : `(${f.fixState})`}${f.kev ? ' [known exploited]' : ''}`,
            ),
          };
        }
        lastState = 'scan pending';
      } else if (answer.status !== 404) {
        return { result: 'error', digest, message: answer.error ?? `HTTP ${answer.status}` };
      }
    }
    await sleep(pollMs);
  }
  return { result: 'error', ...(digest ? { digest } : {}), message: `timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${options.image} (${lastState})` };
}

const usageBody = z.object({
  month: z.string(),
  digestsScanned: z.number(),
  cores: z.number(),
  coresSource: z.string(),
  previousMonthCores: z.number(),
  freeDigests: z.number(),
  extraDigests: z.number(),
  cost: z.object({ currency: z.string(), cores: z.number(), extraDigests: z.number(), total: z.number() }),
});
export type UsageAnswer = z.infer<typeof usageBody>;

export async function fetchUsage(options: ApiClientOptions, month?: string): Promise<UsageAnswer> {
  const answer = await call(options, `api/v1/usage${month ? `?month=${encodeURIComponent(month)}` : ''}`, usageBody);
  if (!answer.body) throw new AppError(answer.status === 401 || answer.status === 403 ? 'UNAUTHORIZED' : 'UPSTREAM', `usage request refused: ${answer.error ?? answer.status}`);
  return answer.body;
}

const explorerAnswer = z.object({
  clusters: z.array(z.string()),
  builtAt: z.record(z.string(), z.string()),
  problems: z.record(z.string(), z.array(z.string())),
  result: z.json(),
  count: z.number(),
  truncated: z.boolean(),
});
export type ExplorerAnswer = z.infer<typeof explorerAnswer>;

/** `POST /api/v1/explorer/query`: the server's clusters instead of local input; a query error keeps the server's line:column message. */
export async function runExplorerQuery(options: ApiClientOptions, request: { query: string; clusters?: string[]; limit?: number }): Promise<ExplorerAnswer> {
  const answer = await call(options, 'api/v1/explorer/query', explorerAnswer, { body: request });
  if (answer.body) return answer.body;
  const code = answer.status === 400 ? 'BAD_INPUT' : answer.status === 404 ? 'NOT_FOUND' : answer.status === 401 || answer.status === 403 ? 'UNAUTHORIZED' : 'UPSTREAM';
  throw new AppError(code, `the server refused the query: ${answer.error ?? `HTTP ${answer.status}`}`);
}
