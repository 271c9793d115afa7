import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unwatchFile, watchFile, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { AppError, errorMessage, type Logger } from '../core/index.js';

/**
 * TLS material for the webhook: a certificate and key from files (cert-manager mounts them and
 * renews them in place: the files are polled and the server reloads them), or a self-signed CA and
 * serving certificate generated at start. Node 20 cannot sign X.509 certificates itself, so the
 * self-signed pair is made by the `openssl` CLI (EC P-256 keys); the CA certificate is what goes in
 * the ValidatingWebhookConfiguration's caBundle.
 */

export interface TlsMaterial {
  cert: string;
  key: string;
  /** The CA that signed `cert` (self-signed mode), for caBundle. */
  ca?: string;
}

export interface SelfSignedOptions {
  /** DNS names (and IP addresses) the serving certificate is valid for. */
  names: readonly string[];
  days?: number;
  /** The openssl binary (default `openssl` on PATH). */
  openssl?: string;
}

/** The DNS names the API server uses to reach a Service. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

function run(openssl: string, args: readonly string[]): void {
  try {
    execFileSync(openssl, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
  } catch (error) {
    throw new AppError('UNSUPPORTED', `could not create a self-signed certificate with ${openssl} (${errorMessage(error).split('\n')[0] ?? ''}): install openssl or pass --tls-cert and --tls-key`);
  }
}

export function generateSelfSigned(options: SelfSignedOptions): TlsMaterial {
  const openssl = options.openssl ?? 'openssl';
  if (options.names.length === 0) throw new AppError('BAD_INPUT', 'a self-signed certificate needs at least one DNS name');
  const dir = mkdtempSync(join(tmpdir(), 'palisade-tls-'));
  try {
    const days = String(options.days ?? 825);
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    run(openssl, ['req', '-x509', ...ec, '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '3650', '-subj', '/CN=palisade-admission-ca']);
    run(openssl, ['req', ...ec, '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.csr'), '-subj', `/CN=${options.names[0] ?? 'palisade'}`]);
    const san = options.names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
    writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n`);
    run(openssl, ['x509', '-req', '-in', join(dir, 'tls.csr'), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', join(dir, 'tls.crt'), '-days', days, '-extfile', join(dir, 'ext.cnf')]);
    return {
      cert: readFileSync(join(dir, 'tls.crt'), 'utf8'),
      key: readFileSync(join(dir, 'tls.key'), 'utf8'),
      ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function readTlsFiles(certFile: string, keyFile: string): TlsMaterial {
  try {
    return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  } catch (error) {
    throw new AppError('NOT_FOUND', `cannot read the TLS certificate or key (${errorMessage(error)}): check --tls-cert and --tls-key`);
  }
}

/** Polls the files and calls `onChange` with the new material; returns a function that stops watching. */
export function watchTlsFiles(certFile: string, keyFile: string, onChange: (material: TlsMaterial) => void, log: Logger, intervalMs = 2000): () => void {
  let timer: NodeJS.Timeout | undefined;
  const listener = (): void => {
    // cert-manager writes both files; wait a moment so a reload sees the pair, not half of it.
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      try {
        onChange(readTlsFiles(certFile, keyFile));
        log.info({ certFile }, 'reloaded the TLS certificate');
      } catch (error) {
        log.error({ certFile, error: errorMessage(error) }, 'could not reload the TLS certificate; keeping the old one');
      }
    }, 200);
    timer.unref();
  };
  watchFile(certFile, { interval: intervalMs, persistent: false }, listener);
  watchFile(keyFile, { interval: intervalMs, persistent: false }, listener);
  return () => {
    unwatchFile(certFile, listener);
    unwatchFile(keyFile, listener);
    if (timer) clearTimeout(timer);
  };
}
