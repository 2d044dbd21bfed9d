/** What every DICOMweb route is given: the archive and the server's options. */
import type { FastifyRequest } from 'fastify';
import { DEFAULT_COLLECT_EVERY, ReceiveCollector } from '../core/young-generation-gc.js';
import type { ArchiveStore } from '../storage/archive-store.js';
import type { DuplicatePolicy } from '../storage/ports.js';

export interface DicomWebOptions {
  /** The archive (index + blob store ports) the routes read and write. */
  readonly archive: ArchiveStore;
  /** Path prefix of the Studies Service (default "/dicom-web"). */
  readonly basePath?: string;
  /** Path of WADO-URI (default "/wado"). */
  readonly wadoUriPath?: string;
  /** STOW-RS: what to do with an instance already stored (default 'keep'). */
  readonly duplicatePolicy?: DuplicatePolicy;
  /** QIDO-RS: the most results one response holds (default 1000); more are cut with a Warning. */
  readonly maxResults?: number;
  /**
   * The URL clients reach the base path at, for Retrieve URL (0008,1190), BulkDataURI and
   * Content-Location (e.g. "https://pacs.example.org/dicom-web"). Default: from the request's Host.
   */
  readonly publicUrl?: string;
  /** Serve HTTPS with this PEM private key and certificate (with its chain); default plain HTTP. */
  readonly https?: {
    readonly key: string | Buffer;
    readonly cert: string | Buffer;
    /** Client certificates required, verified against these CAs (mutual TLS); none: not asked for. */
    readonly ca?: ReadonlyArray<string | Buffer>;
  };
  /** CORS: allowed origins ("*" for any); none by default. */
  readonly corsOrigins?: readonly string[];
  /** Largest part header block and most parts in a STOW-RS body. */
  readonly maxParts?: number;
  /**
   * STOW-RS request bodies: bytes received between forced young-generation collections (0 = none;
   * default 4 MiB). Node's HTTP parser gives every body chunk a new buffer, which V8 frees late
   * (docs/adr/0012-network-buffers-and-gc.md); the same pacing as the DIMSE receive path.
   */
  readonly collectGarbageEvery?: number;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export interface DicomWebContext {
  readonly archive: ArchiveStore;
  readonly basePath: string;
  readonly duplicatePolicy: DuplicatePolicy;
  readonly maxResults: number;
  readonly maxParts: number | undefined;
  /** Paces young-generation collections while request bodies arrive; undefined when off. */
  readonly bodyCollector: ReceiveCollector | undefined;
  readonly log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** The absolute URL of the base path as this request reached it. */
  baseUrl(request: FastifyRequest): string;
  /** The warn-agent of Warning header fields (RFC 9111 §5.5): the host and port. */
  warnAgent(request: FastifyRequest): string;
}

export function makeContext(options: DicomWebOptions): DicomWebContext {
  const basePath = (options.basePath ?? '/dicom-web').replace(/\/+$/, '');
  const publicUrl = options.publicUrl?.replace(/\/+$/, '');
  return {
    archive: options.archive,
    basePath,
    duplicatePolicy: options.duplicatePolicy ?? 'keep',
    maxResults: options.maxResults ?? 1000,
    maxParts: options.maxParts,
    bodyCollector: options.collectGarbageEvery === 0 ? undefined : new ReceiveCollector(options.collectGarbageEvery ?? DEFAULT_COLLECT_EVERY),
    log: options.log ?? (() => undefined),
    baseUrl(request) {
      if (publicUrl) return publicUrl;
      const host = request.headers.host ?? `${request.socket.localAddress ?? 'localhost'}:${request.socket.localPort ?? ''}`;
      return `${request.protocol}://${host}${basePath}`;
    },
    warnAgent(request) {
      return request.headers.host ?? 'conduit';
    },
  };
}
