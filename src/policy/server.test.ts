import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger, systemClock } from '../core/index.js';
import { createAdmissionHandler, createMemoryAuditSink } from './admission.js';
import { createPolicyEngine } from './engine.js';
import { startAdmissionServer } from './server.js';
import { generateSelfSigned, readTlsFiles, watchTlsFiles } from './tls.js';

let opensslPresent = true;
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' });
} catch {
  opensslPresent = false;
  console.warn('skipping the TLS reload test: the openssl CLI is needed to make certificates');
}

function healthz(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/healthz', ca, servername: 'localhost', agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(text));
    })
      .on('error', reject)
      .end();
  });
}

describe.skipIf(!opensslPresent)('webhook TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reloads a renewed certificate from its files without a restart', async () => {
    const first = generateSelfSigned({ names: ['localhost'] });
    const second = generateSelfSigned({ names: ['localhost'] });
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    writeFileSync(cert, first.cert);
    writeFileSync(key, first.key);
    const handler = createAdmissionHandler({ engine: createPolicyEngine([]), audit: createMemoryAuditSink(), clock: systemClock, log: silentLogger });
    const server = await startAdmissionServer({ handler, tls: readTlsFiles(cert, key), port: 0, host: '127.0.0.1', log: silentLogger });
    let reloads = 0;
    const stop = watchTlsFiles(cert, key, (m) => {
      reloads += 1;
      server.setTls(m);
    }, silentLogger, 50);
    try {
      expect(await healthz(server.port, first.ca ?? '')).toBe('ok');
      await new Promise((r) => setTimeout(r, 1100));
      writeFileSync(cert, second.cert);
      writeFileSync(key, second.key);
      const started = Date.now();
      while (reloads === 0 && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 50));
      expect(reloads).toBeGreaterThan(0);
      expect(await healthz(server.port, second.ca ?? '')).toBe('ok');
      await expect(healthz(server.port, first.ca ?? '')).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    } finally {
      stop();
      await server.close();
    }
  });
});
