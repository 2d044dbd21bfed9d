/**
 * Which fragments of encapsulated Pixel Data (PS3.5 A.4) make each frame. In order:
 *   one frame              every fragment (A.4: a frame may span several fragments)
 *   Extended Offset Table  (7FE0,0001), 64-bit offsets of each frame's first fragment (A.4, C.7.6.3.1.8)
 *   Basic Offset Table     the first item's 32-bit offsets, when not empty (A.4, Table A.4-1)
 *   neither                one fragment per frame when there are as many fragments as frames;
 *                          else, for the JPEG family (JPEG, JPEG-LS, JPEG 2000, HTJ2K), a frame
 *                          ends with the fragment whose data ends with the end-of-image / end-of-
 *                          codestream marker FFD9 (maybe followed by one 00 of padding): A.4 allows
 *                          an empty table only where the frames can be told apart by the data.
 * The offsets count from the first byte of the first fragment's Item tag; each must fall on the
 * start of a fragment, else the object is malformed and the frame cannot be told (500, naming it).
 */
import type { DataSet } from '../data/data-set.js';
import type { EncapsulatedValue } from '../data/element.js';
import type { StoredInstance } from '../storage/ports.js';
import type { DicomWebContext } from './context.js';
import { DicomWebError } from './http-error.js';
import { lengthOf, readBytes, sourceOf, type Source } from './stored-values.js';

const EXTENDED_OFFSET_TABLE = 0x7fe00001;

/** Media types of compressed frames (PS3.18 §8.7.3.3.2, Table 8.7.3-2). */
export const FRAME_MEDIA_TYPES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.4.50': 'image/jpeg', '1.2.840.10008.1.2.4.51': 'image/jpeg', '1.2.840.10008.1.2.4.57': 'image/jpeg', '1.2.840.10008.1.2.4.70': 'image/jpeg',
  '1.2.840.10008.1.2.4.80': 'image/jls', '1.2.840.10008.1.2.4.81': 'image/jls',
  '1.2.840.10008.1.2.4.90': 'image/jp2', '1.2.840.10008.1.2.4.91': 'image/jp2', '1.2.840.10008.1.2.4.92': 'image/jpx', '1.2.840.10008.1.2.4.93': 'image/jpx',
  '1.2.840.10008.1.2.5': 'image/dicom-rle',
  '1.2.840.10008.1.2.4.100': 'video/mpeg', '1.2.840.10008.1.2.4.102': 'video/mp4', '1.2.840.10008.1.2.4.103': 'video/mp4',
  '1.2.840.10008.1.2.4.201': 'image/jphc', '1.2.840.10008.1.2.4.202': 'image/jphc', '1.2.840.10008.1.2.4.203': 'image/jphc',
};
const JPEG_FAMILY = new Set(['image/jpeg', 'image/jls', 'image/jp2', 'image/jpx', 'image/jphc']);

function malformed(instance: StoredInstance, message: string): DicomWebError {
  return new DicomWebError('ERR_DICOM_STORAGE_BAD_OBJECT', `instance ${instance.sopInstanceUid}: ${message}; its frames cannot be told apart`, 500);
}

/** Frame n (1-based) -> the sources of its fragments, for the frames `wanted`. */
export async function frameFragments(
  ctx: DicomWebContext, instance: StoredInstance, ds: DataSet, value: EncapsulatedValue, count: number, wanted: readonly number[],
): Promise<Map<number, Source[]>> {
  const sources = value.fragments.map(sourceOf);
  const out = new Map<number, Source[]>();
  if (count === 1) {
    for (const n of wanted) out.set(n, sources);
    return out;
  }
  const groups = await groupFragments(ctx, instance, ds, value, sources, count);
  for (const n of wanted) out.set(n, groups[n - 1]!);
  return out;
}

async function offsetTable(ctx: DicomWebContext, instance: StoredInstance, ds: DataSet, value: EncapsulatedValue): Promise<number[] | undefined> {
  const extended = ds.get(EXTENDED_OFFSET_TABLE);
  if (extended) {
    const bytes = extended.bulk ? await readBytes(ctx, instance, sourceOf(extended.bulk)) : Buffer.from(extended.bytes);
    if (bytes.length % 8 !== 0) throw malformed(instance, `its Extended Offset Table is ${bytes.length} bytes, not a multiple of 8`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return Array.from({ length: bytes.length / 8 }, (_, i) => Number(view.getBigUint64(i * 8, true)));
  }
  const basic = value.offsetTable;
  if (basic.length === 0) return undefined;
  if (basic.length % 4 !== 0) throw malformed(instance, `its Basic Offset Table is ${basic.length} bytes, not a multiple of 4`);
  const view = new DataView(basic.buffer, basic.byteOffset, basic.byteLength);
  return Array.from({ length: basic.length / 4 }, (_, i) => view.getUint32(i * 4, true));
}

async function groupFragments(
  ctx: DicomWebContext, instance: StoredInstance, ds: DataSet, value: EncapsulatedValue, sources: Source[], count: number,
): Promise<Source[][]> {
  const offsets = await offsetTable(ctx, instance, ds, value);
  if (offsets) {
    if (offsets.length !== count) throw malformed(instance, `its offset table has ${offsets.length} entries for ${count} frames`);
    // Where each fragment's Item tag starts, counted as the offsets are.
    const starts: number[] = [];
    let position = 0;
    for (const s of sources) {
      starts.push(position);
      position += 8 + lengthOf(s);
    }
    const first = offsets.map((o) => starts.indexOf(o));
    const bad = first.findIndex((k, i) => k < 0 || (i > 0 && k <= first[i - 1]!));
    if (bad >= 0) throw malformed(instance, `the offset of frame ${bad + 1} (${offsets[bad]}) is not the start of a fragment after the previous frame's`);
    return first.map((k, i) => sources.slice(k, i + 1 < first.length ? first[i + 1] : sources.length));
  }
  if (sources.length === count) return sources.map((s) => [s]);
  const mediaType = FRAME_MEDIA_TYPES[instance.transferSyntaxUid] ?? '';
  if (!JPEG_FAMILY.has(mediaType)) {
    throw malformed(instance, `${count} frames in ${sources.length} fragments with empty offset tables (${instance.transferSyntaxUid})`);
  }
  const groups: Source[][] = [];
  let current: Source[] = [];
  for (const s of sources) {
    current.push(s);
    const length = lengthOf(s);
    const tail = await readBytes(ctx, instance, s, Math.max(0, length - 3), length);
    const n = tail.length;
    const ends = (n >= 2 && tail[n - 2] === 0xff && tail[n - 1] === 0xd9) || (n >= 3 && tail[n - 3] === 0xff && tail[n - 2] === 0xd9 && tail[n - 1] === 0x00);
    if (ends) {
      groups.push(current);
      current = [];
    }
  }
  if (current.length) groups.push(current);
  if (groups.length !== count) throw malformed(instance, `${count} frames, but the ${sources.length} fragments hold ${groups.length} end-of-image markers`);
  return groups;
}
