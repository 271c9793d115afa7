import { readFile } from 'node:fs/promises';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';

/**
 * Registry credentials: explicit username/password, or what `docker login` left in
 * ~/.docker/config.json — `auths.<host>.auth` (base64 "user:password"), `credHelpers.<host>` or
 * `credsStore` (run `docker-credential-<name> get` with the host on stdin). The config path is
 * injected: this module never reads the environment.
 */

export interface Credentials {
  username: string;
  password: string;
}

export type CredentialHelperRunner = (helper: string, serverUrl: string) => Promise<Credentials | undefined>;

const HELPER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Runs docker-credential-<helper> get. "credentials not found" is not an error: the registry may be public. */
export const runDockerCredentialHelper: CredentialHelperRunner = async (helper, serverUrl) => {
  if (!HELPER_NAME.test(helper)) {
    throw new AppError('BAD_INPUT', `credential helper name "${helper}" in the docker config is not a plain name`);
  }
  const [{ execFile }, { helperOutputSchema }] = await Promise.all([import('node:child_process'), import('./schemas.js')]);
  return new Promise((resolve, reject) => {
    const child = execFile(`docker-credential-${helper}`, ['get'], { timeout: 10_000, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        if (/credentials not found/i.test(`${stdout}${stderr}`)) return resolve(undefined);
        return reject(
          new AppError('UNAUTHORIZED', `docker-credential-${helper} failed for ${serverUrl}: ${stderr.trim() || error.message}; check that the helper is installed and logged in`, {
            cause: error,
          }),
        );
      }
      try {
        const parsed = helperOutputSchema.parse(JSON.parse(stdout));
        resolve({ username: parsed.Username, password: parsed.Secret });
      } catch (cause) {
        reject(new AppError('UNAUTHORIZED', `docker-credential-${helper} printed something that is not {Username, Secret} JSON`, { cause }));
      }
    });
    child.stdin?.end(serverUrl);
  });
};

/** The keys under which `docker login` may have stored a host. */
export function credentialKeys(registry: string): string[] {
  if (registry === 'docker.io') {
    return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io', 'https://registry-1.docker.io'];
  }
  return [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
}

export interface DockerConfigOptions {
  /** Path of config.json (the CLI passes $DOCKER_CONFIG/config.json or ~/.docker/config.json). */
  configPath: string;
  runHelper?: CredentialHelperRunner;
  log?: Logger;
}

/** Looks up credentials for a registry host; undefined when the config has none (anonymous access). */
export async function dockerConfigCredentials(registry: string, options: DockerConfigOptions): Promise<Credentials | undefined> {
  let text: string;
  try {
    text = await readFile(options.configPath, 'utf8');
  } catch {
    return undefined;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new AppError('BAD_INPUT', `${options.configPath} is not valid JSON; fix or remove it`, { cause });
  }
  const { dockerConfigSchema } = await import('./schemas.js');
  const parsed = dockerConfigSchema.safeParse(raw);
  if (!parsed.success) throw new AppError('BAD_INPUT', `${options.configPath} does not look like a docker config.json; fix or remove it`);
  const config = parsed.data;
  const keys = credentialKeys(registry);
  const runHelper = options.runHelper ?? runDockerCredentialHelper;

  for (const key of keys) {
    const helper = config.credHelpers?.[key];
    if (helper) return runHelper(helper, key);
  }
  for (const key of keys) {
    const entry = config.auths?.[key];
    if (!entry) continue;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) throw new AppError('BAD_INPUT', `the auth entry for ${key} in ${options.configPath} is not base64 "user:password"; run docker login again`);
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
    if (config.credsStore) return runHelper(config.credsStore, key);
  }
  if (config.credsStore) return runHelper(config.credsStore, keys[0] ?? registry);
  return undefined;
}
