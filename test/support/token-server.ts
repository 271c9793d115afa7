import { execFileSync } from 'node:child_process';
import { randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

/**
 * A token server for the Distribution registry's bearer-token auth (the flow Docker Hub, GHCR and
 * most registries use): it checks Basic credentials and issues RS256 JWTs whose x5c header carries
 * a self-signed certificate (made with openssl) that the registry trusts as its root bundle.
 */
export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certPath: string;
  /** Scopes of the tokens issued, in order, for assertions. */
  issued: string[];
  close(): Promise<void>;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export async function startTokenServer(dir: string, user: { username: string; password: string }): Promise<TokenServer> {
  const keyPath = join(dir, 'token-key.pem');
  const certPath = join(dir, 'token-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=palisade-test-token-issuer'], {
    stdio: 'ignore',
  });
  const key = readFileSync(keyPath);
  const der = execFileSync('openssl', ['x509', '-in', certPath, '-outform', 'DER']);
  const service = 'palisade-test-registry';
  const issuer = 'palisade-test-issuer';
  const issued: string[] = [];
  const expected = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ details: 'incorrect username or password' }));
      return;
    }
    const scope = url.searchParams.get('scope') ?? '';
    issued.push(scope);
    const access = scope
      ? [{ type: scope.split(':')[0], name: scope.split(':')[1], actions: (scope.split(':')[2] ?? '').split(',').filter(Boolean) }]
      : [];
    const now = Math.floor(Date.now() / 1000);
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [der.toString('base64')] }));
    const claims = base64url(JSON.stringify({ iss: issuer, sub: user.username, aud: url.searchParams.get('service') ?? service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access }));
    const signature = base64url(sign('sha256', Buffer.from(`${header}.${claims}`), key));
    const token = `${header}.${claims}.${signature}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    issued,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
