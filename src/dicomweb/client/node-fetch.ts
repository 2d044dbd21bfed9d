/**
 * The client's default transport: a `fetch` over node:http and node:https. Node's own fetch
 * (undici, Node 20) reads a streamed request body as fast as the file gives it, whatever the
 * socket takes, so a 2 GB STOW-RS upload would pass through memory whole; here the body is written
 * with the socket's back-pressure (write, then wait for "drain"), so memory stays bounded. The
 * response is a WHATWG Response whose body streams from the socket.
 */
import http from 'node:http';
import https from 'node:https';
import { once } from 'node:events';
import { Readable } from 'node:stream';

/** Statuses whose responses have no body (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

async function writeBody(request: http.ClientRequest, body: NonNullable<RequestInit['body']>): Promise<void> {
  if (typeof body === 'string' || body instanceof Uint8Array) {
    request.end(body);
    return;
  }
  if (!(body instanceof ReadableStream)) throw new TypeError('request body: a string, bytes or a ReadableStream');
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    if (request.destroyed) return;
    if (!request.write(chunk)) await Promise.race([once(request, 'drain'), once(request, 'close')]);
  }
  request.end();
}

/** TLS settings of https:// requests (node:https's). */
export interface NodeFetchTls {
  /** Trusted CA certificates (PEM), in place of Node's list. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** The client certificate (PEM, with its chain) for servers that ask for one, and its private key. */
  cert?: string | Buffer;
  key?: string | Buffer;
}

export function nodeFetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
  return fetchOver(input, init, {});
}

/** nodeFetch with TLS settings for https:// URLs. */
export function nodeFetchWith(tls: NodeFetchTls): (input: string | URL, init?: RequestInit) => Promise<Response> {
  return (input, init = {}) => fetchOver(input, init, tls);
}

async function fetchOver(input: string | URL, init: RequestInit, tls: NodeFetchTls): Promise<Response> {
  const url = new URL(String(input));
  const transport = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
  if (!transport) throw new TypeError(`${url.protocol} URLs are not supported`);
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, name) => (headers[name] = value));
  const request = transport.request(url, {
    method: init.method ?? 'GET', headers, ...(init.signal ? { signal: init.signal } : {}),
    ...(transport === https && tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(transport === https && tls.cert !== undefined && tls.key !== undefined ? { cert: tls.cert, key: tls.key } : {}),
  });
  const responded = new Promise<http.IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  if (init.body === undefined || init.body === null) request.end();
  else {
    writeBody(request, init.body).catch((err: unknown) => request.destroy(err as Error));
  }
  const res = await responded;
  // Later failures (the connection cut while the body streams) reach the consumer through the body.
  request.on('error', () => {});
  const responseHeaders = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) responseHeaders.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
  const status = res.statusCode ?? 0;
  const noBody = NULL_BODY.has(status) || init.method === 'HEAD';
  if (noBody) res.resume();
  const response = new Response(noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage ?? '', headers: responseHeaders });
  Object.defineProperty(response, 'url', { value: url.href });
  return response;
}
