/**
 * An incremental parser for data sets (PS3.5 §7): fed byte chunks in order, it builds a DataSet
 * with an explicit stack instead of recursion, so it can stop at any byte for more input and
 * resume. The same loop serves a whole buffer in memory (no copying: elements are views of it),
 * a file read in chunks, and a stream. Values above `bulkDataThreshold` are handed to the driver
 * (a 'bulk' step), which leaves them in the file or spools them, so large values never have to be
 * in memory.
 */
import { DicomError } from '../../core/dicom-error.js';
import type { BulkData } from '../bulk-data.js';
import { DataSet } from '../data-set.js';
import { DataElement } from '../element.js';
import { ITEM, ITEM_DELIMITATION, PIXEL_DATA, SEQUENCE_DELIMITATION, UNDEFINED_LENGTH, type Tag } from '../tag.js';
import { hasLongExplicitHeader, type VR } from '../vr.js';
import { implicitVR } from './implicit-vr.js';

export interface DataSetParserOptions {
  explicitVR: boolean;
  littleEndian: boolean;
  /** Values longer than this become 'bulk' steps. Default: never. */
  bulkDataThreshold?: number;
  /** Absolute offset of the first byte fed (for error messages and BulkData offsets). */
  startOffset?: number;
  /** Stop before the first element whose tag is >= this (e.g. Pixel Data, for header-only reads). */
  untilTag?: number;
  /** Stop at the first top-level element outside this group (File Meta Information is group 0002). */
  onlyGroup?: number;
  /** The data set to fill (default: a new one). */
  root?: DataSet;
  /**
   * What to do when the input ends inside a value or sequence: 'error' (default) throws
   * ERR_DICOM_TRUNCATED; 'keep' keeps the partial value, closes what is open and records a warning
   * (what pydicom and most viewers do with truncated files).
   */
  truncated?: 'error' | 'keep';
}

export type ParseStep =
  | { kind: 'need'; bytes: number }
  | { kind: 'bulk'; tag: Tag; vr: VR; offset: number; length: number }
  | { kind: 'done' };

const enum FrameKind { DataSet, Sequence, Fragments }

interface Frame {
  kind: FrameKind;
  /** Absolute end offset, or -1 for undefined length. */
  end: number;
  explicitVR: boolean;
  littleEndian: boolean;
  ds: DataSet | null;
  element: DataElement | null;
}

// Two VR characters as a 16-bit number -> VR string, for a fast header decode.
const VR_BY_CODE: (VR | undefined)[] = [];
for (const vr of ['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FL', 'FD', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV'] as VR[]) {
  VR_BY_CODE[(vr.charCodeAt(0) << 8) | vr.charCodeAt(1)] = vr;
}
const EMPTY = new Uint8Array(0);
/**
 * Real data sets nest a few levels (SR content trees a few dozen); a crafted input of 20 bytes per
 * level would otherwise give a tree too deep for the recursive writer and dumpers to walk.
 */
export const MAX_SEQUENCE_DEPTH = 256;

export class DataSetParser {
  readonly root: DataSet;
  private readonly stack: Frame[];
  private readonly threshold: number;
  private readonly untilTag: number;
  private readonly onlyGroup: number;
  private readonly keepTruncated: boolean;
  /** Problems tolerated while parsing (lenient reads), in the order met. */
  readonly warnings: string[] = [];
  private window: Uint8Array = EMPTY;
  /** Absolute offset of window[0]. */
  private windowStart: number;
  /** Absolute offset of the next byte to parse. */
  private pos: number;
  private ended = false;
  private pendingBulk: { ds: DataSet | null; element: DataElement | null; tag: Tag; vr: VR; offset: number; length: number } | null = null;

  constructor(options: DataSetParserOptions) {
    this.root = options.root ?? new DataSet({ littleEndian: options.littleEndian });
    this.root.littleEndian = options.littleEndian;
    this.threshold = options.bulkDataThreshold ?? Infinity;
    this.untilTag = options.untilTag ?? Infinity;
    this.onlyGroup = options.onlyGroup ?? -1;
    this.keepTruncated = options.truncated === 'keep';
    this.windowStart = this.pos = options.startOffset ?? 0;
    this.stack = [{ kind: FrameKind.DataSet, end: -1, explicitVR: options.explicitVR, littleEndian: options.littleEndian, ds: this.root, element: null }];
  }

  /** Absolute offset of the next byte the parser expects to be fed. */
  get feedOffset(): number {
    return this.windowStart + this.window.length;
  }
  get offset(): number {
    return this.pos;
  }

  feed(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const keep = this.pos - this.windowStart;
    if (keep >= this.window.length) {
      this.windowStart += this.window.length;
      this.window = chunk;
    } else {
      const rest = this.window.subarray(keep);
      // A Buffer, so that text values decode from it without a copy (values.ts latin1Text).
      const merged = Buffer.allocUnsafe(rest.length + chunk.length);
      merged.set(rest);
      merged.set(chunk, rest.length);
      this.window = merged;
      this.windowStart = this.pos;
    }
  }

  /**
   * Hands back the bytes fed but not yet parsed and forgets them; the caller feeds them again at
   * the front of its next chunk. Lets a file reader read straight into one buffer instead of
   * having feed() copy the leftover and the new chunk together.
   */
  takeUnconsumed(): Uint8Array {
    const rest = this.window.subarray(this.pos - this.windowStart);
    this.window = EMPTY;
    this.windowStart = this.pos;
    return rest;
  }

  /** No more input will come. */
  end(): void {
    this.ended = true;
  }

  /**
   * After a 'bulk' step: takes the value's bytes that are already buffered and tells how many are
   * still to come; the driver must consume (or skip) those before feeding again.
   */
  takeBulkBytes(): { buffered: Uint8Array; missing: number } {
    const b = this.pendingBulk!;
    const inWindow = Math.max(0, Math.min(b.length, this.windowStart + this.window.length - b.offset));
    const start = b.offset - this.windowStart;
    const buffered = this.window.subarray(start, start + inWindow);
    const missing = b.length - inWindow;
    this.pos = b.offset + b.length;
    if (missing > 0) {
      this.window = EMPTY;
      this.windowStart = this.pos;
    }
    return { buffered, missing };
  }

  /** After a 'bulk' step and takeBulkBytes(): the value (in memory or a file range) to attach. */
  attachBulk(value: Uint8Array | BulkData): void {
    const b = this.pendingBulk!;
    this.pendingBulk = null;
    if (b.element) {
      // a fragment of encapsulated pixel data
      b.element.encapsulated!.fragments.push(value);
      return;
    }
    const e = value instanceof Uint8Array ? new DataElement(b.tag, b.vr, value) : DataElement.bulkData(b.tag, b.vr, value);
    b.ds!.add(e);
  }

  private available(): number {
    return this.windowStart + this.window.length - this.pos;
  }

  /** Lenient end of input: closes every open frame and records why. */
  private finishTruncated(message: string): ParseStep {
    this.warnings.push(`${message} at offset ${this.pos}; the data set was closed there`);
    this.pos = this.windowStart + this.window.length;
    this.stack.length = 1;
    return { kind: 'done' };
  }

  private truncated(need: number, tag?: Tag): never {
    throw new DicomError('ERR_DICOM_TRUNCATED', `unexpected end of data: needed ${need} bytes, ${this.available()} left`, { offset: this.pos, tag });
  }

  /** Runs until more input is needed, a bulk value is met, or the data set is complete. */
  run(): ParseStep {
    if (this.pendingBulk) throw new Error('attachBulk() must be called after a bulk step');
    const stack = this.stack;
    for (;;) {
      const frame = stack[stack.length - 1]!;
      const avail = this.windowStart + this.window.length - this.pos;
      if (frame.end >= 0 && this.pos >= frame.end) {
        if (this.pos > frame.end) throw new DicomError('ERR_DICOM_BAD_LENGTH', `contents overrun their defined length by ${this.pos - frame.end} bytes`, { offset: frame.end, tag: frame.element?.tag });
        if (stack.length === 1) return { kind: 'done' };
        stack.pop();
        continue;
      }
      if (avail < 8) {
        if (!this.ended) return { kind: 'need', bytes: 8 };
        if (stack.length === 1 && avail === 0) return { kind: 'done' };
        if (stack.length === 1 && this.window.subarray(this.pos - this.windowStart).every((b) => b === 0)) {
          return { kind: 'done' }; // trailing NUL padding some writers leave
        }
        if (this.keepTruncated) return this.finishTruncated(`input ended ${avail === 0 ? 'inside a sequence or item' : 'inside an element header'}`);
        if (avail === 0) {
          const open = frame.element ?? stack[stack.length - 2]?.element;
          throw new DicomError('ERR_DICOM_TRUNCATED', 'unexpected end of data inside a sequence or item', { offset: this.pos, tag: open?.tag });
        }
        this.truncated(8);
      }
      const w = this.window;
      const p = this.pos - this.windowStart;
      const le = frame.littleEndian;
      const group = le ? w[p]! | (w[p + 1]! << 8) : (w[p]! << 8) | w[p + 1]!;
      const elem = le ? w[p + 2]! | (w[p + 3]! << 8) : (w[p + 2]! << 8) | w[p + 3]!;
      const t = ((group << 16) | elem) >>> 0;

      if (frame.kind === FrameKind.DataSet) {
        if (group === 0xfffe) {
          if (t === ITEM_DELIMITATION && frame.end < 0 && stack.length > 1) {
            this.pos += 8;
            stack.pop();
            continue;
          }
          if (t === SEQUENCE_DELIMITATION && stack.length === 1 && this.ended && avail === 8) {
            this.pos += 8; // a stray trailing delimiter
            continue;
          }
          throw new DicomError('ERR_DICOM_BAD_ITEM', `unexpected ${t === ITEM ? 'item' : 'delimitation'} tag in a data set`, { offset: this.pos, tag: t });
        }
        if (stack.length === 1 && (t >= this.untilTag || (this.onlyGroup >= 0 && group !== this.onlyGroup))) return { kind: 'done' };
        const step = this.element(frame, t, w, p, avail);
        if (step) return step;
        continue;
      }

      // Sequence or encapsulated fragments: items and the sequence delimiter only.
      const len = le ? (w[p + 4]! | (w[p + 5]! << 8) | (w[p + 6]! << 16) | (w[p + 7]! << 24)) >>> 0 : ((w[p + 4]! << 24) | (w[p + 5]! << 16) | (w[p + 6]! << 8) | w[p + 7]!) >>> 0;
      if (t === SEQUENCE_DELIMITATION) {
        this.pos += 8;
        if (frame.end < 0) stack.pop();
        continue;
      }
      if (t !== ITEM) {
        if (frame.kind === FrameKind.Sequence && frame.end < 0 && t === ITEM_DELIMITATION) {
          this.pos += 8; // an item delimiter after a defined-length item; harmless
          continue;
        }
        throw new DicomError('ERR_DICOM_BAD_ITEM', `expected an item tag (FFFE,E000) in ${frame.kind === FrameKind.Sequence ? 'a sequence' : 'encapsulated pixel data'}`, { offset: this.pos, tag: frame.element!.tag });
      }
      if (frame.kind === FrameKind.Sequence) {
        if (stack.length > 2 * MAX_SEQUENCE_DEPTH) {
          throw new DicomError('ERR_DICOM_BAD_ITEM', `sequences nested more than ${MAX_SEQUENCE_DEPTH} deep`, { offset: this.pos, tag: frame.element!.tag });
        }
        const item = new DataSet({ littleEndian: le, parent: frame.ds });
        item.undefinedLength = len === UNDEFINED_LENGTH;
        frame.element!.items!.push(item);
        this.pos += 8;
        let end = len === UNDEFINED_LENGTH ? -1 : this.pos + len;
        if (frame.end >= 0 && end > frame.end) {
          // Seen in DICOMDIRs written by old tools: the item is cut to the sequence's length, as pydicom and DCMTK read it.
          this.warnings.push(`item at offset ${this.pos - 8} of ${len} bytes runs ${end - frame.end} bytes past the end of its sequence; read up to the sequence end`);
          end = frame.end;
        }
        stack.push({ kind: FrameKind.DataSet, end, explicitVR: frame.explicitVR, littleEndian: le, ds: item, element: frame.element });
        continue;
      }
      // A fragment (PS3.5 A.4): the first item is the Basic Offset Table.
      if (len === UNDEFINED_LENGTH) throw new DicomError('ERR_DICOM_BAD_LENGTH', 'fragment with undefined length', { offset: this.pos, tag: frame.element!.tag });
      const enc = frame.element!.encapsulated!;
      const first = !(frame as FragmentsFrame).sawOffsetTable;
      if (!first && len > this.threshold) {
        this.pos += 8;
        this.pendingBulk = { ds: null, element: frame.element, tag: PIXEL_DATA, vr: frame.element!.vr, offset: this.pos, length: len };
        return { kind: 'bulk', tag: PIXEL_DATA, vr: frame.element!.vr, offset: this.pos, length: len };
      }
      if (avail < 8 + len) {
        if (this.ended && this.keepTruncated) {
          enc.fragments.push(w.subarray(p + 8));
          return this.finishTruncated(`fragment of ${len} bytes cut short`);
        }
        if (this.ended) this.truncated(8 + len, frame.element!.tag);
        return { kind: 'need', bytes: 8 + len };
      }
      const value = w.subarray(p + 8, p + 8 + len);
      if (first) {
        enc.offsetTable = value;
        (frame as FragmentsFrame).sawOffsetTable = true;
      } else enc.fragments.push(value);
      this.pos += 8 + len;
    }
  }

  /** Parses one element header (and value) in a data set frame. Returns a step to stop, or undefined to go on. */
  private element(frame: Frame, t: Tag, w: Uint8Array, p: number, avail: number): ParseStep | undefined {
    const le = frame.littleEndian;
    const ds = frame.ds!;
    let vr: VR;
    let len: number;
    let header: number;
    if (frame.explicitVR) {
      const code = (w[p + 4]! << 8) | w[p + 5]!;
      const known = VR_BY_CODE[code];
      if (known === undefined) {
        // PS3.5 §6.2 says an unknown VR is read like UN (long header); anything not uppercase letters is corrupt.
        const c0 = w[p + 4]!, c1 = w[p + 5]!;
        if (c0 >= 0x41 && c0 <= 0x5a && c1 >= 0x41 && c1 <= 0x5a) {
          vr = 'UN';
          if (avail < 12) return this.need(12, t);
          len = le ? (w[p + 8]! | (w[p + 9]! << 8) | (w[p + 10]! << 16) | (w[p + 11]! << 24)) >>> 0 : ((w[p + 8]! << 24) | (w[p + 9]! << 16) | (w[p + 10]! << 8) | w[p + 11]!) >>> 0;
          header = 12;
        } else {
          throw new DicomError('ERR_DICOM_BAD_VR', `invalid VR bytes 0x${c0.toString(16).padStart(2, '0')}${c1.toString(16).padStart(2, '0')}`, { offset: this.pos + 4, tag: t });
        }
      } else {
        vr = known;
        if (hasLongExplicitHeader(vr)) {
          if (avail < 12) return this.need(12, t);
          len = le ? (w[p + 8]! | (w[p + 9]! << 8) | (w[p + 10]! << 16) | (w[p + 11]! << 24)) >>> 0 : ((w[p + 8]! << 24) | (w[p + 9]! << 16) | (w[p + 10]! << 8) | w[p + 11]!) >>> 0;
          header = 12;
        } else {
          len = le ? w[p + 6]! | (w[p + 7]! << 8) : (w[p + 6]! << 8) | w[p + 7]!;
          header = 8;
        }
      }
    } else {
      len = le ? (w[p + 4]! | (w[p + 5]! << 8) | (w[p + 6]! << 16) | (w[p + 7]! << 24)) >>> 0 : ((w[p + 4]! << 24) | (w[p + 5]! << 16) | (w[p + 6]! << 8) | w[p + 7]!) >>> 0;
      header = 8;
      vr = implicitVR(t, ds, this.root);
    }

    if (len === UNDEFINED_LENGTH) {
      if (t === PIXEL_DATA) {
        // Encapsulated pixel data is OB (PS3.5 A.4), also when a writer put it in an implicit VR data set.
        const e = DataElement.encapsulatedPixelData(t, frame.explicitVR ? vr : 'OB', { offsetTable: EMPTY, fragments: [] });
        ds.add(e);
        this.pos += header;
        this.stack.push({ kind: FrameKind.Fragments, end: -1, explicitVR: true, littleEndian: le, ds, element: e, sawOffsetTable: false } as FragmentsFrame);
        return undefined;
      }
      // SQ; or UN / unknown implicit of undefined length: a sequence in Implicit VR Little Endian (PS3.5 §6.2.2).
      const asUN = vr !== 'SQ';
      if (asUN && frame.explicitVR && vr !== 'UN') {
        throw new DicomError('ERR_DICOM_BAD_LENGTH', `undefined length is not allowed for VR ${vr}`, { offset: this.pos, tag: t });
      }
      const e = DataElement.sequence(t, [], frame.explicitVR ? vr : 'SQ', true);
      ds.add(e);
      this.pos += header;
      const explicitItems = asUN ? false : frame.explicitVR;
      this.stack.push({ kind: FrameKind.Sequence, end: -1, explicitVR: explicitItems, littleEndian: asUN ? true : le, ds, element: e });
      return undefined;
    }

    if (vr === 'SQ') {
      const e = DataElement.sequence(t, [], 'SQ', false);
      ds.add(e);
      this.pos += header;
      if (len > 0) this.stack.push({ kind: FrameKind.Sequence, end: this.pos + len, explicitVR: frame.explicitVR, littleEndian: le, ds, element: e });
      return undefined;
    }
    if (len > this.threshold) {
      this.pos += header;
      this.pendingBulk = { ds, element: null, tag: t, vr, offset: this.pos, length: len };
      return { kind: 'bulk', tag: t, vr, offset: this.pos, length: len };
    }
    if (avail < header + len) {
      if (this.ended && this.keepTruncated && avail >= header) {
        ds.add(new DataElement(t, vr, w, p + header, avail - header));
        return this.finishTruncated(`value of ${formatTagShort(t)} (${len} bytes) cut short to ${avail - header}`);
      }
      if (this.ended) {
        throw new DicomError('ERR_DICOM_TRUNCATED', `value length ${len} exceeds the ${Math.max(0, avail - header)} bytes remaining`, { offset: this.pos, tag: t });
      }
      return { kind: 'need', bytes: header + len };
    }
    if (frame.end >= 0 && this.pos + header + len > frame.end) {
      throw new DicomError('ERR_DICOM_BAD_LENGTH', `value length ${len} runs past the end of its item`, { offset: this.pos, tag: t });
    }
    ds.add(new DataElement(t, vr, w, p + header, len));
    this.pos += header + len;
    return undefined;
  }

  private need(bytes: number, t: Tag): ParseStep {
    if (this.ended && this.keepTruncated) return this.finishTruncated('input ended inside an element header');
    if (this.ended) this.truncated(bytes, t);
    return { kind: 'need', bytes };
  }
}

function formatTagShort(t: Tag): string {
  const h = t.toString(16).toUpperCase().padStart(8, '0');
  return `(${h.slice(0, 4)},${h.slice(4)})`;
}

interface FragmentsFrame extends Frame {
  sawOffsetTable: boolean;
}

/** Parses a whole data set held in memory. Elements are views of `bytes` (no copy). */
export function parseDataSet(bytes: Uint8Array, options: Omit<DataSetParserOptions, 'bulkDataThreshold'>, warnings?: string[]): DataSet {
  const parser = new DataSetParser(options);
  parser.feed(bytes);
  parser.end();
  const step = parser.run();
  if (step.kind !== 'done') throw new Error(`unexpected parser step ${step.kind}`);
  warnings?.push(...parser.warnings);
  return parser.root;
}

