import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../core/index.js';

/** Request helpers shared by the routes: zod parsing into AppErrors, token auth, JSON Schema for the OpenAPI document. */
export type Role = 'reader' | 'admin';
export interface Principal {
  name: string;
  role: Role;
}

export function parseInput<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid';
  throw new AppError('BAD_INPUT', `${what}: ${where}`);
}

/** JSON Schema (draft-07) of a zod schema, for the OpenAPI document (validation itself is zod's). */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const out: Record<string, unknown> = { ...z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'any' }) };
  delete out.$schema;
  return out;
}

function digestOf(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Constant-time comparison of a presented secret with the expected one. */
export function secretEquals(presented: string, expected: string): boolean {
  return timingSafeEqual(digestOf(presented), digestOf(expected));
}

export function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const m = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return m?.[1];
}

export interface Authenticator {
  require(request: FastifyRequest, role: Role): Principal;
}

export function createAuthenticator(tokens: readonly { name: string; token: string; role: Role }[]): Authenticator {
  return {
    require(request, role) {
      const presented = bearer(request);
      if (!presented) throw new AppError('UNAUTHORIZED', 'missing token: send "Authorization: Bearer <token>"');
      const match = tokens.find((t) => secretEquals(presented, t.token));
      if (!match) throw new AppError('UNAUTHORIZED', 'unknown token; check the token configured under auth.tokens');
      if (role === 'admin' && match.role !== 'admin') throw new AppError('FORBIDDEN', `token "${match.name}" has the reader role; this request needs an admin token`);
      return { name: match.name, role: match.role };
    },
  };
}

export const SECURITY = [{ bearerAuth: [] }];
export const digestParam = z.object({ digest: z.string().regex(/^sha256:[a-f0-9]{64}$/, 'expected sha256:<64 hex>') });
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
};
export const boolQuery = z.enum(['true', 'false']).transform((v) => v === 'true');

const idempotencyKeyHeader = z.string().regex(/^[\x21-\x7e]{1,200}$/, 'printable ASCII without spaces, at most 200 characters');

/** The Idempotency-Key of a batch request (the batch id), required so that a resent batch is stored once. */
export function idempotencyKey(request: FastifyRequest): string {
  const header = request.headers['idempotency-key'];
  if (typeof header !== 'string') throw new AppError('BAD_INPUT', 'missing Idempotency-Key header: send the batch id, so a resent batch is stored once');
  return parseInput(idempotencyKeyHeader, header, 'Idempotency-Key header');
}

/**
 * The items of a batch that have `schema`'s shape, and the others counted by their first problem
 * (at most 20 distinct reasons; `what` names an item in the fallback reason). A batch is stored
 * without its bad items, never refused whole for them.
 */
export function validBatchItems<T>(items: readonly unknown[], schema: z.ZodType<T>, what: string): { valid: T[]; rejected: number; reasons: Record<string, number> } {
  const valid: T[] = [];
  const reasons: Record<string, number> = {};
  for (const raw of items) {
    const parsed = schema.safeParse(raw);
    if (parsed.success) {
      valid.push(parsed.data);
      continue;
    }
    const issue = parsed.error.issues[0];
    const reason = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : `invalid ${what}`;
    if (reason in reasons || Object.keys(reasons).length < 20) reasons[reason] = (reasons[reason] ?? 0) + 1;
  }
  return { valid, rejected: items.length - valid.length, reasons };
}

/** A machine sender (kube-apiserver's audit webhook, a node sensor) known by its bearer token. */
export interface Sender {
  name: string;
  cluster?: string;
}

export interface SenderAuthenticator {
  require(request: FastifyRequest): Sender;
}

/** Bearer tokens of one kind of sender; `setting` names the config key in messages. With no token configured the endpoint is off (403). */
export function createSenderAuthenticator(tokens: readonly { name: string; token: string; cluster?: string }[], setting: string): SenderAuthenticator {
  return {
    require(request) {
      if (tokens.length === 0) throw new AppError('FORBIDDEN', `this endpoint is off: configure ${setting}`);
      const presented = bearer(request);
      if (!presented) throw new AppError('UNAUTHORIZED', 'missing token: send "Authorization: Bearer <token>"');
      const match = tokens.find((t) => secretEquals(presented, t.token));
      if (!match) throw new AppError('UNAUTHORIZED', `unknown token; check the tokens configured under ${setting}`);
      return match.cluster !== undefined ? { name: match.name, cluster: match.cluster } : { name: match.name };
    },
  };
}
