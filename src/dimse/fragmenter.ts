/**
 * Cuts a message (command set, then optional data set) into PDVs and groups them into P-DATA-TF
 * PDUs that fit the peer's Maximum Length Received (PS3.8 §9.3.5, Annex D.1, Annex E.1):
 *
 * - the peer's maximum limits the PDU's variable field: each PDV costs 6 bytes (item length 4,
 *   presentation context ID 1, Message Control Header 1) plus its fragment; 0 means no limit;
 * - every fragment has an even length (Annex E.1), so an odd command or data set is refused;
 * - PDVs of one message only, in order, on one presentation context (Annex E.1);
 * - no two PDVs of the same kind in one PDU ("strongly recommended", Annex E.1): a PDU holds one
 *   PDV, except that the last command fragment and the first data fragment may share one (the
 *   Annex E.1 note);
 * - no empty PDV, except the single one that stands for an empty data set.
 *
 * A data set can be bytes in memory or a stream of chunks (e.g. a file being read). Fragments are
 * views of the input; only a fragment that straddles two chunks is gathered into a new buffer,
 * at most one per chunk. The generator pulls a chunk only when the previous PDUs have been taken,
 * so a 2 GB data set goes out in memory bounded by one chunk plus one fragment. A data set already
 * in memory is cut at once (fragmentWholeMessage, the same PDUs) and its message sent in one write.
 */
import { concatBytes } from '../core/bytes.js';
import { DicomError } from '../core/dicom-error.js';
import type { LaidOutPdvs } from '../upper-layer/pdu/p-data-tf.js';
import { COMMAND_RESERVE, laidOutMessage, LaidOutDataSet, type DataSetLayout } from './laid-out.js';
import {
  P_DATA_TF_HEADER_LENGTH, PDV_ITEM_OVERHEAD, pDataTfVariableLength, type PresentationDataValue, type SendPData,
} from './presentation-data-value.js';

export interface FragmentOptions {
  /** The presentation context of the message. */
  presentationContextId: number;
  /**
   * The peer's Maximum Length Received (PS3.8 Annex D.1.1): the largest variable field of a
   * P-DATA-TF PDU it accepts, not counting the 6-byte PDU header. 0 means no limit.
   */
  maxPduLength: number;
  /** Fragment length used when maxPduLength is 0, so that PDUs stay bounded anyway. Default 1 MiB. */
  unlimitedFragmentLength?: number;
}

export interface FragmentHooks {
  /**
   * Called (and awaited) just before the next chunk is pulled from the data set source. A sender
   * that holds PDUs back to write them together sends them here, so that when a chunk is pulled no
   * view of an older chunk is still waiting to be sent (a source may refill its buffers).
   */
  beforePull?: () => void | Promise<void>;
}

/** Sends several P-DATA-TF PDUs in one write; resolves when the transport can take more. */
export type SendPDataGroup = (pdus: PresentationDataValue[][]) => Promise<void>;

/** Sends the PDUs laid out in one buffer (dimse/laid-out.ts) in one write; resolves when the transport can take more. */
export type SendPDataLaidOut = (laid: LaidOutPdvs) => Promise<void>;

/** A group of PDUs is sent once it holds this many bytes, even if the source has more to give. */
export const MAX_GROUP_BYTES = 1 << 20;

/** A data set to send: bytes, or chunks from a synchronous or asynchronous source. */
export type DataSetSource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * A streamed data set that can also give all its bytes in one piece when they fit in memory (e.g.
 * a file read whole into a reused buffer), or laid out for the PDUs (LaidOutDataSet). sendMessage
 * asks for them when the message's turn to be sent has come, and sends the whole message in one
 * write; undefined means: stream it instead.
 */
export interface WholeDataSetSource extends AsyncIterable<Uint8Array> {
  whole(): Promise<Uint8Array | LaidOutDataSet | undefined>;
}

function isWholeDataSetSource(source: DataSetSource | null): source is WholeDataSetSource {
  return source !== null && typeof (source as Partial<WholeDataSetSource>).whole === 'function';
}

export const DEFAULT_UNLIMITED_FRAGMENT_LENGTH = 1 << 20;
const MAX_UINT32 = 0xffffffff;
const EMPTY = new Uint8Array(0);

const floorEven = (n: number): number => n - (n % 2);

/** The largest fragment one PDV may carry under these options (even, at least 2). */
export function maxFragmentLength(options: FragmentOptions): number {
  const { maxPduLength } = options;
  if (!Number.isInteger(maxPduLength) || maxPduLength < 0 || maxPduLength > MAX_UINT32) {
    throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `maximum PDU length ${maxPduLength} is not a 32-bit unsigned integer`);
  }
  if (maxPduLength === 0) {
    const n = options.unlimitedFragmentLength ?? DEFAULT_UNLIMITED_FRAGMENT_LENGTH;
    if (!Number.isInteger(n) || n < 2 || n > MAX_UINT32 - PDV_ITEM_OVERHEAD - P_DATA_TF_HEADER_LENGTH) {
      throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `unlimited fragment length ${n} is out of range`);
    }
    return floorEven(n);
  }
  const n = floorEven(maxPduLength - PDV_ITEM_OVERHEAD);
  if (n < 2) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `maximum PDU length ${maxPduLength} leaves no room for a fragment`);
  return n;
}

/** Where a data set read for these options goes in a read buffer (dimse/laid-out.ts): fragments as fragmentMessage cuts them. */
export function dataSetLayout(maxPduLength: number): DataSetLayout {
  return { fragmentLength: maxFragmentLength({ presentationContextId: 1, maxPduLength }), reserve: COMMAND_RESERVE };
}

function checkPresentationContextId(id: number): void {
  // PS3.8 §9.3.2.2: odd integers between 1 and 255.
  if (!Number.isInteger(id) || id < 1 || id > 255 || id % 2 === 0) {
    throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `presentation context ID ${id} is not an odd number in 1..255`);
  }
}

/**
 * The PDUs (as PDV lists, one per P-DATA-TF) of a message. `command` is an encoded command set
 * (see encodeCommand); `dataSet` is already encoded in the presentation context's transfer syntax.
 */
export async function* fragmentMessage(
  command: Uint8Array,
  dataSet: DataSetSource | null,
  options: FragmentOptions,
  hooks: FragmentHooks = {},
): AsyncGenerator<PresentationDataValue[], void, undefined> {
  const fragment = checkMessage(command, options);
  const presentationContextId = options.presentationContextId;
  const commandPdus = fragmentCommand(command, presentationContextId, fragment);
  const lastCommand = commandPdus.pop()![0]!;
  yield* commandPdus;
  if (dataSet === null) {
    yield [lastCommand];
    return;
  }

  const reader = new ChunkReader(dataSet, hooks.beforePull);
  try {
    let batch: PresentationDataValue[] = [lastCommand];
    let room = firstDataRoom(lastCommand, fragment);
    if (room < 2) {
      yield batch;
      batch = [];
    }
    for (;;) {
      const size = batch.length > 0 ? floorEven(Math.min(room, fragment)) : fragment;
      // Within the chunk in hand no await is needed (two microtask hops per PDU saved).
      const data = reader.takeInHand(size) ?? await reader.take(size);
      const isLast = reader.hasBytesInHand ? false : await reader.exhausted();
      if (isLast && data.length % 2 !== 0) throw oddDataSet(reader.total);
      batch.push({ presentationContextId, isCommand: false, isLast, data });
      yield batch;
      if (isLast) return;
      batch = [];
      room = 0;
    }
  } finally {
    await reader.close();
  }
}

/** Checks what fragmentMessage and fragmentWholeMessage check first; returns the largest fragment. */
function checkMessage(command: Uint8Array, options: FragmentOptions): number {
  const fragment = maxFragmentLength(options);
  checkPresentationContextId(options.presentationContextId);
  if (command.length === 0 || command.length % 2 !== 0) {
    throw new DicomError('ERR_DICOM_DIMSE_ODD_LENGTH', `a command set of ${command.length} bytes cannot be sent: fragments must have an even, non-zero length (PS3.8 Annex E.1)`);
  }
  return fragment;
}

function oddDataSet(length: number): DicomError {
  return new DicomError('ERR_DICOM_DIMSE_ODD_LENGTH', `the data set has an odd length (${length} bytes); DICOM data sets have even lengths (PS3.5 §7.1, PS3.8 Annex E.1)`);
}

/** The command's PDUs, one PDV each; the last one holds the last command fragment. */
function fragmentCommand(command: Uint8Array, presentationContextId: number, fragment: number): PresentationDataValue[][] {
  const out: PresentationDataValue[][] = [];
  for (let offset = 0; offset < command.length;) {
    const data = command.subarray(offset, Math.min(offset + fragment, command.length));
    offset += data.length;
    out.push([{ presentationContextId, isCommand: true, isLast: offset >= command.length, data }]);
  }
  return out;
}

/**
 * Room for the first data fragment beside the last command fragment: the PDU's variable field
 * (fragment + one PDV's overhead) less the command PDV and the data PDV's own overhead.
 */
function firstDataRoom(lastCommand: PresentationDataValue, fragment: number): number {
  return fragment - lastCommand.data.length - PDV_ITEM_OVERHEAD;
}

/**
 * The PDUs of a message whose data set is in memory (or absent), all at once and synchronously:
 * the same PDUs as fragmentMessage gives, without a promise per PDU. An odd data set is refused
 * before any PDU is made.
 */
export function fragmentWholeMessage(command: Uint8Array, dataSet: Uint8Array | null, options: FragmentOptions): PresentationDataValue[][] {
  const fragment = checkMessage(command, options);
  const presentationContextId = options.presentationContextId;
  const out = fragmentCommand(command, presentationContextId, fragment);
  if (dataSet === null) return out;
  if (dataSet.length % 2 !== 0) throw oddDataSet(dataSet.length);
  let batch = out.pop()!;
  const room = firstDataRoom(batch[0]!, fragment);
  if (room < 2) {
    out.push(batch);
    batch = [];
  }
  let at = 0;
  for (;;) {
    const size = batch.length > 0 ? floorEven(Math.min(room, fragment)) : fragment;
    const end = Math.min(at + size, dataSet.length);
    const data = dataSet.subarray(at, end);
    at = end;
    const isLast = at === dataSet.length;
    batch.push({ presentationContextId, isCommand: false, isLast, data });
    out.push(batch);
    if (isLast) return out;
    batch = [];
  }
}

/**
 * Sends a message PDU by PDU, waiting for each `sendPData` before taking the next fragment, so a
 * slow peer slows the reading of the data set. With `sendPDataGroup`, a message whose data set is
 * in memory (or given whole by a WholeDataSetSource) goes out in one write to the transport (one
 * per MAX_GROUP_BYTES), and of a streamed one the PDUs cut from one chunk go out together.
 */
export async function sendMessage(
  sendPData: SendPData,
  command: Uint8Array,
  dataSet: DataSetSource | null,
  options: FragmentOptions,
  sendPDataGroup?: SendPDataGroup,
  sendPDataLaidOut?: SendPDataLaidOut,
): Promise<void> {
  if (isWholeDataSetSource(dataSet)) {
    const whole = await dataSet.whole();
    if (whole instanceof LaidOutDataSet) {
      // Read into the PDUs' places: one write of one buffer, when laid out for this peer's maximum.
      const fragment = checkMessage(command, options);
      if (whole.length % 2 !== 0) throw oddDataSet(whole.length);
      const laid = sendPDataLaidOut !== undefined ? laidOutMessage(command, whole, options.presentationContextId, fragment) : undefined;
      if (laid !== undefined) return sendPDataLaidOut!(laid);
      dataSet = whole.chunks();
    } else {
      dataSet = whole ?? dataSet;
    }
  }
  if (sendPDataGroup === undefined) {
    for await (const pdvs of fragmentMessage(command, dataSet, options)) await sendPData(pdvs);
    return;
  }
  if (dataSet === null || dataSet instanceof Uint8Array) {
    // In memory: every PDU at once, in one write (or one per MAX_GROUP_BYTES).
    await sendInGroups(fragmentWholeMessage(command, dataSet, options), sendPData, sendPDataGroup);
    return;
  }
  let group: PresentationDataValue[][] = [];
  let bytes = 0;
  const flush = (): Promise<void> | undefined => {
    if (group.length === 0) return undefined;
    const pdus = group;
    group = [];
    bytes = 0;
    return pdus.length === 1 ? sendPData(pdus[0]!) : sendPDataGroup(pdus);
  };
  for await (const pdvs of fragmentMessage(command, dataSet, options, { beforePull: flush })) {
    group.push(pdvs);
    bytes += pDataTfVariableLength(pdvs);
    if (bytes >= MAX_GROUP_BYTES) await flush();
  }
  await flush();
}

/**
 * Sends PDUs in groups of up to MAX_GROUP_BYTES (a group is closed once it reaches that size), one
 * write each, waiting for each group's send only when the transport asks to.
 */
export async function sendInGroups(pdus: readonly PresentationDataValue[][], sendPData: SendPData, sendPDataGroup: SendPDataGroup): Promise<void> {
  let from = 0;
  let bytes = 0;
  for (let i = 0; i < pdus.length; i++) {
    bytes += pDataTfVariableLength(pdus[i]!);
    if (bytes >= MAX_GROUP_BYTES || i === pdus.length - 1) {
      const group = from === 0 && i === pdus.length - 1 ? pdus as PresentationDataValue[][] : pdus.slice(from, i + 1);
      await (group.length === 1 ? sendPData(group[0]!) : sendPDataGroup(group));
      from = i + 1;
      bytes = 0;
    }
  }
}

/** Reads exact-sized pieces from a chunk source: views where a piece lies in one chunk. */
class ChunkReader {
  private current: Uint8Array = EMPTY;
  private readonly iterator: Iterator<Uint8Array> | AsyncIterator<Uint8Array>;
  private done = false;
  /** Bytes taken so far. */
  total = 0;

  constructor(source: DataSetSource, private readonly beforePull?: () => void | Promise<void>) {
    if (source instanceof Uint8Array) this.iterator = [source][Symbol.iterator]();
    else if (Symbol.asyncIterator in source) this.iterator = source[Symbol.asyncIterator]();
    else this.iterator = source[Symbol.iterator]();
  }

  /** Makes `current` non-empty unless the source is done. */
  private async fill(): Promise<void> {
    while (this.current.length === 0 && !this.done) {
      if (this.beforePull !== undefined) await this.beforePull();
      const r = await this.iterator.next();
      if (r.done) {
        this.done = true;
      } else {
        if (!(r.value instanceof Uint8Array)) {
          throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `a data set source yielded ${typeof r.value}, not bytes`);
        }
        this.current = r.value;
      }
    }
  }

  /** Whether bytes of the current chunk are left (then the source is not exhausted). */
  get hasBytesInHand(): boolean {
    return this.current.length > 0;
  }

  /** `n` bytes as a view of the current chunk, when it holds them; else undefined (use take). */
  takeInHand(n: number): Uint8Array | undefined {
    if (this.current.length < n) return undefined;
    const out = this.current.subarray(0, n);
    this.current = this.current.subarray(n);
    this.total += n;
    return out;
  }

  async exhausted(): Promise<boolean> {
    await this.fill();
    return this.current.length === 0 && this.done;
  }

  /** Up to `n` bytes: exactly `n` unless the source ends first. */
  async take(n: number): Promise<Uint8Array> {
    await this.fill();
    const inHand = this.takeInHand(n);
    if (inHand !== undefined) return inHand;
    const parts: Uint8Array[] = [];
    let got = 0;
    while (got < n) {
      if (this.current.length === 0 && parts.length >= 2) {
        // About to pull a third chunk: a source may reuse the first one's buffer from then on, so
        // what was taken from the older chunks is copied now.
        const merged = concatBytes(parts, got);
        parts.length = 0;
        parts.push(merged);
      }
      await this.fill();
      if (this.current.length === 0) break;
      const piece = this.current.subarray(0, Math.min(n - got, this.current.length));
      this.current = this.current.subarray(piece.length);
      parts.push(piece);
      got += piece.length;
    }
    this.total += got;
    if (parts.length <= 1) return parts[0] ?? EMPTY;
    return concatBytes(parts, got);
  }

  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.iterator.return?.();
    }
  }
}

