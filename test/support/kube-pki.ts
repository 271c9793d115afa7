import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The certificates of a test API server, made with the openssl CLI (EC P-256): a cluster CA, a
 * serving certificate for 127.0.0.1 signed by it, and a client certificate (CN = user, O = group)
 * signed by it, as kubeadm issues them for `kubectl` users.
 */
export interface KubePki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export function createKubePki(clientCn = 'palisade-admin', clientOrg = 'system:masters'): KubePki {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-kube-pki-'));
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const file = (name: string): string => join(dir, name);
  try {
    openssl('req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '2', '-subj', '/CN=kubernetes');
    const sign = (name: string, subject: string, ext: string): void => {
      openssl('req', ...ec, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', subject);
      writeFileSync(file(`${name}.cnf`), ext);
      openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file(`${name}.crt`), '-days', '2', '-extfile', file(`${name}.cnf`));
    };
    sign('server', '/CN=kube-apiserver', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    sign('client', `/O=${clientOrg}/CN=${clientCn}`, 'extendedKeyUsage=clientAuth\n');
    const read = (name: string): string => readFileSync(file(name), 'utf8');
    return { ca: read('ca.crt'), serverCert: read('server.crt'), serverKey: read('server.key'), clientCert: read('client.crt'), clientKey: read('client.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
