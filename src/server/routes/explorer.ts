import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { AppError, isAppError, type Clock } from '../../core/index.js';
import { compileQuery } from '../../kube/cli-api.js';
import { MAX_QUERY_LIMIT, type ClusterSync } from '../cluster-sync.js';
import { SECURITY, jsonSchema, parseInput, type Authenticator } from '../http.js';

/**
 * The security explorer over the configured clusters' latest inventory graphs (docs/explorer.md for
 * the language), and saved queries. A query that does not compile or fails on the graph answers 400
 * with the position ("query error at 1:17: …" and `position: {line, column, offset}`).
 */

const runOptions = {
  clusters: z.array(z.string().min(1).max(200)).max(100).optional().describe('clusters to query (default: every configured cluster)'),
  limit: z.number().int().min(1).max(MAX_QUERY_LIMIT).optional().describe('elements of a list result returned at most (default 1000); `truncated` says when more matched'),
};
const queryBody = z.object({ query: z.string().min(1).max(16_384), ...runOptions });
const runBody = z.object(runOptions);
const savedBody = z.object({ name: z.string().min(1).max(200), query: z.string().min(1).max(16_384), description: z.string().max(2000).default('') });
const idParam = z.object({ id: z.string().uuid() });

/** Sends a query error with its position (the language's line:column message); anything else is thrown on. */
function queryError(error: unknown, reply: FastifyReply): FastifyReply {
  if (isAppError(error) && error.code === 'BAD_INPUT' && typeof error.details.line === 'number' && typeof error.details.column === 'number') {
    return reply.status(400).send({ error: { code: error.code, message: error.message, position: { line: error.details.line, column: error.details.column, offset: error.details.offset } } });
  }
  throw error;
}

/** A saved query must compile: the same 400 with its position as a run. */
function checkQuery(text: string): void {
  compileQuery(text);
}

export function explorerRoutes(app: FastifyInstance, deps: { auth: Authenticator; clusters: ClusterSync; clock: Clock }): void {
  const { auth, clusters, clock } = deps;
  const queries = clusters.queries;

  const runOptionsOf = (body: { clusters?: string[] | undefined; limit?: number | undefined }): { clusters?: string[]; limit?: number } => ({
    ...(body.clusters ? { clusters: body.clusters } : {}),
    ...(body.limit !== undefined ? { limit: body.limit } : {}),
  });

  app.post('/api/v1/explorer/query', { schema: { summary: "Run an explorer query (CEL) over the clusters' latest inventory", tags: ['explorer'], security: SECURITY, body: jsonSchema(queryBody) } }, async (request, reply) => {
    auth.require(request, 'reader');
    const body = parseInput(queryBody, request.body, 'query');
    try {
      return await clusters.query(body.query, runOptionsOf(body));
    } catch (error) {
      return queryError(error, reply);
    }
  });

  app.get('/api/v1/explorer/queries', { schema: { summary: 'Saved explorer queries', tags: ['explorer'], security: SECURITY } }, async (request) => {
    auth.require(request, 'reader');
    return { queries: await queries.listQueries() };
  });

  app.post('/api/v1/explorer/queries', { schema: { summary: 'Save an explorer query (it must compile)', tags: ['explorer'], security: SECURITY, body: jsonSchema(savedBody) } }, async (request, reply) => {
    const principal = auth.require(request, 'admin');
    const body = parseInput(savedBody, request.body, 'saved query');
    try {
      checkQuery(body.query);
    } catch (error) {
      return queryError(error, reply);
    }
    const saved = await queries.createQuery({ ...body, author: principal.name }, clock.now());
    if (!saved) throw new AppError('CONFLICT', `a saved query named "${body.name}" exists already; choose another name or PUT /api/v1/explorer/queries/{id}`);
    return reply.status(201).send(saved);
  });

  app.get('/api/v1/explorer/queries/:id', { schema: { summary: 'One saved query', tags: ['explorer'], security: SECURITY, params: jsonSchema(idParam) } }, async (request) => {
    auth.require(request, 'reader');
    const { id } = parseInput(idParam, request.params, 'path');
    const saved = await queries.getQuery(id);
    if (!saved) throw new AppError('NOT_FOUND', `no saved query ${id}; GET /api/v1/explorer/queries lists them`);
    return saved;
  });

  app.put(
    '/api/v1/explorer/queries/:id',
    { schema: { summary: 'Replace a saved query (name, query, description)', tags: ['explorer'], security: SECURITY, params: jsonSchema(idParam), body: jsonSchema(savedBody) } },
    async (request, reply) => {
      const principal = auth.require(request, 'admin');
      const { id } = parseInput(idParam, request.params, 'path');
      const body = parseInput(savedBody, request.body, 'saved query');
      try {
        checkQuery(body.query);
      } catch (error) {
        return queryError(error, reply);
      }
      const saved = await queries.updateQuery(id, body, principal.name, clock.now());
      if (!saved) throw new AppError('NOT_FOUND', `no saved query ${id}; GET /api/v1/explorer/queries lists them`);
      return saved;
    },
  );

  app.delete('/api/v1/explorer/queries/:id', { schema: { summary: 'Delete a saved query', tags: ['explorer'], security: SECURITY, params: jsonSchema(idParam) } }, async (request, reply) => {
    auth.require(request, 'admin');
    const { id } = parseInput(idParam, request.params, 'path');
    if (!(await queries.deleteQuery(id))) throw new AppError('NOT_FOUND', `no saved query ${id}`);
    return reply.status(204).send();
  });

  app.post(
    '/api/v1/explorer/queries/:id/run',
    { schema: { summary: 'Run a saved query', tags: ['explorer'], security: SECURITY, params: jsonSchema(idParam), body: jsonSchema(runBody) } },
    async (request, reply) => {
      auth.require(request, 'reader');
      const { id } = parseInput(idParam, request.params, 'path');
      const body = parseInput(runBody, request.body, 'run options');
      const saved = await queries.getQuery(id);
      if (!saved) throw new AppError('NOT_FOUND', `no saved query ${id}; GET /api/v1/explorer/queries lists them`);
      try {
        return { query: saved, ...(await clusters.query(saved.query, runOptionsOf(body))) };
      } catch (error) {
        return queryError(error, reply);
      }
    },
  );
}
