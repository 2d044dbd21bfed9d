/**
 * The tree of the resources the application really serves, built from its routes as fastify
 * registers them (the onRoute hook), so that the Capabilities Description (PS3.18 Annex H) and the
 * Allow header cannot drift from what the server answers. One node per path segment: a literal
 * ("studies"), a template ("{StudyInstance}", from the route's ":study") or the rest of the path
 * ("{BulkDataReference}", from "*").
 */

/** Route parameters under the names of PS3.18 Table H-1 (the route files use short ones). */
const TEMPLATE_NAMES: Readonly<Record<string, string>> = {
  study: 'StudyInstance',
  series: 'SeriesInstance',
  instance: 'SOPInstance',
  frames: 'framelist',
  '*': 'BulkDataReference',
};

export interface ResourceNode {
  /** "studies", or the template name of a ":param" / "*" segment. */
  readonly segment: string;
  readonly kind: 'literal' | 'template' | 'rest';
  /** The route's own parameter name (":study" -> "study"), for templates. */
  readonly parameter?: string;
  readonly children: ResourceNode[];
  /** Methods served, with the route pattern they were registered under. */
  readonly methods: Map<string, string>;
}

function newNode(segment: string, kind: ResourceNode['kind'], parameter?: string): ResourceNode {
  return { segment, kind, ...(parameter !== undefined ? { parameter } : {}), children: [], methods: new Map() };
}

/** The methods of a resource in the order an Allow header lists them. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'];

export class ResourceTree {
  readonly root = newNode('', 'literal');

  /** Records a route: `pattern` relative to the tree's base ("/studies/:study"). */
  add(method: string, pattern: string): void {
    let node = this.root;
    for (const segment of pattern.split('/').filter((s) => s !== '')) {
      const kind = segment === '*' ? 'rest' : segment.startsWith(':') ? 'template' : 'literal';
      const parameter = kind === 'rest' ? '*' : kind === 'template' ? segment.slice(1) : undefined;
      const name = parameter === undefined ? segment : TEMPLATE_NAMES[parameter] ?? parameter;
      let child = node.children.find((c) => c.kind === kind && c.segment === name);
      if (!child) node.children.push((child = newNode(name, kind, parameter)));
      node = child;
    }
    node.methods.set(method, pattern.startsWith('/') ? pattern : `/${pattern}`);
  }

  /** The node a request path (relative to the base) names, or undefined when none does. */
  match(path: string): ResourceNode | undefined {
    const segments = path.split('/').filter((s) => s !== '');
    const walk = (node: ResourceNode, i: number): ResourceNode | undefined => {
      if (i === segments.length) return node;
      const s = decodeURIComponent(segments[i]!);
      const literal = node.children.find((c) => c.kind === 'literal' && c.segment === s);
      const found = literal && walk(literal, i + 1);
      if (found) return found;
      for (const c of node.children.filter((c) => c.kind === 'template')) {
        const r = walk(c, i + 1);
        if (r) return r;
      }
      return node.children.find((c) => c.kind === 'rest');
    };
    return walk(this.root, 0);
  }

  /** The value of an Allow header for a node: its methods and OPTIONS (RFC 9110 §10.2.1). */
  static allow(node: ResourceNode): string {
    const methods = [...node.methods.keys()].sort((a, b) => METHOD_ORDER.indexOf(a) - METHOD_ORDER.indexOf(b));
    return [...methods, 'OPTIONS'].join(', ');
  }

  /** Every (method, pattern) of the tree. */
  routes(node: ResourceNode = this.root): Array<{ method: string; pattern: string }> {
    return [...[...node.methods].map(([method, pattern]) => ({ method, pattern })), ...node.children.flatMap((c) => this.routes(c))];
  }
}
