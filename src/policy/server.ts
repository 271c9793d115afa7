import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAppError, errorMessage, type Logger } from '../core/index.js';
import type { AdmissionHandler, AuditRecord } from './admission.js';
import type { TlsMaterial } from './tls.js';

/**
 * The HTTPS webhook server (node:https, no framework: the hot path is one route). Routes:
 * `POST /validate` (AdmissionReview v1), `GET /healthz`, `GET /readyz`, `GET /metrics`
 * (Prometheus text), `GET /audit` (recent audit records). Bodies are capped, slow clients are cut
 * off by the socket timeouts, every review has a deadline, and no error escapes to crash the process.
 */

export interface AdmissionServerOptions {
  handler: AdmissionHandler;
  tls: TlsMaterial;
  port?: number;
  host?: string;
  log: Logger;
  /** Largest request body, bytes (default 6 MiB: the API server's own limit is 3 MiB per object, a review carries two). */
  maxBodyBytes?: number;
  /** Hard deadline of one review, ms (default 9 s, below the webhook's 10 s maximum). */
  reviewTimeoutMs?: number;
  auditRecords?: () => AuditRecord[];
}

export interface AdmissionServer {
  readonly port: number;
  readonly server: Server;
  setTls(material: TlsMaterial): void;
  close(): Promise<void>;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > max) {
      reject(new BodyTooLarge(`request body of ${declared} bytes is over the ${max}-byte limit`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        reject(new BodyTooLarge(`request body is over the ${max}-byte limit`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function metricsText(handler: AdmissionHandler): string {
  const c = handler.counters;
  const lines = [
    ['palisade_admission_reviews_total', 'AdmissionReviews answered', c.reviews],
    ['palisade_admission_denied_total', 'reviews denied', c.denied],
    ['palisade_admission_warned_total', 'reviews answered with warnings', c.warned],
    ['palisade_admission_audited_total', 'reviews with Audit violations', c.audited],
    ['palisade_admission_dry_run_total', 'dry-run reviews (evaluated, not recorded)', c.dryRun],
    ['palisade_admission_evaluation_errors_total', 'policy evaluations that failed (alert on this)', c.evaluationErrors],
    ['palisade_admission_bad_requests_total', 'bodies that were not AdmissionReviews', c.badRequests],
  ] as const;
  return lines.map(([name, help, value]) => `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name} ${value}\n`).join('');
}

export async function startAdmissionServer(options: AdmissionServerOptions): Promise<AdmissionServer> {
  const { handler, log } = options;
  const maxBody = options.maxBodyBytes ?? 6 * 1024 * 1024;
  const reviewTimeout = options.reviewTimeoutMs ?? 9_000;

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    if (req.method === 'GET') {
      if (path === '/healthz' || path === '/readyz') return send(res, 200, 'ok');
      if (path === '/metrics') return send(res, 200, metricsText(handler));
      if (path === '/audit' && options.auditRecords) return send(res, 200, { records: options.auditRecords() });
      return send(res, 404, { error: `no route GET ${path}` });
    }
    if (req.method !== 'POST' || (path !== '/validate' && path !== '/')) return send(res, 404, { error: `no route ${req.method ?? ''} ${path}: POST AdmissionReviews to /validate` });
    let body: unknown;
    try {
      const raw = await readBody(req, maxBody);
      body = JSON.parse(raw.toString('utf8'));
    } catch (error) {
      if (error instanceof BodyTooLarge) return send(res, 413, { error: error.message });
      return send(res, 400, { error: `the body is not JSON (${errorMessage(error)}): send an AdmissionReview v1 object` });
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), reviewTimeout);
    });
    try {
      const result = await Promise.race([handler.review(body), deadline]);
      if (result === 'timeout') {
        log.error({ timeoutMs: reviewTimeout }, 'admission review timed out');
        return send(res, 504, { error: `the review took longer than ${reviewTimeout} ms` });
      }
      return send(res, 200, result);
    } catch (error) {
      if (isAppError(error) && error.expose) return send(res, error.status, { error: error.message });
      log.error({ error: errorMessage(error) }, 'admission review failed');
      return send(res, 500, { error: 'internal error while reviewing the request' });
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  const server = createServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, (req, res) => {
    onRequest(req, res).catch((error: unknown) => {
      log.error({ error: errorMessage(error) }, 'admission request handler failed');
      send(res, 500, { error: 'internal error' });
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.keepAliveTimeout = 65_000;
  server.on('clientError', (error, socket) => {
    log.debug({ error: errorMessage(error) }, 'client connection error');
    socket.destroy();
  });
  server.on('tlsClientError', (error) => log.debug({ error: errorMessage(error) }, 'TLS handshake failed'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8443, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? (address satisfies AddressInfo).port : (options.port ?? 8443);
  return {
    port,
    server,
    setTls(material) {
      server.setSecureContext({ cert: material.cert, key: material.key });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
