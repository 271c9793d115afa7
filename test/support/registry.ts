import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Starts Debian's `docker-registry` (the CNCF Distribution registry v2) on a free loopback port with
 * a temporary storage dir and config, optionally with htpasswd basic auth and notifications. Tests
 * push images into it with `skopeo`. A real registry, not a stand-in.
 */
export interface RegistryOptions {
  htpasswd?: { username: string; password: string };
  /** Token auth: realm URL, service name, issuer and the PEM certificate bundle that signs tokens. */
  token?: { realm: string; service: string; issuer: string; rootCertBundlePath: string };
  notifications?: { url: string; headers?: Record<string, string> };
}

export interface RunningRegistry {
  host: string;
  url: string;
  dir: string;
  stop(): Promise<void>;
}

export function registryAvailable(): boolean {
  return existsSync('/usr/bin/docker-registry') && existsSync('/usr/bin/skopeo');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function yamlString(value: string): string {
  return JSON.stringify(value);
}

export async function startRegistry(options: RegistryOptions = {}): Promise<RunningRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${yamlString(join(dir, 'data'))}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
    '  secret: palisade-test-secret',
  ];
  if (options.htpasswd) {
    const entry = execFileSync('htpasswd', ['-Bbn', options.htpasswd.username, options.htpasswd.password]).toString().trim();
    writeFileSync(join(dir, 'htpasswd'), entry + '\n');
    lines.push('auth:', '  htpasswd:', '    realm: palisade-test', `    path: ${yamlString(join(dir, 'htpasswd'))}`);
  } else if (options.token) {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${yamlString(options.token.realm)}`,
      `    service: ${yamlString(options.token.service)}`,
      `    issuer: ${yamlString(options.token.issuer)}`,
      `    rootcertbundle: ${yamlString(options.token.rootCertBundlePath)}`,
    );
  }
  if (options.notifications) {
    lines.push('notifications:', '  endpoints:', '    - name: palisade', `      url: ${yamlString(options.notifications.url)}`);
    const headers = options.notifications.headers ?? {};
    if (Object.keys(headers).length > 0) {
      lines.push('      headers:');
      for (const [key, value] of Object.entries(headers)) lines.push(`        ${key}: [${yamlString(value)}]`);
    }
    lines.push('      timeout: 2s', '      threshold: 3', '      backoff: 1s');
  }
  const configPath = join(dir, 'config.yml');
  writeFileSync(configPath, lines.join('\n') + '\n');

  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  const url = `http://${host}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${stderr}`);
    try {
      const response = await fetch(`${url}/v2/`);
      if (response.status === 200 || response.status === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not start on ${host}: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    host,
    url,
    dir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Copies an image into the registry with skopeo (plain HTTP, optional basic credentials). */
export function skopeoCopy(source: string, destination: string, creds?: { username: string; password: string }): void {
  const args = ['copy', '--quiet', '--dest-tls-verify=false'];
  if (creds) args.push('--dest-creds', `${creds.username}:${creds.password}`);
  args.push(source, destination);
  execFileSync('skopeo', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
}

/**
 * Copies an image into the registry with skopeo (plain HTTP, optional credentials). Asynchronous, so
 * that servers living in the test process (a token server) can answer skopeo meanwhile.
 */
export function skopeoCopyAsync(source: string, destination: string, creds?: { username: string; password: string }): Promise<void> {
  const args = ['copy', '--quiet', '--dest-tls-verify=false'];
  if (creds) args.push('--dest-creds', `${creds.username}:${creds.password}`);
  args.push(source, destination);
  return new Promise((resolve, reject) => {
    const child = spawn('skopeo', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`skopeo ${args.join(' ')} exited with ${code}: ${stderr}`));
    });
  });
}
