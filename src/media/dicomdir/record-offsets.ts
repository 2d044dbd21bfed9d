/**
 * Where each item of the Directory Record Sequence (0004,1220) starts in a DICOMDIR's bytes. The
 * offsets in a DICOMDIR (PS3.3 F.3.2.1: (0004,1200), (0004,1202), (0004,1400), (0004,1420)) count
 * bytes from the first byte of the file, the preamble included, to the item tag of a record; the
 * data set parser keeps no positions, so this walks the element headers alone.
 *
 * Item and delimitation headers are tag + 4-byte length in every encoding (PS3.5 §7.5); an element
 * of undefined length holds items (a sequence, an undefined-length UN read as Implicit VR Little
 * Endian per PS3.5 §6.2.2, or encapsulated pixel data).
 */
import { DicomError } from '../../core/dicom-error.js';
import { ITEM, ITEM_DELIMITATION, SEQUENCE_DELIMITATION, UNDEFINED_LENGTH } from '../../data/tag.js';
import { hasLongExplicitHeader, isVR } from '../../data/vr.js';

const DIRECTORY_RECORD_SEQUENCE = 0x00041220;

interface Encoding {
  explicitVR: boolean;
  littleEndian: boolean;
}

class HeaderWalker {
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(pos: number, n: number): void {
    if (pos + n > this.bytes.length) throw new DicomError('ERR_DICOM_TRUNCATED', 'the DICOMDIR ends inside an element header', { offset: pos });
  }

  tag(pos: number, le: boolean): number {
    this.need(pos, 4);
    return ((this.view.getUint16(pos, le) << 16) | this.view.getUint16(pos + 2, le)) >>> 0;
  }
  u32(pos: number, le: boolean): number {
    this.need(pos, 4);
    return this.view.getUint32(pos, le);
  }

  /** The element header at `pos`: its tag, VR (explicit only), value length and header size. */
  header(pos: number, enc: Encoding): { tag: number; vr: string | undefined; length: number; size: number } {
    const tag = this.tag(pos, enc.littleEndian);
    if (!enc.explicitVR || tag >>> 16 === 0xfffe) return { tag, vr: undefined, length: this.u32(pos + 4, enc.littleEndian), size: 8 };
    this.need(pos, 8);
    const vr = String.fromCharCode(this.bytes[pos + 4]!, this.bytes[pos + 5]!);
    if (isVR(vr) && hasLongExplicitHeader(vr)) return { tag, vr, length: this.u32(pos + 8, enc.littleEndian), size: 12 };
    return { tag, vr, length: this.view.getUint16(pos + 6, enc.littleEndian), size: 8 };
  }

  /** The offset after the value that starts at `pos`. */
  skipValue(pos: number, length: number, vr: string | undefined, enc: Encoding): number {
    if (length !== UNDEFINED_LENGTH) return pos + length;
    const inner = vr === 'UN' ? { explicitVR: false, littleEndian: true } : enc;
    for (;;) {
      const t = this.tag(pos, inner.littleEndian);
      const len = this.u32(pos + 4, inner.littleEndian);
      if (t === SEQUENCE_DELIMITATION) return pos + 8;
      if (t !== ITEM) throw new DicomError('ERR_DICOM_BAD_ITEM', 'expected an item or sequence delimiter', { offset: pos, tag: t });
      pos = len === UNDEFINED_LENGTH ? this.skipItemBody(pos + 8, inner) : pos + 8 + len;
    }
  }

  /** The offset after the item delimiter that ends an undefined-length item whose body starts at `pos`. */
  skipItemBody(pos: number, enc: Encoding): number {
    for (;;) {
      const h = this.header(pos, enc);
      if (h.tag === ITEM_DELIMITATION) return pos + 8;
      pos = this.skipValue(pos + h.size, h.length, h.vr, enc);
    }
  }
}

/**
 * The offset of every item of the Directory Record Sequence, in file order, for a data set that
 * starts at `dataSetOffset` in `bytes`. Empty when the sequence is absent or empty.
 */
export function directoryRecordOffsets(bytes: Uint8Array, dataSetOffset: number, enc: Encoding): number[] {
  const walker = new HeaderWalker(bytes);
  let pos = dataSetOffset;
  while (pos + 8 <= bytes.length) {
    const h = walker.header(pos, enc);
    if (h.tag > DIRECTORY_RECORD_SEQUENCE) return [];
    if (h.tag !== DIRECTORY_RECORD_SEQUENCE) {
      pos = walker.skipValue(pos + h.size, h.length, h.vr, enc);
      continue;
    }
    const offsets: number[] = [];
    let at = pos + h.size;
    const end = h.length === UNDEFINED_LENGTH ? bytes.length : at + h.length;
    while (at + 8 <= end) {
      const t = walker.tag(at, enc.littleEndian);
      if (t === SEQUENCE_DELIMITATION) break;
      if (t !== ITEM) throw new DicomError('ERR_DICOM_BAD_ITEM', 'expected a directory record item', { offset: at, tag: t });
      offsets.push(at);
      const len = walker.u32(at + 4, enc.littleEndian);
      at = len === UNDEFINED_LENGTH ? walker.skipItemBody(at + 8, enc) : at + 8 + len;
    }
    return offsets;
  }
  return [];
}
