/**
 * A streaming parser of multipart bodies (RFC 2046 §5.1.1; multipart/related, RFC 2387), as
 * STOW-RS requests and WADO-RS responses carry them (PS3.18 §8.7.3.1, §10.5).
 *
 *   body           := preamble? dash-boundary padding CRLF part (delimiter padding CRLF part)* close-delimiter epilogue?
 *   dash-boundary  := "--" boundary
 *   delimiter      := CRLF dash-boundary
 *   close-delimiter:= delimiter "--"
 *   part           := headers CRLF body       (headers: "Name: value" CRLF lines, possibly none)
 *   padding        := (SP / HTAB)*            (RFC 2046 "transport-padding")
 *
 * No I/O: bytes come from any AsyncIterable. Each part's body is an AsyncIterable of subarrays of
 * the input chunks (no copy, except where a chunk ends inside what may be a delimiter), read only
 * as the consumer asks for it, so back-pressure reaches the socket and memory stays bounded by the
 * input chunk size, whatever the part's size. Moving on to the next part skips what the consumer
 * did not read of the current one.
 */
import { DicomError } from '../../core/dicom-error.js';
import { DelimiterSearch } from './delimiter-search.js';

export interface MultipartPart {
  /** Header fields by lower-case name (a repeated field: its values joined with ", "). */
  readonly headers: ReadonlyMap<string, string>;
  /** Content-Type, when the part has one. */
  readonly contentType: string | undefined;
  /** The part's bytes; iterate once, before asking for the next part. */
  readonly body: AsyncIterable<Uint8Array>;
  /** Index of the part, from 0. */
  readonly index: number;
}

/** A part as the parser gives it: it also tells when its body has been read. */
export interface ParsedPart extends MultipartPart {
  /**
   * Settles (never rejects) once the body has been read to its end, reading it failed, or its
   * consumer gave up on it: from then on the next part may be asked for.
   */
  readonly ended: Promise<void>;
  /** Reading the body failed (the multipart body is malformed or cut inside this part). */
  readonly broken: boolean;
}

export interface MultipartParseOptions {
  /** Largest header block of one part (default 16 KiB). */
  readonly maxHeaderBytes?: number;
  /** Most parts accepted (default unlimited). */
  readonly maxParts?: number;
}

const CRLF = Buffer.from('\r\n');
const EMPTY = Buffer.alloc(0);
const BCHARS = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
/**
 * What the parser accepts: longer boundaries than RFC 2046's 70 characters, since real peers send
 * them (Orthanc's DICOMweb plugin 1.7: two UUIDs joined, 73 characters).
 */
const LENIENT_BCHARS = /^[0-9A-Za-z'()+_,\-./:=? ]{0,255}[0-9A-Za-z'()+_,\-./:=?]$/;

function multipartError(message: string, offset?: number): DicomError {
  return new DicomError('ERR_DICOM_MULTIPART', message, offset === undefined ? {} : { offset });
}

/** True for a boundary RFC 2046 §5.1.1 allows: 1 to 70 bchars, not ending in a space. */
export function isValidBoundary(boundary: string): boolean {
  return BCHARS.test(boundary);
}

/** The parts of a multipart body delimited by `boundary` (the Content-Type's boundary parameter). */
export async function* parseMultipart(source: AsyncIterable<Uint8Array>, boundary: string, options: MultipartParseOptions = {}): AsyncGenerator<ParsedPart> {
  if (!LENIENT_BCHARS.test(boundary)) throw multipartError(`"${boundary.slice(0, 300)}" is not a valid multipart boundary (RFC 2046 §5.1.1: 1 to 70 characters, 256 accepted)`);
  const reader = new MultipartReader(source, boundary, options.maxHeaderBytes ?? 16 * 1024);
  try {
    // The first delimiter may open the body without the CRLF that belongs to every other one.
    reader.prepend(CRLF);
    while (await reader.nextBodyChunk() !== null) { /* preamble */ }
    let index = 0;
    for (;;) {
      if (await reader.atCloseDelimiter()) break;
      if (options.maxParts !== undefined && index >= options.maxParts) throw multipartError(`more than ${options.maxParts} parts`, reader.offset);
      const headers = await reader.readHeaders();
      yield new Part(headers, reader, index++);
      while (await reader.nextBodyChunk() !== null) { /* what the consumer left */ }
    }
    // The epilogue is ignored, but read, so that the whole request has been consumed.
    await reader.drain();
  } finally {
    await reader.close();
  }
}

const DONE: IteratorResult<Uint8Array> = { done: true, value: undefined };

/** A part whose body is read from the reader; it tracks the end of its body for `ended`. */
class Part implements ParsedPart {
  readonly contentType: string | undefined;
  readonly body: AsyncIterable<Uint8Array>;
  readonly ended: Promise<void>;
  broken = false;
  private end!: () => void;

  constructor(readonly headers: ReadonlyMap<string, string>, reader: MultipartReader, readonly index: number) {
    this.contentType = headers.get('content-type');
    this.ended = new Promise<void>((resolve) => { this.end = resolve; });
    reader.startBody();
    let taken = false;
    this.body = {
      [Symbol.asyncIterator]: () => {
        if (taken) throw multipartError('a part body can be read only once');
        taken = true;
        return {
          next: async () => {
            let chunk;
            try {
              chunk = await reader.nextBodyChunk();
            } catch (error) {
              this.broken = true;
              this.end();
              throw error;
            }
            if (chunk !== null) return { done: false, value: chunk };
            this.end();
            return DONE;
          },
          return: async () => {
            this.end();
            return DONE;
          },
        };
      },
    };
  }
}

class MultipartReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private readonly delimiter: Buffer;
  private readonly search: DelimiterSearch;
  private buf: Buffer = EMPTY;
  private ended = false;
  /** Input bytes before `buf`. */
  private consumed = -2;
  /** Inside a body (or the preamble): nextBodyChunk() may return bytes. */
  private inBody = true;
  /** Before the first delimiter. */
  private inPreamble = true;

  constructor(source: AsyncIterable<Uint8Array>, boundary: string, private readonly maxHeaderBytes: number) {
    this.iterator = source[Symbol.asyncIterator]();
    this.search = new DelimiterSearch(boundary);
    this.delimiter = this.search.delimiter;
  }

  get offset(): number {
    return Math.max(0, this.consumed);
  }

  prepend(bytes: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([bytes, this.buf]) : bytes;
  }

  private async more(): Promise<boolean> {
    if (this.ended) return false;
    for (;;) {
      const r = await this.iterator.next();
      if (r.done) {
        this.ended = true;
        return false;
      }
      const chunk = r.value;
      if (chunk.length === 0) continue;
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      this.buf = this.buf.length ? Buffer.concat([this.buf, b]) : b;
      return true;
    }
  }

  private consume(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.consumed += n;
    return out;
  }

  /**
   * The next bytes of the current body, or null at its delimiter (which is then consumed). Holds
   * back only a tail of the buffer that could be the start of the delimiter.
   */
  async nextBodyChunk(): Promise<Buffer | null> {
    if (!this.inBody) return null;
    for (;;) {
      const i = this.search.indexIn(this.buf);
      if (i === 0) {
        this.consume(this.delimiter.length);
        this.inBody = false;
        this.inPreamble = false;
        return null;
      }
      if (i > 0) return this.consume(i);
      const safe = this.safeLength();
      if (safe > 0) return this.consume(safe);
      if (!(await this.more())) {
        throw multipartError(this.inPreamble
          ? 'the body holds no multipart boundary (is the boundary parameter right?)'
          : 'the multipart body ends inside a part (no closing boundary)', this.offset + this.buf.length);
      }
    }
  }

  /** Bytes of `buf` that cannot belong to a delimiter starting in it. */
  private safeLength(): number {
    const buf = this.buf;
    const d = this.delimiter;
    for (let k = Math.max(0, buf.length - d.length + 1); k < buf.length; k++) {
      if (buf[k] === 0x0d && d.compare(buf, k, buf.length, 0, buf.length - k) === 0) return k;
    }
    return buf.length;
  }

  /** Starts the body of a part (after its headers). */
  startBody(): void {
    this.inBody = true;
  }

  /** After a delimiter: true for the close delimiter ("--"); else consumes the padding and CRLF. */
  async atCloseDelimiter(): Promise<boolean> {
    while (this.buf.length < 2) {
      if (!(await this.more())) throw multipartError('the multipart body ends after a boundary', this.offset + this.buf.length);
    }
    if (this.buf[0] === 0x2d && this.buf[1] === 0x2d) {
      this.consume(2);
      return true;
    }
    for (;;) {
      const eol = this.buf.indexOf(CRLF);
      if (eol >= 0) {
        const padding = this.buf.subarray(0, eol);
        if (!padding.every((c) => c === 0x20 || c === 0x09)) throw multipartError('a multipart boundary is followed by other characters on its line', this.offset);
        this.consume(eol + 2);
        return false;
      }
      if (this.buf.length > 1024) throw multipartError('a multipart boundary is followed by other characters on its line', this.offset);
      if (!(await this.more())) throw multipartError('the multipart body ends after a boundary', this.offset + this.buf.length);
    }
  }

  async readHeaders(): Promise<Map<string, string>> {
    const start = this.offset;
    let end: number;
    for (;;) {
      if (this.buf.length >= 2 && this.buf[0] === 0x0d && this.buf[1] === 0x0a) {
        end = 0;
        break;
      }
      const i = this.buf.indexOf('\r\n\r\n', 0, 'latin1');
      if (i >= 0 && i + 2 <= this.maxHeaderBytes) {
        end = i + 2;
        break;
      }
      if (this.buf.length > this.maxHeaderBytes + 2) throw multipartError(`the header fields of a part exceed ${this.maxHeaderBytes} bytes`, start);
      if (!(await this.more())) throw multipartError('the multipart body ends inside the header fields of a part', this.offset + this.buf.length);
    }
    const text = this.consume(end).toString('latin1');
    this.consume(2);
    const headers = new Map<string, string>();
    let last: string | undefined;
    for (const line of text.split('\r\n')) {
      if (line === '') continue;
      if ((line[0] === ' ' || line[0] === '\t') && last !== undefined) {
        headers.set(last, `${headers.get(last)!} ${line.trim()}`); // obsolete line folding (RFC 5322 §3.2.2)
        continue;
      }
      const colon = line.indexOf(':');
      if (colon <= 0) throw multipartError(`"${line.slice(0, 80)}" is not a header field (Name: value)`, start);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers.set(name, headers.has(name) ? `${headers.get(name)!}, ${value}` : value);
      last = name;
    }
    return headers;
  }

  async drain(): Promise<void> {
    this.buf = EMPTY;
    while (await this.more()) this.buf = EMPTY;
  }

  async close(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      await this.iterator.return?.();
    }
  }
}
