/**
 * Capabilities (PS3.18 §8.9: "OPTIONS" on a resource): the methods each resource allows, in the
 * Allow header, and for the service root a small JSON description of what this origin server
 * does (resources, media types, query parameters), so a client can see what is supported.
 */
import type { FastifyInstance } from 'fastify';
import { UNCOMPRESSED_TRANSFER_SYNTAXES } from '../data/transfer-syntax.js';
import type { DicomWebContext } from './context.js';

export const CAPABILITIES = Object.freeze({
  service: 'Studies Service (PS3.18 §10)',
  transactions: {
    search: { resources: ['/studies', '/studies/{study}/series', '/series', '/studies/{study}/series/{series}/instances', '/studies/{study}/instances', '/instances'], mediaTypes: ['application/dicom+json', 'multipart/related; type="application/dicom+xml"'], parameters: ['{attribute}={value}', 'includefield', 'fuzzymatching', 'emptyvaluematching', 'multiplevaluematching', 'limit', 'offset'] },
    retrieve: {
      resources: ['/studies/{study}', '/studies/{study}/series/{series}', '/studies/{study}/series/{series}/instances/{instance}', '.../metadata', '.../instances/{instance}/bulkdata/{path}', '.../instances/{instance}/frames/{list}'],
      mediaTypes: ['multipart/related; type="application/dicom"', 'application/dicom+json', 'multipart/related; type="application/dicom+xml"', 'application/octet-stream', 'multipart/related; type="application/octet-stream"'],
      transferSyntaxes: ['*', ...UNCOMPRESSED_TRANSFER_SYNTAXES],
      rendered: { resources: ['.../rendered', '.../thumbnail', '.../frames/{list}/rendered'], mediaTypes: ['image/jpeg', 'image/png', 'image/gif'], parameters: ['window', 'quality', 'viewport'], transferSyntaxes: UNCOMPRESSED_TRANSFER_SYNTAXES },
    },
    store: { resources: ['/studies', '/studies/{study}'], mediaTypes: ['multipart/related; type="application/dicom"'] },
    wadoUri: { contentTypes: ['application/dicom'] },
  },
});

export function registerCapabilities(app: FastifyInstance, ctx: DicomWebContext): void {
  app.options('/', async (_request, reply) => reply.header('Allow', 'GET, HEAD, OPTIONS').type('application/json').send(JSON.stringify(CAPABILITIES)));
  app.options('/*', async (request, reply) => {
    const path = request.url.split('?')[0]!.slice(ctx.basePath.length);
    const allow = /^\/studies(\/[^/]+)?$/.test(path) ? 'GET, HEAD, POST, OPTIONS' : 'GET, HEAD, OPTIONS';
    return reply.code(204).header('Allow', allow).send();
  });
}
