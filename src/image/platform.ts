import { AppError } from '../core/errors.js';

/**
 * Image platforms (`os/arch[/variant]`). Kept apart from oci.ts and its zod schemas so that the scan
 * command can name the platform it wants without loading them (a cached re-scan parses no manifest).
 */

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH_OF_NODE: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** The platform of a Node `process.arch` value (the caller passes it; this module does not read the process). */
export function platformOfNodeArch(arch: string): Platform {
  const architecture = ARCH_OF_NODE[arch] ?? arch;
  if (architecture === 'arm64') return { os: 'linux', architecture, variant: 'v8' };
  if (architecture === 'arm') return { os: 'linux', architecture, variant: 'v7' };
  return { os: 'linux', architecture };
}

/** Parses 'linux/amd64', 'linux/arm64/v8', 'linux/arm/v7'. */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  const [os, architecture, variant] = parts;
  if (parts.length < 2 || parts.length > 3 || !os || !architecture) {
    throw new AppError('BAD_INPUT', `invalid platform "${text}"; write os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8`);
  }
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}
