import { AppError } from '../core/index.js';

export interface JsonLimits {
  /** Largest document accepted, in bytes. */
  maxBytes: number;
  /** Deepest nesting of arrays and objects accepted. */
  maxDepth: number;
}

export const DEFAULT_LIMITS: JsonLimits = { maxBytes: 256 * 1024 * 1024, maxDepth: 128 };

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Deepest nesting of `{`/`[` outside strings; a single pass over the bytes, before JSON.parse. */
export function jsonDepth(bytes: Uint8Array): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return max;
}

/** Parses a JSON document within the size and depth limits; errors name the file and the problem. */
export function parseJsonDocument(bytes: Uint8Array, file: string, limits: JsonLimits = DEFAULT_LIMITS): unknown {
  if (bytes.length > limits.maxBytes) {
    throw new AppError('TOO_LARGE', `${file}: ${bytes.length} bytes is more than the ${limits.maxBytes}-byte limit for package lists and SBOMs`, {
      details: { file, size: bytes.length },
    });
  }
  const depth = jsonDepth(bytes);
  if (depth > limits.maxDepth) {
    throw new AppError('BAD_INPUT', `${file}: JSON nested ${depth} levels deep, more than the limit of ${limits.maxDepth}`, {
      details: { file, depth },
    });
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8').replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text);
  } catch (error) {
    const trimmed = text.trimStart();
    const hint = trimmed.startsWith('<')
      ? ' (XML documents are not supported: export the SBOM as JSON)'
      : trimmed.startsWith('SPDXVersion')
        ? ' (SPDX tag-value is not supported: export the SBOM as SPDX JSON)'
        : '';
    throw new AppError('BAD_INPUT', `${file}: not valid JSON${hint}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      details: { file },
    });
  }
}
