import type { Cataloger } from '../types.js';
import { baseName, isInsideInstalledPackage } from '../generic.js';
import { parseAuditableBinary } from './auditable.js';
import { parseCargoLock } from './cargo-lock.js';

export const cargoLockCataloger = {
  id: 'rust-cargo-lock',
  version: 1,
  matches: (path) => baseName(path) === 'Cargo.lock' && !isInsideInstalledPackage(path),
  parse: (file) => ({ packages: parseCargoLock(file).packages }),
} satisfies Cataloger;

/** Largest executable read for a cargo-auditable section. */
export const MAX_RUST_BINARY_BYTES = 256 * 1024 * 1024;

/** Rust executables built with cargo-auditable (`.dep-v0` ELF section). */
export const cargoAuditableCataloger = {
  id: 'rust-cargo-auditable',
  version: 1,
  matches: (_path, info) => (info.mode & 0o111) !== 0 && info.size > 0 && info.size < MAX_RUST_BINARY_BYTES,
  parse: (file) => ({ packages: parseAuditableBinary(file).packages }),
} satisfies Cataloger;
