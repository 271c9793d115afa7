/**
 * The one error type of Palisade. `code` is stable and machine-readable, `status` is the HTTP status a
 * server answers with, and `expose` says whether `message` may be shown to a remote caller (5xx
 * messages never are). Messages say what was wrong with the input and what to do about it.
 */
export type ErrorCode =
  | 'BAD_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'TOO_LARGE'
  | 'UNSUPPORTED'
  | 'UPSTREAM'
  | 'TIMEOUT'
  | 'INTERNAL';

const STATUS_OF: Record<ErrorCode, number> = {
  BAD_INPUT: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TOO_LARGE: 413,
  UNSUPPORTED: 415,
  INTERNAL: 500,
  UPSTREAM: 502,
  TIMEOUT: 504,
};

export interface AppErrorOptions {
  cause?: unknown;
  /** Structured context for logs (file, layer, url ...); never sent to remote callers. */
  details?: Record<string, string | number | boolean | undefined>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;
  readonly details: Record<string, string | number | boolean | undefined>;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = STATUS_OF[code];
    this.expose = this.status < 500;
    this.details = options.details ?? {};
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/** A short, human-readable message for any thrown value. */
export function errorMessage(value: unknown): string {
  if (value instanceof Error) return value.message;
  return String(value);
}
