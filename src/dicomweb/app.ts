/**
 * The DICOMweb origin server (PS3.18) as a fastify application (ADR 0008): the Studies Service
 * under basePath (QIDO-RS §10.6, WADO-RS §10.4, STOW-RS §10.5), built on the archive's ports only.
 * The composition root (server/http.ts) listens; tests call inject() or listen on port 0.
 *
 * Request bodies are never parsed by the framework: STOW-RS reads the raw request stream through
 * the multipart parser, so a body of any size passes in bounded memory.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import Fastify, { type FastifyInstance } from 'fastify';
import { makeContext, type DicomWebOptions } from './context.js';
import { DicomWebError, errorBody, httpStatusOf, notFound } from './http-error.js';
import { registerQido } from './qido.js';
import { registerMetadata } from './wado-metadata.js';
import { registerRetrieve } from './wado-retrieve.js';
import { registerStow, stowBoundary } from './stow.js';
import { contentCodings } from './content-coding.js';
import { registerBulkdata } from './bulkdata.js';
import { registerBulkdataResources } from './bulkdata-resources.js';
import { registerFrames } from './frames.js';
import { registerPixelData } from './pixeldata.js';
import { registerWadoUri } from './wado-uri.js';
import { Capabilities } from './capabilities/index.js';
import { applyAcceptParameter } from './accept-parameter.js';
import { registerRendered } from './rendered/route.js';

export type { DicomWebOptions } from './context.js';

/** The answer to give a request before reading its body, if its headers already condemn it. */
function refuseBeforeBody(basePath: string, request: IncomingMessage): { status: number; error: unknown } | undefined {
  const path = (request.url ?? '').split('?')[0]!;
  if (request.method !== 'POST' || !path.startsWith(`${basePath}/studies`) || !/^\/studies(\/[^/]+)?\/?$/.test(path.slice(basePath.length))) return undefined;
  try {
    stowBoundary(request.headers['content-type']);
    contentCodings(request.headers['content-encoding']);
    return undefined;
  } catch (error) {
    return { status: httpStatusOf(error), error };
  }
}

/** Whether an error comes from the client closing the connection while its request body was read. */
function clientWentAway(error: unknown, request: IncomingMessage): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (code === 'ECONNRESET' || code === 'ECONNABORTED' || (error as Error | null)?.message === 'aborted') && !request.complete;
}

export function createDicomWebApp(options: DicomWebOptions): FastifyInstance {
  const ctx = makeContext(options);
  const app = Fastify({
    logger: false,
    // Uploads of gigabytes take their time; the socket's idle timeout still applies.
    requestTimeout: 0,
    // Study UIDs make long paths.
    routerOptions: { maxParamLength: 1024 },
    exposeHeadRoutes: true,
    serverFactory: (handler) => {
      // HTTPS (RFC 9110 §4.2.2; TLS as PS3.15 Annex B profiles it): the same server over node:https, whose Server
      // has node:http's events and settings.
      const tls = options.https;
      // With CAs a client must present a certificate that verifies against them, or the handshake fails.
      const clientCertificates = tls?.ca !== undefined ? { ca: [...tls.ca], requestCert: true, rejectUnauthorized: true } : {};
      const server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert, ...clientCertificates }, handler) as unknown as Server : createServer(handler);
      // What fastify sets on a server it creates: uploads of gigabytes must not hit a request timeout.
      server.requestTimeout = 0;
      server.keepAliveTimeout = 72_000;
      // Expect: 100-continue (RFC 9110 §10.1.1): a STOW-RS request whose media type cannot be
      // stored is refused before the client sends its body; the others are told to go on.
      server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
        const refusal = refuseBeforeBody(ctx.basePath, request);
        if (refusal) {
          const extra = refusal.error instanceof DicomWebError ? refusal.error.headers : {};
          response.writeHead(refusal.status, { ...extra, 'Content-Type': 'application/json', Connection: 'close' });
          response.end(JSON.stringify(errorBody(refusal.error, refusal.status)));
          return;
        }
        response.writeContinue();
        handler(request, response);
      });
      return server;
    },
  });
  const wadoUriPath = options.wadoUriPath ?? '/wado';
  // Before any route: the Capabilities Description is built from the routes registered.
  const capabilities = new Capabilities(ctx, wadoUriPath);
  capabilities.collect(app);
  app.removeAllContentTypeParsers();
  // Bodies stay streams (request.raw); routes that take one read it themselves.
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  const cors = options.corsOrigins ?? [];
  if (cors.length) {
    app.addHook('onRequest', async (request, reply) => {
      const origin = request.headers.origin;
      if (origin === undefined) return;
      if (cors.includes('*')) reply.header('Access-Control-Allow-Origin', '*');
      else if (cors.includes(origin)) reply.header('Access-Control-Allow-Origin', origin).header('Vary', 'Origin');
      else return;
      reply.header('Access-Control-Expose-Headers', 'Warning, Content-Location, Content-Range, Location, Allow, ETag, Accept-Ranges');
      if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) {
        // Fetch §3.2.2 (CORS-preflight): the methods are the resource's own, as its Allow lists
        // them; a path that names no resource gets none, so the browser stops before the request.
        const allow = capabilities.allowOf(request.url);
        if (allow === undefined) return;
        reply.header('Access-Control-Allow-Methods', allow);
        reply.header('Access-Control-Allow-Headers', request.headers['access-control-request-headers'] ?? 'Accept, Content-Type');
        reply.header('Access-Control-Max-Age', '600');
        await reply.code(204).send();
      }
    });
  }

  app.setErrorHandler((error, request, reply) => {
    const status = httpStatusOf(error);
    // A client that goes away while its body is read (an upload cancelled) is not a server fault:
    // no stack trace at error level, and nobody to answer.
    if (clientWentAway(error, request.raw)) {
      ctx.log('warn', `${request.method} ${request.url}: the client closed the connection before the request body ended (${(error as Error).message})`);
      reply.raw.destroy();
      return;
    }
    if (status >= 500) ctx.log('error', `${request.method} ${request.url}: ${(error as Error).stack ?? String(error)}`);
    else ctx.log('info', `${request.method} ${request.url}: ${status} ${(error as Error).message}`);
    if (error instanceof DicomWebError) for (const [k, v] of Object.entries(error.headers)) reply.header(k, v);
    // A body sent in part cannot be replaced by an error: the connection is cut instead.
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy(error as Error);
      return;
    }
    void reply.code(status).type('application/json').send(JSON.stringify(errorBody(error, status)));
  });
  // PS3.18 §8.3.3.1: the accept query parameter stands for the Accept header field.
  app.addHook('onRequest', async (request) => {
    if (request.url.includes('accept=') && request.url.startsWith(ctx.basePath)) applyAcceptParameter(request);
  });
  app.setNotFoundHandler((request, reply) => {
    const refused = capabilities.methodNotAllowed(request);
    if (refused) {
      void reply.code(405).header('Allow', refused.headers.Allow).type('application/json').send(JSON.stringify(errorBody(refused, 405)));
      return;
    }
    const path = request.url.split('?')[0]!;
    // Say where the resources are: "under /dicom-web" alone puzzles someone who asked for /dicom-web.
    const where = path === ctx.basePath || path.startsWith(`${ctx.basePath}/`)
      ? `the Studies Service's resources begin ${ctx.basePath}/studies, ${ctx.basePath}/series, ${ctx.basePath}/instances; OPTIONS ${ctx.basePath}/ describes them all`
      : `DICOMweb is under ${ctx.basePath}, WADO-URI at ${wadoUriPath}`;
    const e = notFound(`${request.method} ${path} is not a resource of this server (${where})`);
    void reply.code(404).type('application/json').send(JSON.stringify(errorBody(e, 404)));
  });

  void app.register(async (studies) => {
    registerQido(studies, ctx);
    registerMetadata(studies, ctx);
    registerRetrieve(studies, ctx);
    registerStow(studies, ctx);
    registerBulkdata(studies, ctx);
    registerBulkdataResources(studies, ctx);
    registerFrames(studies, ctx);
    registerPixelData(studies, ctx);
    registerRendered(studies, ctx);
    capabilities.registerStudies(studies);
  }, { prefix: ctx.basePath });
  registerWadoUri(app, ctx, wadoUriPath);
  capabilities.registerUri(app);
  return app;
}
