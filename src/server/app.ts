import swagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { AppError, isAppError } from '../core/index.js';
import type { AppDeps } from './deps.js';
import { alertRoutes } from './routes/alerts.js';
import { auditRoutes } from './routes/audit.js';
import { clusterRoutes } from './routes/clusters.js';
import { disableRuleRoutes } from './routes/disable-rules.js';
import { healthRoutes } from './routes/health.js';
import { DISTRIBUTION_MEDIA_TYPE, hookRoutes } from './routes/hooks.js';
import { imageRoutes } from './routes/images.js';
import { scanRoutes } from './routes/scans.js';
import { sensorRoutes } from './routes/sensor.js';
import { usageRoutes } from './routes/usage.js';
import { vulnerabilityRoutes } from './routes/vulnerabilities.js';

/**
 * The Fastify app: thin routes over the services, one error shape ({"error": {"code", "message"}}),
 * request bodies capped (server.bodyLimit), the OpenAPI document at /openapi.json. Validation is
 * zod's inside each route; the JSON Schemas given to Fastify only feed the document.
 */
function fastifyErrorToApp(error: FastifyError, routeBodyLimit: number | undefined, serverBodyLimit: number): AppError {
  const status = error.statusCode ?? 500;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
    // Routes with their own limit (audit webhook, sensor batches) name it in bytes; the others name the setting.
    const limit = routeBodyLimit === undefined || routeBodyLimit === serverBodyLimit ? 'the limit is server.bodyLimit bytes' : `the limit of this endpoint is ${routeBodyLimit} bytes`;
    return new AppError('TOO_LARGE', `request body too large; ${limit}`);
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415) return new AppError('UNSUPPORTED', `unsupported content type; send application/json${error.message ? ` (${error.message})` : ''}`);
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return new AppError('BAD_INPUT', 'empty JSON body; send a JSON document');
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return new AppError('BAD_INPUT', `request body is not valid JSON: ${error.message}`);
  if (status >= 400 && status < 500) return new AppError('BAD_INPUT', error.message);
  return new AppError('INTERNAL', 'internal error', { cause: error });
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: deps.config.server.bodyLimit, routerOptions: { maxParamLength: 300 }, return503OnClosing: true });
  app.setValidatorCompiler(() => (data) => ({ value: data }));
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Palisade server API', version: '0.1.0', description: 'Continuous registry scanning, findings, CI gate, disable rules, usage, threat alerts (audit webhook, node sensors).' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
    },
  });
  app.addContentTypeParser(DISTRIBUTION_MEDIA_TYPE, { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const appError = isAppError(error) ? error : fastifyErrorToApp(error, request.routeOptions.bodyLimit, deps.config.server.bodyLimit);
    const fields = { method: request.method, url: request.url, code: appError.code, status: appError.status };
    if (appError.status >= 500) deps.log.error({ ...fields, error: error.message, stack: error.stack }, 'request failed');
    else deps.log.info({ ...fields, error: appError.message }, 'request refused');
    void reply.status(appError.status).send({ error: { code: appError.code, message: appError.expose ? appError.message : 'internal error; see the server log' } });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}; see /openapi.json` } });
  });
  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.inc('palisade_http_requests_total', { route: request.routeOptions.url ?? 'unmatched', status: `${Math.floor(reply.statusCode / 100)}xx` });
  });

  healthRoutes(app, deps);
  imageRoutes(app, deps);
  vulnerabilityRoutes(app, deps);
  scanRoutes(app, deps);
  hookRoutes(app, deps);
  disableRuleRoutes(app, deps);
  clusterRoutes(app, deps);
  usageRoutes(app, deps);
  alertRoutes(app, deps);
  sensorRoutes(app, deps);
  await app.register(async (scope) => auditRoutes(scope, deps));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
