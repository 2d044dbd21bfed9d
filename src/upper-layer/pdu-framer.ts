/**
 * Cuts a TCP byte stream into PDUs, whatever the chunking: each PDU is its 6-byte header (PDU-type,
 * reserved, PDU-length; PS3.8 §9.3.1) and PDU-length body bytes. A body that lies within one chunk
 * is handed on as a view of that chunk (no copy); one spread over chunks is gathered once.
 *
 * The framer refuses, as soon as the header shows it, an unknown PDU-type (A-ABORT reason 1) and a
 * PDU-length over the limit (reason 6), so that garbage or a hostile length is never buffered. After
 * an error the stream cannot be resynchronised; the framer drops all further input.
 *
 * Streaming P-DATA-TF: given an `onPData` handler, a P-DATA-TF whose body is not within one chunk
 * is not gathered. Its presentation-data-value items are read as the bytes come (PS3.8 §9.3.5.1)
 * and handed on per chunk as pieces: views of the chunk, each with its item's presentation context
 * and command bit, and `isLast` only on the piece that ends an item marked last. To DIMSE this is
 * the same message (PS3.8 Annex E: fragments are concatenated whatever the PDU boundaries), without
 * a copy of the body or a buffer per PDU, and its first bytes reach the consumer before its last
 * ones arrive. An item-length that does not fit the PDU is refused when its item header is read.
 */
import { AbortReason, PduError } from './errors.js';
import type { PresentationDataValue } from './pdu/p-data-tf.js';
import { PDU_HEADER_LENGTH } from './pdu/pdu-bytes.js';
import { PduType, isPduType, pduTypeName } from './pdu/pdu-type.js';

export interface PduFramerOptions {
  /**
   * The largest PDU-length accepted for P-DATA-TF: the Maximum Length this end announced (PS3.8
   * Annex D.1); 0, no limit: a P-DATA-TF of any length is taken when streamed (push with onPData),
   * and one gathered whole is refused past UNLIMITED_PDU_LENGTH_BOUND, so that a peer cannot make
   * this end allocate gigabytes.
   */
  maxPduLength: number;
  /** The largest PDU-length accepted for A-ASSOCIATE-RQ/AC. Default 1 MiB. */
  maxAssociatePduLength?: number;
}

export const DEFAULT_MAX_ASSOCIATE_PDU_LENGTH = 1024 * 1024;

/** With no limit announced (Maximum Length 0), the longest P-DATA-TF gathered whole (not streamed). */
export const UNLIMITED_PDU_LENGTH_BOUND = 64 * 1024 * 1024;

export type PduHandler = (type: PduType, body: Uint8Array) => void;
/** Pieces of the items of a streamed P-DATA-TF, in order (see the module comment). */
export type PDataHandler = (pieces: PresentationDataValue[]) => void;

/** Bytes of a presentation-data-value item header: Item-length (4), Presentation-context-ID (1), control (1). */
const ITEM_HEADER_LENGTH = 6;
/** How many of the bytes that began an unrecognized PDU its error keeps (PduError.received). */
const RECEIVED_SHOWN = 16;

export class PduFramer {
  private maxPduLength = 0;
  /** The longest P-DATA-TF gathered whole: unbounded but by maxPduLength unless no limit was announced. */
  private maxGatheredLength = 0;
  private readonly maxAssociatePduLength: number;
  private readonly header = new Uint8Array(PDU_HEADER_LENGTH);
  private headerFill = 0;
  private body: Uint8Array | undefined;
  private bodyFill = 0;
  private type: PduType = PduType.AAbort;
  private failed = false;
  // A P-DATA-TF being streamed: body bytes still to come (0: none being streamed), the current
  // item's header as gathered, and the fragment bytes of the current item still to come.
  private pdataLeft = 0;
  private pdataLength = 0;
  private readonly itemHeader = new Uint8Array(ITEM_HEADER_LENGTH);
  private itemHeaderFill = 0;
  private itemLeft = 0;
  private itemContextId = 0;
  private itemControl = 0;

  constructor(options: PduFramerOptions) {
    this.setMaxPduLength(options.maxPduLength);
    this.maxAssociatePduLength = options.maxAssociatePduLength ?? DEFAULT_MAX_ASSOCIATE_PDU_LENGTH;
  }

  /** Bytes held for a PDU not yet complete. */
  get buffered(): number {
    return this.headerFill + this.bodyFill + this.itemHeaderFill;
  }

  /** A P-DATA-TF is being streamed: the next push() must give onPData. */
  get streaming(): boolean {
    return this.pdataLeft > 0;
  }

  /** True once an error was thrown: input is dropped from then on. */
  get isFailed(): boolean {
    return this.failed;
  }

  /** The Maximum Length announced (PS3.8 Annex D.1); 0: no limit. */
  setMaxPduLength(n: number): void {
    this.maxPduLength = n > 0 ? n : Infinity;
    this.maxGatheredLength = n > 0 ? Infinity : UNLIMITED_PDU_LENGTH_BOUND;
  }

  /**
   * Feeds a chunk; calls `onPdu` for every PDU it completes, in order, then throws a PduError if the
   * chunk went on with something that is not a PDU.
   */
  push(chunk: Uint8Array, onPdu: PduHandler, onPData?: PDataHandler): void {
    if (this.failed) return;
    let at = 0;
    const n = chunk.length;
    while (at < n) {
      if (this.pdataLeft > 0) {
        at = this.streamPData(chunk, at, onPData!);
        continue;
      }
      if (this.body !== undefined) {
        const take = Math.min(this.body.length - this.bodyFill, n - at);
        this.body.set(chunk.subarray(at, at + take), this.bodyFill);
        this.bodyFill += take;
        at += take;
        if (this.bodyFill === this.body.length) {
          const body = this.body;
          this.body = undefined;
          this.bodyFill = 0;
          onPdu(this.type, body);
        }
        continue;
      }
      let length: number;
      if (this.headerFill === 0 && n - at >= PDU_HEADER_LENGTH) {
        // Fast path: the whole header is in this chunk.
        this.type = this.checkType(chunk, at);
        length = ((chunk[at + 2]! << 24) >>> 0) + (chunk[at + 3]! << 16) + (chunk[at + 4]! << 8) + chunk[at + 5]!;
        at += PDU_HEADER_LENGTH;
      } else {
        if (this.headerFill === 0) this.type = this.checkType(chunk, at);
        const take = Math.min(PDU_HEADER_LENGTH - this.headerFill, n - at);
        this.header.set(chunk.subarray(at, at + take), this.headerFill);
        this.headerFill += take;
        at += take;
        if (this.headerFill < PDU_HEADER_LENGTH) return;
        this.headerFill = 0;
        const h = this.header;
        length = ((h[2]! << 24) >>> 0) + (h[3]! << 16) + (h[4]! << 8) + h[5]!;
      }
      this.checkLength(length);
      if (n - at >= length) {
        const body = chunk.subarray(at, at + length);
        at += length;
        onPdu(this.type, body);
      } else if (this.type === PduType.PDataTf && onPData !== undefined && length > 0) {
        this.pdataLeft = length;
        this.pdataLength = length;
      } else {
        if (this.type === PduType.PDataTf && length > this.maxGatheredLength) {
          this.fail(new PduError(AbortReason.InvalidPduParameterValue,
            `P-DATA-TF PDU-length ${length} is more than the ${this.maxGatheredLength} bytes gathered whole when no maximum length was announced`, 2, 'ERR_DICOM_PDU_TOO_LARGE'));
        }
        // Filled completely before it is handed on, so no zeroing is needed.
        this.body = Buffer.allocUnsafe(length);
        this.bodyFill = 0;
      }
    }
  }

  /** Reads streamed P-DATA-TF bytes from `chunk` at `at`; hands on the pieces; returns where it stopped. */
  private streamPData(chunk: Uint8Array, at: number, onPData: PDataHandler): number {
    const pieces: PresentationDataValue[] = [];
    const n = chunk.length;
    while (at < n && this.pdataLeft > 0) {
      if (this.itemLeft === 0) {
        if (this.itemHeaderFill === 0 && this.pdataLeft < ITEM_HEADER_LENGTH) {
          this.fail(new PduError(AbortReason.InvalidPduParameterValue,
            `P-DATA-TF ends with ${this.pdataLeft} bytes, too few for a presentation-data-value item`, this.offsetInPdu()));
        }
        const take = Math.min(ITEM_HEADER_LENGTH - this.itemHeaderFill, n - at);
        this.itemHeader.set(chunk.subarray(at, at + take), this.itemHeaderFill);
        this.itemHeaderFill += take;
        at += take;
        if (this.itemHeaderFill < ITEM_HEADER_LENGTH) break;
        const h = this.itemHeader;
        const length = ((h[0]! << 24) >>> 0) + (h[1]! << 16) + (h[2]! << 8) + h[3]!;
        const left = this.pdataLeft - ITEM_HEADER_LENGTH;
        if (length < 2 || length - 2 > left) {
          const offset = this.offsetInPdu();
          this.itemHeaderFill = 0;
          this.fail(new PduError(AbortReason.InvalidPduParameterValue,
            `presentation-data-value item length ${length} does not fit the ${left + 2} bytes left in the P-DATA-TF`, offset));
        }
        this.itemHeaderFill = 0;
        this.pdataLeft = left;
        this.itemContextId = h[4]!;
        this.itemControl = h[5]!;
        this.itemLeft = length - 2;
        if (this.itemLeft === 0) pieces.push(this.piece(chunk.subarray(at, at), true));
        continue;
      }
      const take = Math.min(this.itemLeft, n - at);
      this.itemLeft -= take;
      this.pdataLeft -= take;
      // A read inside one item (most reads of a large P-DATA-TF) is handed on as it is: no view.
      pieces.push(this.piece(take === n ? chunk : chunk.subarray(at, at + take), this.itemLeft === 0));
      at += take;
    }
    if (pieces.length > 0) onPData(pieces);
    return at;
  }

  private piece(data: Uint8Array, endsItem: boolean): PresentationDataValue {
    const control = this.itemControl;
    return { presentationContextId: this.itemContextId, isCommand: (control & 0x01) !== 0, isLast: endsItem && (control & 0x02) !== 0, data };
  }

  /** Offset in the PDU of the item header being read (for error reports, as decodePDataTf gives). */
  private offsetInPdu(): number {
    return PDU_HEADER_LENGTH + this.pdataLength - this.pdataLeft;
  }

  private checkType(chunk: Uint8Array, at: number): PduType {
    const type = chunk[at]!;
    if (!isPduType(type)) {
      const error = new PduError(AbortReason.UnrecognizedPdu, `${pduTypeName(type)} is not a PDU of PS3.8 §9.3`);
      // What came instead tells a user which port they reached (an HTTP server's "HTTP/1.1 400").
      error.received = chunk.slice(at, at + RECEIVED_SHOWN);
      this.fail(error);
    }
    return type;
  }

  private checkLength(length: number): void {
    const type = this.type;
    if (type === PduType.PDataTf) {
      if (length > this.maxPduLength) {
        this.fail(new PduError(AbortReason.InvalidPduParameterValue,
          `P-DATA-TF PDU-length ${length} exceeds the maximum length ${this.maxPduLength} announced`, 2, 'ERR_DICOM_PDU_TOO_LARGE'));
      }
    } else if (type === PduType.AAssociateRq || type === PduType.AAssociateAc) {
      if (length > this.maxAssociatePduLength) {
        this.fail(new PduError(AbortReason.InvalidPduParameterValue,
          `${pduTypeName(type)} PDU-length ${length} exceeds the ${this.maxAssociatePduLength} bytes accepted`, 2, 'ERR_DICOM_PDU_TOO_LARGE'));
      }
    } else if (length !== 4) {
      // PS3.8 §9.3.4, §9.3.6-9.3.8: these PDUs have PDU-length 4; waiting for more would only hang.
      this.fail(new PduError(AbortReason.InvalidPduParameterValue, `${pduTypeName(type)} PDU-length is ${length}, not 4`, 2));
    }
  }

  private fail(error: PduError): never {
    this.failed = true;
    this.body = undefined;
    this.headerFill = 0;
    this.bodyFill = 0;
    this.pdataLeft = 0;
    this.itemLeft = 0;
    this.itemHeaderFill = 0;
    throw error;
  }
}
