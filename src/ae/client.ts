/**
 * The requestor side of the public network API: connect() opens an association and returns a
 * client with echo() and store(), built on the low-level DimseAssociation (send / request), which
 * stays available as `dimse` for other operations.
 */
import { DicomError } from '../core/dicom-error.js';
import { DataSet } from '../data/data-set.js';
import { lookupUid } from '../dictionary/index.js';
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, isUncompressed, transferSyntax } from '../data/transfer-syntax.js';
import { encodeDataSetStream } from '../data/writer.js';
import { dataSetLayout, Priority, type DataSetSource, type DimseStatus } from '../dimse/index.js';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '../media/implementation.js';
import {
  describeFile, fileDataSet, readAndDescribeIntoSlotsSync, readAndDescribeSync, ReadBufferRing, type NextFileReader, type ReadFile, type SendableFile,
} from '../services/storage/file-source.js';
import { VERIFICATION_SOP_CLASS } from '../services/verification/verification.js';
import {
  describePresentationContextResult, openAssociation, PresentationContextResult, type Association, type AssociationTimeouts, type NegotiatedPresentationContext, type PresentationContextProposal,
  type TlsClientOptions, type UserIdentityRq,
} from '../upper-layer/index.js';
import { DimseAssociation, type IncomingRequest } from './dimse-association.js';
import type { QueryKeys } from './query-keys.js';
import {
  answerIncomingRequest, find, get, move, notAccepted, refusedContextCode, type FindOperation, type GetOptions, type MoveOptions, type QueryOptions, type QueryRetrieveHost,
  type RetrieveOperation,
} from './query-retrieve-client.js';

export interface ConnectOptions {
  host: string;
  port: number;
  /** Calling AE title (this end); default 'CONDUIT'. */
  callingAeTitle?: string;
  /** Called AE title (the peer); default 'ANY-SCP'. */
  calledAeTitle?: string;
  /** Presentation contexts to propose; default: Verification only. Use proposalsForFiles() for stores. */
  presentationContexts?: readonly PresentationContextProposal[];
  tls?: TlsClientOptions;
  /** Maximum-length-received announced; default 256 KiB (0 = no limit). */
  maxPduLength?: number;
  timeouts?: AssociationTimeouts;
  dimseTimeout?: number;
  userIdentity?: UserIdentityRq;
  roleSelections?: readonly { sopClassUid: string; scuRole: boolean; scpRole: boolean }[];
  /**
   * SOP Class Extended Negotiation sub-items to propose (PS3.7 D.3.3.5): for the Query/Retrieve SOP
   * Classes, the options of PS3.4 C.5 (relational queries, fuzzy matching of names, ...), one byte
   * each; the peer's answer is `association.accept.userInformation.sopClassExtendedNegotiations`.
   */
  sopClassExtendedNegotiations?: readonly { sopClassUid: string; serviceClassApplicationInformation: Uint8Array }[];
  /**
   * Requests this end may have outstanding at once (PS3.7 D.3.3.3), proposed as the Asynchronous
   * Operations Window's invoked count (0 = unlimited); the peer's answer narrows it, never widens it. Absent: 1.
   */
  asynchronousOperationsWindow?: number;
  signal?: AbortSignal;
  /**
   * store() reads files on the main thread (blocking it) rather than through libuv's thread pool:
   * faster for a process that only sends, wrong for a server. Default false.
   */
  synchronousFileReads?: boolean;
}

/** What store() accepts: a file path, a parsed data set, or a stream of data set bytes with its identity. */
export type StoreInput =
  | string
  | SendableFile
  | { dataSet: DataSet; sopClassUid?: string; sopInstanceUid?: string }
  | { stream: AsyncIterable<Uint8Array> | Uint8Array; sopClassUid: string; sopInstanceUid: string; transferSyntaxUid: string };

export interface StoreOptions {
  priority?: number;
  moveOriginatorAeTitle?: string;
  moveOriginatorMessageId?: number;
  /**
   * The file the caller stores next on this association (described, as describeFile gives it): once
   * this message's data set has been read, the next one's is read while this C-STORE's response is
   * awaited (when it fits in one 1 MiB read buffer), instead of after it. A reader is called then,
   * once this message's bytes are written, with the buffer to read the next file into (the caller
   * may describe it from those bytes: one read for both); it names the file, or none.
   */
  next?: SendableFile | NextFileReader;
}

const UNCOMPRESSED_FALLBACK = [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN];

/**
 * Presentation contexts for sending files of these (SOP class, transfer syntax) pairs: per SOP
 * class, one context offering an uncompressed file's own syntax then Explicit and Implicit VR Little
 * Endian (so the peer can pick one Conduit can transcode to), and one context per compressed (or
 * deflated) syntax.
 */
export function proposalsFor(pairs: Iterable<{ sopClassUid: string; transferSyntaxUid: string }>): PresentationContextProposal[] {
  const bySop = new Map<string, Set<string>>();
  for (const p of pairs) {
    let set = bySop.get(p.sopClassUid);
    if (!set) bySop.set(p.sopClassUid, (set = new Set()));
    set.add(p.transferSyntaxUid);
  }
  const out: PresentationContextProposal[] = [];
  for (const [sop, tss] of bySop) {
    // Deflated goes in a context of its own, like a compressed syntax: in the shared one the peer
    // could pick it, and the other files (which Conduit does not deflate) would have no context.
    const plain = [...tss].filter((ts) => isUncompressed(ts) && !transferSyntax(ts).deflated);
    out.push({ abstractSyntax: sop, transferSyntaxes: [...new Set([...plain, ...UNCOMPRESSED_FALLBACK])] });
    for (const ts of tss) if (!plain.includes(ts)) out.push({ abstractSyntax: sop, transferSyntaxes: [ts] });
  }
  return out;
}

export class AssociationClient implements QueryRetrieveHost {
  readonly dimse: DimseAssociation;
  /** @internal The running C-GET's receiver of C-STORE sub-operations. */
  storeReceiver: ((request: IncomingRequest) => Promise<void>) | undefined;
  /** Files are read into these, reused from store to store (the sends are serialized). */
  private readonly readBuffers: ReadBufferRing;
  /** The context a C-STORE of each SOP class and transfer syntax goes on (contextFor). */
  private readonly contexts = new Map<string, Map<string, NegotiatedPresentationContext>>();
  constructor(readonly association: Association, options: { dimseTimeout?: number; synchronousFileReads?: boolean } = {}) {
    this.dimse = new DimseAssociation(association, options);
    // Data sets read into the places the PDUs give them (dimse/laid-out.ts): one write per C-STORE.
    this.readBuffers = new ReadBufferRing(() => association.flushed(), undefined, undefined, options.synchronousFileReads === true, dataSetLayout(association.maxSendPduLength));
    // Requests from the acceptor: a C-GET's C-STORE sub-operations; anything else is refused.
    this.dimse.on('request', (req) => void answerIncomingRequest(this, req).catch(() => undefined));
  }

  /** C-ECHO (PS3.7 §9.1.5); the status is a value, not an exception. */
  async echo(): Promise<DimseStatus> {
    const pc = this.association.findPresentationContext(VERIFICATION_SOP_CLASS);
    if (!pc) throw notAccepted(this.association, VERIFICATION_SOP_CLASS, 'the Verification SOP Class', 'presentationContexts');
    const rsp = await this.dimse.requestOne({ type: 'C-ECHO-RQ', affectedSopClassUid: VERIFICATION_SOP_CLASS } as never, pc.id);
    return rsp.status;
  }

  /**
   * C-STORE (PS3.7 §9.1.1) of a file, a data set or a byte stream, streamed. Picks the accepted
   * context for the SOP class: the input's own transfer syntax if accepted, else an uncompressed one
   * it transcodes to.
   */
  async store(input: StoreInput, options: StoreOptions = {}): Promise<DimseStatus> {
    let sopClassUid: string;
    let sopInstanceUid: string;
    let sourceTs: string;
    let bytes: (ts: string) => DataSetSource;
    if (typeof input === 'string' || 'dataSetOffset' in input) {
      // A path, or a file describeFile() already read the header of (no second read).
      const file: SendableFile = typeof input === 'string' ? await describeFile(input) : input;
      ({ sopClassUid, sopInstanceUid } = file);
      sourceTs = file.transferSyntaxUid;
      const next = options.next;
      const ring = this.readBuffers;
      bytes = (ts) => fileDataSet(file, ts, ring, next === undefined ? undefined : () => ring.readAhead(next));
    } else if ('dataSet' in input) {
      sopClassUid = input.sopClassUid ?? input.dataSet.string(0x00080016) ?? '';
      sopInstanceUid = input.sopInstanceUid ?? input.dataSet.string(0x00080018) ?? '';
      sourceTs = input.dataSet.littleEndian ? EXPLICIT_VR_LITTLE_ENDIAN : '1.2.840.10008.1.2.2';
      const ds = input.dataSet;
      bytes = (ts) => {
        const t = transferSyntax(ts);
        return encodeDataSetStream(ds, { explicitVR: t.explicitVR, littleEndian: t.littleEndian });
      };
      sourceTs = EXPLICIT_VR_LITTLE_ENDIAN;
    } else {
      ({ sopClassUid, sopInstanceUid } = input);
      sourceTs = input.transferSyntaxUid;
      const stream = input.stream;
      bytes = (ts) => {
        if (ts !== sourceTs) throw new DicomError('ERR_DICOM_UNSUPPORTED_TRANSFER_SYNTAX', `the peer did not accept ${sourceTs} for ${sopClassUid}`);
        return stream;
      };
    }
    if (!sopClassUid || !sopInstanceUid) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'store() needs a SOP Class UID and a SOP Instance UID');
    const pc = this.contextFor(sopClassUid, sourceTs);
    // Built field by field (no conditional spread): once per C-STORE, in the sender's turn.
    const request: Record<string, unknown> = {
      type: 'C-STORE-RQ',
      affectedSopClassUid: sopClassUid,
      affectedSopInstanceUid: sopInstanceUid,
      priority: options.priority ?? Priority.MEDIUM,
    };
    if (options.moveOriginatorAeTitle !== undefined) {
      request.moveOriginatorApplicationEntityTitle = options.moveOriginatorAeTitle;
      request.moveOriginatorMessageId = options.moveOriginatorMessageId;
    }
    const rsp = await this.dimse.requestOne(request as never, pc.id, bytes(pc.transferSyntax));
    return rsp.status;
  }

  private contextFor(sopClassUid: string, sourceTs: string): NegotiatedPresentationContext {
    // The negotiated contexts never change: one look-up per kind of object, not per C-STORE (by
    // SOP class, then transfer syntax: no key string made per C-STORE).
    let bySyntax = this.contexts.get(sopClassUid);
    if (bySyntax === undefined) this.contexts.set(sopClassUid, (bySyntax = new Map()));
    let pc = bySyntax.get(sourceTs);
    if (pc === undefined) bySyntax.set(sourceTs, (pc = this.findContextFor(sopClassUid, sourceTs)));
    return pc;
  }

  /** What a Result/Reason of PS3.8 Table 9-18 means for the user, with the transfer syntaxes proposed when they were refused. */
  private refusalMeaning(sopClassUid: string, result: number): string {
    if (result === PresentationContextResult.AbstractSyntaxNotSupported) return ': the peer does not support this SOP class';
    if (result !== PresentationContextResult.TransferSyntaxesNotSupported) return '';
    const proposed = new Set(this.association.request.presentationContexts.filter((pc) => pc.abstractSyntax === sopClassUid).flatMap((pc) => pc.transferSyntaxes));
    return `: the peer supports this SOP class but none of the transfer syntaxes proposed (${[...proposed].map(uidName).join(', ')})`;
  }

  private findContextFor(sopClassUid: string, sourceTs: string): NegotiatedPresentationContext {
    const accepted = this.association.acceptedPresentationContexts().filter((pc) => pc.abstractSyntax === sopClassUid);
    const same = accepted.find((pc) => pc.transferSyntax === sourceTs);
    if (same) return same;
    if (isUncompressed(sourceTs)) {
      const other = accepted.find((pc) => isUncompressed(pc.transferSyntax) && !transferSyntax(pc.transferSyntax).deflated);
      if (other) return other;
    }
    if (accepted.length === 0) {
      // PS3.8 Table 9-18: the peer's Result/Reason for the contexts of this SOP class, if proposed.
      const result = this.association.presentationContextResult(sopClassUid);
      throw new DicomError(refusedContextCode(result), `the peer accepted no presentation context for SOP class ${uidName(sopClassUid)}: ${
        result === undefined ? 'none was proposed' : `rejected with ${describePresentationContextResult(result)}${this.refusalMeaning(sopClassUid, result)}`}`);
    }
    const why = isUncompressed(sourceTs) ? 'which cannot be converted to it' : 'which Conduit cannot decompress (it has no codecs)';
    throw new DicomError(
      'ERR_DICOM_UNSUPPORTED_TRANSFER_SYNTAX',
      `the peer accepted ${lookupUid(sopClassUid)?.name ?? sopClassUid} only as ${accepted.map((p) => lookupUid(p.transferSyntax)?.name ?? p.transferSyntax).join(', ')}; the file is ${uidName(sourceTs)}, ${why}`,
    );
  }

  /**
   * C-FIND (PS3.4 C.4.1): iterate for the matching Identifiers; breaking out sends C-CANCEL. A
   * failure status ends the loop and is in the operation's `status`, with its Error Comment.
   * `keys`: a DataSet, `-k` style strings (`PatientName=DOE*`), or `{ PatientName: 'DOE*' }`.
   */
  find(keys: QueryKeys, options: QueryOptions = {}): FindOperation {
    return find(this, keys, options);
  }

  /** C-MOVE (PS3.4 C.4.2) to `options.destination`: iterate for progress; the last item is the final status. */
  move(keys: QueryKeys, options: MoveOptions): RetrieveOperation {
    return move(this, keys, options);
  }

  /**
   * C-GET (PS3.4 C.4.3): the instances come back on this association (propose retrieveProposals());
   * iterate for progress; the last item is the final status.
   */
  get(keys: QueryKeys, options: GetOptions): RetrieveOperation {
    return get(this, keys, options);
  }

  /** A-RELEASE (orderly end). */
  release(): Promise<void> {
    return this.association.release();
  }
  abort(): void {
    this.association.abort();
  }
}

/** Opens an association (A-ASSOCIATE) and returns a client for it. */
export async function connect(options: ConnectOptions): Promise<AssociationClient> {
  const association = await openAssociation({
    host: options.host,
    port: options.port,
    tls: options.tls,
    callingAeTitle: options.callingAeTitle ?? 'CONDUIT',
    calledAeTitle: options.calledAeTitle ?? 'ANY-SCP',
    presentationContexts: options.presentationContexts ?? [{ abstractSyntax: VERIFICATION_SOP_CLASS, transferSyntaxes: UNCOMPRESSED_FALLBACK }],
    implementationClassUid: IMPLEMENTATION_CLASS_UID,
    implementationVersionName: IMPLEMENTATION_VERSION_NAME,
    maximumLength: options.maxPduLength ?? 256 * 1024,
    timeouts: options.timeouts,
    ...(options.userIdentity ? { userIdentity: options.userIdentity } : {}),
    ...(options.roleSelections ? { roleSelections: options.roleSelections } : {}),
    ...(options.sopClassExtendedNegotiations?.length ? { sopClassExtendedNegotiations: options.sopClassExtendedNegotiations } : {}),
    ...(options.asynchronousOperationsWindow !== undefined && options.asynchronousOperationsWindow !== 1
      ? { asynchronousOperationsWindow: { maximumNumberOperationsInvoked: options.asynchronousOperationsWindow, maximumNumberOperationsPerformed: 1 } }
      : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return new AssociationClient(association, { dimseTimeout: options.dimseTimeout, synchronousFileReads: options.synchronousFileReads });
}

export { describeFile, readAndDescribeSync, readAndDescribeIntoSlotsSync };
export type { NextFileReader, ReadFile };

/** A UID with its registered name, for messages: `JPEG 2000 Image Compression (1.2.840.10008.1.2.4.91)`. */
function uidName(uid: string): string {
  const name = lookupUid(uid)?.name;
  return name === undefined ? uid : `${name} (${uid})`;
}
