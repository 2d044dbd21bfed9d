/**
 * Message IDs (0000,0110): a US that distinguishes a request from the others outstanding on the
 * association (PS3.7 §9.3.1.1, Table 9.3-1: "implementation-specific value"); responses and
 * C-CANCEL-RQ name it in Message ID Being Responded To. Conduit uses 1..65535 and wraps, skipping
 * the IDs still awaiting their final response.
 */
import { DicomError } from '../core/dicom-error.js';

export const MIN_MESSAGE_ID = 1;
export const MAX_MESSAGE_ID = 0xffff;

export function isValidMessageId(id: number): boolean {
  return Number.isInteger(id) && id >= MIN_MESSAGE_ID && id <= MAX_MESSAGE_ID;
}

/** The ID after `id`, wrapping from 65535 to 1. */
export function nextMessageId(id: number): number {
  return id >= MAX_MESSAGE_ID || id < MIN_MESSAGE_ID ? MIN_MESSAGE_ID : id + 1;
}

/** Allocates Message IDs for one association (one allocator per association; no global state). */
export class MessageIdAllocator {
  private last: number;
  private readonly inUse = new Set<number>();

  /** @param options.first the first ID to hand out (default 1). */
  constructor(options: { first?: number } = {}) {
    const first = options.first ?? MIN_MESSAGE_ID;
    if (!isValidMessageId(first)) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `first Message ID ${first} is not in 1..65535`);
    this.last = first === MIN_MESSAGE_ID ? MAX_MESSAGE_ID : first - 1;
  }

  /** The next free ID; it stays outstanding until release(). */
  allocate(): number {
    if (this.inUse.size >= MAX_MESSAGE_ID) {
      throw new DicomError('ERR_DICOM_DIMSE_MESSAGE_IDS_EXHAUSTED', 'all 65535 Message IDs are awaiting a response');
    }
    let id = nextMessageId(this.last);
    while (this.inUse.has(id)) id = nextMessageId(id);
    this.last = id;
    this.inUse.add(id);
    return id;
  }

  /** The operation is over (final response received, or the association ended). */
  release(id: number): boolean {
    return this.inUse.delete(id);
  }

  isOutstanding(id: number): boolean {
    return this.inUse.has(id);
  }

  get outstanding(): number {
    return this.inUse.size;
  }
}
