/**
 * WADO-RS Retrieve Frames (PS3.18 §10.4, Table 10.4.1-1 "frames" resource): one part per frame
 * asked, in the order asked, each with its Content-Location (§8.6.1.2).
 *
 * Native (uncompressed) pixel data is cut into frames of Rows x Columns x Samples per Pixel x Bits
 * Allocated / 8 bytes, served as application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1.
 * With Bits Allocated 1 (Segmentations, overlays in pixel data) a frame is Rows x Columns x Samples
 * bits, and the next frame begins at the next bit, not the next byte (PS3.5 §8.1.1, PS3.3
 * C.8.20.2.1): such a frame is shifted to begin at bit 0 of its part, its last byte padded with
 * zero bits.
 *
 * Encapsulated pixel data is served as stored (Conduit has no codecs), either in the transfer
 * syntax's media type (image/jpeg, image/jls, image/jp2, ..., PS3.18 §8.7.3.3.2) or as
 * application/octet-stream, with the stored transfer syntax in the part's Content-Type, when the
 * Accept allows it (no transfer-syntax, "*" or the stored one); anything else would need
 * transcoding and is 406, saying what can be had. A frame's fragments are found (frame-index.ts)
 * from the Extended Offset Table, else the Basic Offset Table, else one fragment per frame, else
 * the JPEG family's end-of-image markers (PS3.5 A.4).
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, isUncompressed } from '../data/transfer-syntax.js';
import { lookupUid } from '../dictionary/uid-dictionary.js';
import type { DicomWebContext } from './context.js';
import { FRAME_MEDIA_TYPES, frameFragments } from './frame-index.js';

export { FRAME_MEDIA_TYPES } from './frame-index.js';
import { badRequest, notAcceptable, notFound } from './http-error.js';
import { parseAccept, parseMediaType, qualityOf } from './media-type.js';
import { newBoundary, writeMultipart, type MultipartWritePart } from './multipart/index.js';
import type { StoredInstance } from '../storage/ports.js';
import { instancesOf, instanceUrl, type ResourcePath } from './resources.js';
import { bytesOf, openStored, sourceOf, type Source } from './stored-values.js';

const OCTET_STREAM = 'application/octet-stream';

/** "1,3,5" -> [1, 3, 5] (PS3.18 §10.4.1.1.4: frame numbers start at 1). */
export function frameNumbers(text: string): number[] {
  const numbers = text.split(',').map((s) => s.trim());
  if (!numbers.length || numbers.some((n) => !/^[1-9]\d{0,9}$/.test(n))) throw badRequest(`"${text}" is not a list of frame numbers (1, 2, ...)`);
  return numbers.map(Number);
}

export interface FrameRepresentation {
  /** The parts' media type. */
  readonly mediaType: string;
  readonly transferSyntax: string;
}

function describeSyntax(uid: string): string {
  const name = lookupUid(uid)?.name;
  return name ? `${uid} (${name})` : uid;
}

/** A native transfer syntax whose frames are the pixel bytes as stored in it (not deflated). */
function nativeFrameSyntax(ts: string): boolean {
  return isUncompressed(ts) && ts !== DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN;
}

/**
 * The representation of the frames of an object stored in `stored`, from the Accept media
 * ranges in order of preference; 406 when each would need a transcoding Conduit cannot do.
 * Native frames can be had in any native transfer syntax (the samples' byte order is all that
 * differs, PS3.5 §7.3); "*" is the stored one.
 */
export function frameRepresentation(accept: string | undefined, stored: string): FrameRepresentation {
  const native = isUncompressed(stored);
  const compressedType = FRAME_MEDIA_TYPES[stored] ?? OCTET_STREAM;
  const ranges = !accept || accept.trim() === '' ? [parseMediaType('*/*')] : parseAccept(accept).filter((m) => qualityOf(m) > 0).sort((a, b) => qualityOf(b) - qualityOf(a));
  for (const m of ranges) {
    const multipart = m.type === 'multipart/related' || m.type === 'multipart/*';
    const part = multipart ? (m.parameters.get('type') ?? '*/*').toLowerCase() : m.type;
    const ts = m.parameters.get('transfer-syntax');
    const matches = (type: string) => part === '*/*' || part === type || (part.endsWith('/*') && type.startsWith(part.slice(0, -1)));
    if (native) {
      if (!matches(OCTET_STREAM)) continue;
      if (ts === '*') return { mediaType: OCTET_STREAM, transferSyntax: stored === EXPLICIT_VR_BIG_ENDIAN ? stored : EXPLICIT_VR_LITTLE_ENDIAN };
      if (ts === undefined) return { mediaType: OCTET_STREAM, transferSyntax: EXPLICIT_VR_LITTLE_ENDIAN };
      if (nativeFrameSyntax(ts)) return { mediaType: OCTET_STREAM, transferSyntax: ts };
      continue;
    }
    if (matches(compressedType) && (ts === undefined || ts === '*' || ts === stored)) return { mediaType: compressedType, transferSyntax: stored };
    if (matches(OCTET_STREAM) && (ts === '*' || ts === stored)) return { mediaType: OCTET_STREAM, transferSyntax: stored };
  }
  const can = native
    ? `${OCTET_STREAM}; transfer-syntax=${EXPLICIT_VR_LITTLE_ENDIAN} (or another native one)`
    : `multipart/related; type="${compressedType}" or type="${OCTET_STREAM}"; transfer-syntax=${stored} (or *)`;
  throw notAcceptable(`the frames are stored in ${describeSyntax(stored)}; "${accept}" would need a transcoding Conduit cannot do (it has no image codecs): ask for ${can}`);
}

/** Bytes with the order of each `width`-byte sample reversed (Big Endian <-> Little Endian, PS3.5 §7.3). */
export async function* swapped(chunks: AsyncIterable<Uint8Array>, width: number): AsyncGenerator<Uint8Array> {
  if (width <= 1) {
    yield* chunks;
    return;
  }
  let carry = Buffer.alloc(0);
  for await (const chunk of chunks) {
    const bytes = Buffer.concat([carry, chunk]);
    const whole = bytes.length - (bytes.length % width);
    const out = bytes.subarray(0, whole);
    if (width === 2) out.swap16();
    else if (width === 4) out.swap32();
    else if (width === 8) out.swap64();
    carry = Buffer.from(bytes.subarray(whole));
    if (out.length) yield out;
  }
  if (carry.length) yield carry;
}

/**
 * The `bits` bits of a 1-bit frame that begins `shift` bits (0 to 7) into `chunks`, moved to begin
 * at bit 0: bits fill each byte from the least significant one (PS3.5 §8.1.1, D.2), so output byte
 * j is input byte j shifted right and the next one's low bits moved up; the bits after the frame's
 * last one are zero.
 */
export async function* bitShifted(chunks: AsyncIterable<Uint8Array>, shift: number, bits: number): AsyncGenerator<Uint8Array> {
  const out = Buffer.alloc(Math.ceil(bits / 8));
  let filled = 0;
  let previous: number | undefined;
  const put = (next: number) => {
    if (previous !== undefined && filled < out.length) out[filled++] = ((previous >> shift) | (next << (8 - shift))) & 0xff;
    previous = next;
  };
  for await (const chunk of chunks) for (const byte of chunk) put(byte);
  put(0);
  if (bits % 8) out[out.length - 1]! &= (1 << (bits % 8)) - 1;
  yield out;
}

/** The frames of one stored instance as multipart parts, in the representation the Accept asks. */
export async function framePartsOf(
  ctx: DicomWebContext, request: FastifyRequest, instance: StoredInstance, list: readonly number[] | 'all',
): Promise<{ representation: FrameRepresentation; parts: MultipartWritePart[] } | undefined> {
  const file = await openStored(ctx, instance);
  const ds = file.dataSet;
  const pixel = ds.get(0x7fe00010);
  if (!pixel) return undefined;
  const count = Number(ds.string('NumberOfFrames')?.trim() || '1') || 1;
  const wanted = list === 'all' ? Array.from({ length: count }, (_, i) => i + 1) : list;
  const beyond = wanted.filter((n) => n > count);
  if (beyond.length) throw notFound(`instance ${instance.sopInstanceUid} has ${count} frame(s); there is no frame ${beyond.join(', ')}`);
  const stored = instance.transferSyntaxUid;
  const bits = ds.numbers('BitsAllocated')?.[0] ?? 0;
  let sourcesOf: (n: number) => Source[];
  let representation: FrameRepresentation;
  let swapWidth = 1;
  let bitShift: ((n: number) => { shift: number; bits: number }) | undefined;
  if (pixel.encapsulated) {
    representation = frameRepresentation(request.headers.accept, stored);
    const fragments = await frameFragments(ctx, instance, ds, pixel.encapsulated, count, wanted);
    sourcesOf = (n) => fragments.get(n)!;
  } else {
    if (!isUncompressed(stored) || stored === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN) throw notAcceptable(`frames of ${describeSyntax(stored)} objects are not served`);
    const rows = ds.numbers('Rows')?.[0] ?? 0;
    const columns = ds.numbers('Columns')?.[0] ?? 0;
    const samples = ds.numbers('SamplesPerPixel')?.[0] ?? 1;
    if ((bits % 8 !== 0 && bits !== 1) || rows * columns === 0) throw notAcceptable(`frames of ${bits}-bit pixel data are not served (only 1 bit or whole bytes per sample)`);
    representation = frameRepresentation(request.headers.accept, stored);
    if (bits === 1 && (stored === EXPLICIT_VR_BIG_ENDIAN || representation.transferSyntax === EXPLICIT_VR_BIG_ENDIAN)) {
      // In Big Endian 1-bit pixel data lies in 16-bit words (PS3.5 D.2): not converted.
      throw notAcceptable(`frames of 1-bit pixel data are served in Little Endian only (stored as ${describeSyntax(stored)}, asked as ${describeSyntax(representation.transferSyntax)})`);
    }
    // Samples of more than a byte are swapped when the byte order asked is not the stored one.
    if (bits > 8 && (stored === EXPLICIT_VR_BIG_ENDIAN) !== (representation.transferSyntax === EXPLICIT_VR_BIG_ENDIAN)) swapWidth = bits / 8;
    const frameBits = rows * columns * samples * bits;
    const source = pixel.bulk ? sourceOf(pixel.bulk) : { kind: 'bytes' as const, bytes: pixel.bytes };
    const whole = source.kind === 'blob' ? source : undefined;
    // The bytes holding frame n's bits: whole bytes unless 1-bit frames end mid-byte.
    sourcesOf = (n) => {
      const from = Math.floor(((n - 1) * frameBits) / 8);
      const to = Math.ceil((n * frameBits) / 8);
      return [whole ? { kind: 'blob', start: whole.start + from, length: to - from } : { kind: 'bytes', bytes: (source as { bytes: Uint8Array }).bytes.subarray(from, to) }];
    };
    if (frameBits % 8 !== 0) bitShift = (n) => ({ shift: ((n - 1) * frameBits) % 8, bits: frameBits });
  }
  const location = `${instanceUrl(ctx.baseUrl(request), instance)}/frames/`;
  const contentType = `${representation.mediaType}; transfer-syntax=${representation.transferSyntax}`;
  const framed = (n: number): AsyncIterable<Uint8Array> => {
    const bytes = (async function* () { for (const s of sourcesOf(n)) yield* bytesOf(ctx, instance, s); })();
    const shifted = bitShift?.(n);
    return shifted ? bitShifted(bytes, shifted.shift, shifted.bits) : swapped(bytes, swapWidth);
  };
  const parts: MultipartWritePart[] = wanted.map((n) => ({
    headers: { 'Content-Type': contentType, 'Content-Location': `${location}${n}` },
    body: framed(n),
  }));
  return { representation, parts };
}

async function frames(ctx: DicomWebContext, request: FastifyRequest, reply: FastifyReply, path: ResourcePath, list: string): Promise<FastifyReply> {
  const wanted = frameNumbers(list);
  const [instance] = await instancesOf(ctx, path);
  const found = await framePartsOf(ctx, request, instance!, wanted);
  if (!found) throw notFound(`instance ${path.instance} has no Pixel Data`);
  const boundary = newBoundary();
  return reply.code(200).type(`multipart/related; type="${found.representation.mediaType}"; boundary=${boundary}`).send(Readable.from(writeMultipart(found.parts, boundary)));
}

export function registerFrames(app: FastifyInstance, ctx: DicomWebContext): void {
  type P = { study: string; series: string; instance: string; frames: string };
  app.get<{ Params: P }>('/studies/:study/series/:series/instances/:instance/frames/:frames', (request, reply) => frames(ctx, request, reply, request.params, request.params.frames));
}
