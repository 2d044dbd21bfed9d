/**
 * A data set read straight into the places its fragments take in the P-DATA-TF PDUs that carry it
 * (one PDV per PDU), so that a message goes out as one range of one buffer, in one write, with no
 * object per PDU: the reader reads with one readv into slots (SlotBuffer.slots), each slot preceded
 * by a gap for the PDU and PDV headers (PS3.8 §9.3.5, Table 9-22; §9.3.5.1, Table 9-23), which the
 * Upper Layer writes (upper-layer/pdu/p-data-tf.ts, encodeLaidOutPDataTf). The command set is
 * copied in front of the data set's first header, in a PDU of its own. Fragment lengths follow the
 * fragmenter's rules (fragmenter.ts): at most the peer's maximum less a PDV's overhead, even.
 */
import { SINGLE_PDV_HEADER_LENGTH, type LaidOutPdvs } from '../upper-layer/pdu/p-data-tf.js';

/** Where a data set's fragments go in a buffer: their length, and the room kept in front for the command. */
export interface DataSetLayout {
  /** The longest fragment the peer takes (maxFragmentLength): every slot but the first and last holds one. */
  fragmentLength: number;
  /** Bytes kept in front of the first slot, for the command's PDU and the first data PDU's header. */
  reserve: number;
}

/** In front of the first slot: room for a command set of ~1,000 bytes (a C-STORE-RQ's is ~200-400) and two headers. */
export const COMMAND_RESERVE = 1024;

/** Linux's IOV_MAX: libuv reads into no more buffers than this in one readv (the rest would look like the file's end). */
const MAX_SLOTS = 1024;

/**
 * Calls `slot` with each slot's start and end in a buffer of `bufferLength` bytes cut by `layout`
 * (the first slot `firstLength` bytes long); returns the bytes the slots hold in all.
 */
function forEachSlot(bufferLength: number, layout: DataSetLayout, firstLength: number, slot: (start: number, end: number) => void): number {
  let capacity = 0;
  let at = layout.reserve;
  let n = firstLength;
  for (let count = 0; at < bufferLength && count < MAX_SLOTS; count++) {
    const end = Math.min(at + n, bufferLength);
    slot(at, end);
    capacity += end - at;
    at = end + SINGLE_PDV_HEADER_LENGTH;
    n = layout.fragmentLength;
  }
  return capacity;
}

/** The most data set bytes a buffer of `bufferLength` bytes holds laid out from its data set's first byte. */
export function laidOutCapacity(bufferLength: number, layout: DataSetLayout): number {
  return forEachSlot(bufferLength, layout, layout.fragmentLength, () => undefined);
}

/**
 * A data set laid out in a buffer: its first `firstLength` bytes at `at`, then fragments of
 * `fragmentLength` bytes, each after a gap of SINGLE_PDV_HEADER_LENGTH bytes, `length` bytes in all;
 * the bytes in front of `at` are free for the headers and the command (they hold what was read before
 * the data set: the reserve, or the file's head).
 */
export class LaidOutDataSet {
  constructor(
    readonly buffer: Uint8Array,
    readonly at: number,
    readonly firstLength: number,
    readonly fragmentLength: number,
    readonly length: number,
  ) {}

  /** The data set's bytes in pieces (views of the buffer), for a sender that does not send it laid out. */
  *chunks(): Generator<Uint8Array> {
    let at = this.at;
    let left = this.length;
    let n = this.firstLength;
    while (left > 0) {
      yield this.buffer.subarray(at, at + n);
      left -= n;
      at += n + SINGLE_PDV_HEADER_LENGTH;
      n = Math.min(this.fragmentLength, left);
    }
  }
}

/**
 * A read buffer cut into slots by a DataSetLayout: the first slot at `layout.reserve`, of a length
 * the reader chooses (firstLength), then slots of `fragmentLength` bytes, each after a gap, to the
 * buffer's end (the last slot cut short by it) or MAX_SLOTS. The slots' views are kept for the
 * next read of the same shape (one readv per file, no view made per file).
 */
export class SlotBuffer {
  private views: Uint8Array[] = [];
  private viewsFirst = -1;
  private viewsCapacity = 0;

  constructor(readonly buffer: Uint8Array, readonly layout: DataSetLayout) {}

  /** The slots to read into (fs.readvSync), the first `firstLength` bytes long. */
  slots(firstLength: number): Uint8Array[] {
    if (firstLength === this.viewsFirst) return this.views;
    const { buffer } = this;
    const views: Uint8Array[] = [];
    const capacity = forEachSlot(buffer.length, this.layout, firstLength, (start, end) => views.push(buffer.subarray(start, end)));
    this.views = views;
    this.viewsFirst = firstLength;
    this.viewsCapacity = capacity;
    return views;
  }

  /**
   * The data set after a read of `bytesRead` bytes into slots(firstLength), the data set starting
   * `start` bytes into what was read. Undefined when the read filled every slot (the file may go
   * on) or when the data set's first fragment would have an odd length with more to follow (the
   * slots' boundaries would then cut odd fragments: read it again from its first byte).
   */
  laidOut(firstLength: number, bytesRead: number, start: number): LaidOutDataSet | undefined {
    this.slots(firstLength);
    if (bytesRead >= this.viewsCapacity || start > bytesRead) return undefined;
    const { reserve, fragmentLength } = this.layout;
    let at: number;
    let slotEnd: number;
    if (start < firstLength) {
      at = reserve + start;
      slotEnd = firstLength;
    } else {
      const k = 1 + Math.floor((start - firstLength) / fragmentLength);
      const slotStart = reserve + firstLength + k * SINGLE_PDV_HEADER_LENGTH + (k - 1) * fragmentLength;
      at = slotStart + (start - firstLength - (k - 1) * fragmentLength);
      slotEnd = firstLength + k * fragmentLength;
    }
    const length = bytesRead - start;
    const first = Math.min(slotEnd, bytesRead) - start;
    if (first > fragmentLength || (first % 2 !== 0 && first < length)) return undefined;
    return new LaidOutDataSet(this.buffer, at, first, fragmentLength, length);
  }
}

/**
 * The message's PDVs laid out: `command` copied in front of the data set's first header, in a PDU
 * of its own. Undefined when the data set was laid out for another fragment length, or the command
 * does not fit in one fragment or in the room in front.
 */
export function laidOutMessage(command: Uint8Array, dataSet: LaidOutDataSet, presentationContextId: number, fragmentLength: number): LaidOutPdvs | undefined {
  if (dataSet.fragmentLength !== fragmentLength || command.length > fragmentLength) return undefined;
  const commandAt = dataSet.at - SINGLE_PDV_HEADER_LENGTH - command.length;
  if (commandAt < SINGLE_PDV_HEADER_LENGTH) return undefined;
  dataSet.buffer.set(command, commandAt);
  return {
    buffer: dataSet.buffer,
    presentationContextId,
    fragmentLength,
    runs: [
      { isCommand: true, at: commandAt, firstLength: command.length, length: command.length },
      { isCommand: false, at: dataSet.at, firstLength: dataSet.firstLength, length: dataSet.length },
    ],
  };
}
