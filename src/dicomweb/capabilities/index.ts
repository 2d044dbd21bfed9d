/**
 * The Retrieve Capabilities transaction (PS3.18 §8.9) and OPTIONS on every resource: the answer is
 * a Capabilities Description (Annex H), a WADL document whose "resources" base is the service's
 * base URL and which holds a "resource" element for the Target Resource with all its methods and
 * child resources (the whole tree for the service root). Media types (§8.9.4):
 * application/vnd.sun.wadl+xml (the default) or application/json (the WADL JSON of Annex G); any
 * other Accept is 406. The Allow header lists the resource's methods (RFC 9110 §9.3.7, §10.2.1),
 * an ETag lets a client revalidate (304 for a matching If-None-Match, Table 8.9.3-1), and a method
 * a resource does not have is 405 with Allow rather than 404.
 *
 * The resource tree is the routes fastify registered (resource-tree.ts), so the description cannot
 * name a resource the server does not serve, nor leave one out. WADO-URI (§9) is described by
 * OPTIONS on its own path, with the origin as base.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DicomWebContext } from '../context.js';
import { DicomWebError, notAcceptable, notFound } from '../http-error.js';
import { parseAccept, qualityOf } from '../media-type.js';
import { describeMethod } from './descriptions.js';
import { ResourceTree, type ResourceNode } from './resource-tree.js';
import { doc, element, toWadlJson, toWadlXml, WADL_MEDIA_TYPE, type WadlElement } from './wadl.js';

export { ResourceTree } from './resource-tree.js';
export { describeMethod, transactionOf } from './descriptions.js';

const METHOD_ORDER = ['GET', 'HEAD', 'POST'];

/** The description format from Accept (§8.9.1.3: Accept is mandatory; absent or any is WADL XML). */
export function capabilitiesFormat(accept: string | undefined): 'xml' | 'json' {
  if (!accept || accept.trim() === '') return 'xml';
  const ranges = parseAccept(accept).filter((m) => qualityOf(m) > 0).sort((a, b) => qualityOf(b) - qualityOf(a));
  for (const m of ranges) {
    if (m.type === WADL_MEDIA_TYPE || m.type === '*/*' || m.type === 'application/*') return 'xml';
    if (m.type === 'application/json') return 'json';
  }
  throw notAcceptable(`the Capabilities Description is served as ${WADL_MEDIA_TYPE} or application/json (PS3.18 §8.9.4), not "${accept}"`);
}

export class Capabilities {
  /** The Studies Service's resources, relative to its base path. */
  readonly studies = new ResourceTree();
  /** The URI Service's resource, relative to the origin. */
  readonly uri = new ResourceTree();

  constructor(private readonly ctx: DicomWebContext, private readonly wadoUriPath: string) {}

  /** Records every route the application registers; call before any route is added. */
  collect(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const method of methods) {
        if (method === 'OPTIONS') continue;
        const tree = this.treeOf(route.url);
        if (!tree) continue;
        tree.tree.add(method, tree.pattern);
        // exposeHeadRoutes: every GET also answers HEAD.
        if (method === 'GET') tree.tree.add('HEAD', tree.pattern);
      }
    });
  }

  private treeOf(url: string): { tree: ResourceTree; pattern: string } | undefined {
    const base = this.ctx.basePath;
    if (url === base || url.startsWith(`${base}/`)) return { tree: this.studies, pattern: url.slice(base.length) || '/' };
    if (url === this.wadoUriPath) return { tree: this.uri, pattern: url };
    return undefined;
  }

  /** The resource a request URL names, with its tree and the path relative to the tree's base. */
  resourceOf(url: string): { node: ResourceNode; relative: string; studies: boolean } | undefined {
    const path = url.split('?')[0]!;
    const found = this.treeOf(path);
    if (!found) return undefined;
    const node = found.tree.match(found.pattern);
    return node ? { node, relative: found.pattern, studies: found.tree === this.studies } : undefined;
  }

  /** The WADL document for a resource (the whole service for its root). */
  describe(node: ResourceNode, relative: string, base: string, studies: boolean): WadlElement {
    const segments = relative.split('/').filter((s) => s !== '');
    const resources = segments.length === 0
      ? node.children.map((c) => this.resourceElement(c, pathOf(c)))
      : [this.resourceElement(node, segments.join('/'))];
    return element('application', {}, [
      doc(studies ? 'Conduit DICOMweb origin server: Studies Service (PS3.18 §10)' : 'Conduit DICOMweb origin server: URI Service (PS3.18 §9)', 'Capabilities Description (PS3.18 Annex H)'),
      element('resources', { base: `${base}/` }, resources),
    ]);
  }

  private resourceElement(node: ResourceNode, path: string): WadlElement {
    const children: WadlElement[] = [];
    if (node.kind !== 'literal' && path === pathOf(node)) {
      children.push(element('param', { name: node.segment, style: 'template', type: 'xsd:string', required: 'true' }));
    }
    const methods = [...node.methods].sort((a, b) => METHOD_ORDER.indexOf(a[0]) - METHOD_ORDER.indexOf(b[0]));
    for (const [method, pattern] of methods) {
      children.push(describeMethod(method, pattern, this.wadoUriPath) ?? element('method', { name: method }, [doc('(not described)')]));
    }
    for (const c of node.children) children.push(this.resourceElement(c, pathOf(c)));
    return element('resource', { path }, children);
  }

  /** OPTIONS on the service root and every resource of the service (`studies` has the base path as prefix). */
  registerStudies(studies: FastifyInstance): void {
    studies.options('/', (request, reply) => this.answer(request, reply));
    studies.options('/*', (request, reply) => this.answer(request, reply));
  }

  /** OPTIONS on WADO-URI. */
  registerUri(root: FastifyInstance): void {
    root.options(this.wadoUriPath, (request, reply) => this.answer(request, reply));
  }

  /** The methods of the resource a URL names (its Allow header), or undefined for no resource. */
  allowOf(url: string): string | undefined {
    const found = this.resourceOf(url);
    return found && found.node.methods.size > 0 ? ResourceTree.allow(found.node) : undefined;
  }

  /** For a request no route took: 405 with Allow when the resource exists with other methods. */
  methodNotAllowed(request: FastifyRequest): DicomWebError | undefined {
    const found = this.resourceOf(request.url);
    if (!found || found.node.methods.size === 0 || found.node.methods.has(request.method)) return undefined;
    const allow = ResourceTree.allow(found.node);
    return new DicomWebError('ERR_DICOM_WEB_REQUEST', `${request.method} is not a method of ${request.url.split('?')[0]} (it allows ${allow})`, 405, { headers: { Allow: allow } });
  }

  private async answer(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const found = this.resourceOf(request.url);
    if (!found) throw notFound(`${request.url.split('?')[0]} is not a resource of this server`);
    const format = capabilitiesFormat(request.headers.accept);
    const serviceBase = this.ctx.baseUrl(request);
    // The URI Service's resource is named from the origin (or from the public URL's prefix).
    const base = found.studies ? serviceBase : serviceBase.endsWith(this.ctx.basePath) ? serviceBase.slice(0, serviceBase.length - this.ctx.basePath.length) : new URL(serviceBase).origin;
    const wadl = this.describe(found.node, found.relative, base, found.studies);
    const body = format === 'json' ? toWadlJson(wadl) : toWadlXml(wadl);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    reply.header('Allow', ResourceTree.allow(found.node)).header('ETag', etag).header('Vary', 'Accept');
    const match = request.headers['if-none-match'];
    if (match !== undefined && (match.trim() === '*' || match.split(',').map((s) => s.trim().replace(/^W\//, '')).includes(etag))) {
      return reply.code(304).send();
    }
    return reply.code(200).type(format === 'json' ? 'application/json' : WADL_MEDIA_TYPE).send(body);
  }
}

function pathOf(node: ResourceNode): string {
  return node.kind === 'literal' ? node.segment : `{${node.segment}}`;
}
