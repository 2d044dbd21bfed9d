/**
 * What the Query/Retrieve handlers of `conduit serve` share: the archive and configuration they
 * serve, the Identifier of a request, the options extended negotiation agreed for its SOP class,
 * and the sub-operation that sends one stored instance as a C-STORE-RQ over an association.
 */
import type { AssociationInfo, DimseAssociation, GenericRequest } from '../../ae/index.js';
import type { DataSet } from '../../data/data-set.js';
import { parseDataSet } from '../../data/reader/data-set-parser.js';
import { transferSyntax } from '../../data/transfer-syntax.js';
import type { Encoding } from '../../data/writer.js';
import { isFailure, Priority, ServiceError, Status } from '../../dimse/index.js';
import type { StoreSubOperation, SubOperationResult } from '../../services/query-retrieve/retrieve.js';
import { DataSetBuffers, IN_MEMORY_LIMIT, storedDataSetBytes, type StoreContext } from '../../services/query-retrieve/stored-data-set.js';
import type { ArchiveStore } from '../../storage/index.js';
import type { BlobStore, StoredInstance } from '../../storage/ports.js';
import type { TlsClientOptions } from '../../upper-layer/index.js';
import type { ServerConfig } from '../config.js';

export type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface QueryRetrieveContext {
  archive: ArchiveStore;
  config: ServerConfig;
  log: Log;
  /** TLS of the associations to peers marked +tls (server/tls.ts); undefined when none is. */
  peerTls?: TlsClientOptions;
}

/** The encoding of the request's presentation context (Identifiers go back in it too). */
export function encodingOf(req: GenericRequest): Encoding {
  const ts = transferSyntax(req.request.presentationContext.transferSyntax);
  return { explicitVR: ts.explicitVR, littleEndian: ts.littleEndian };
}

/** The request's Identifier, parsed; a missing or unreadable one is refused (PS3.4 C.4.1.1.3, C.4.2.1.3, C.4.3.1.3). */
export async function readIdentifier(req: GenericRequest): Promise<DataSet> {
  const { request } = req;
  if (!request.dataSet) throw new ServiceError(Status.IdentifierDoesNotMatchSOPClass, `${request.message.type} without an Identifier`);
  const bytes = await request.dataSet.collect();
  try {
    return parseDataSet(bytes, encodingOf(req));
  } catch (err) {
    throw new ServiceError(Status.UnableToProcess, `the Identifier cannot be parsed: ${(err as Error).message}`);
  }
}

/** The service-class-application-information this end answered for a SOP class (PS3.7 D.3.3.5), if any. */
export function agreedExtendedNegotiation(association: AssociationInfo, sopClassUid: string): Uint8Array | undefined {
  return association.association.accept.userInformation.sopClassExtendedNegotiations.find((x) => x.sopClassUid === sopClassUid)?.serviceClassApplicationInformation;
}

export interface SubOperationTarget {
  dimse: DimseAssociation;
  /** The context to send an instance on, or why there is none. */
  contextFor: (instance: StoredInstance) => StoreContext | { reason: string };
  priority?: number;
  /** Move Originator AE Title and Message ID (PS3.7 Table 9.3-1), for the sub-operations of a C-MOVE. */
  originator?: { aeTitle: string; messageId: number };
  /** Who receives, for Error Comments ("STORESCP: ..."). */
  peerName: string;
  /** Told of each failed sub-operation (the final Error Comment names only the first). */
  onFailure?: (instance: StoredInstance, errorComment: string) => void;
  /**
   * The retrieve's cancellation (C-CANCEL-RQ), the signal performSubOperations is given. When set,
   * the next sub-operation's C-STORE-RQ begins in the receive callback of this one's C-STORE-RSP
   * (if its bytes are read ahead and no C-CANCEL has come), as performSubOperations would begin
   * it a few promise hops later; without it every C-STORE-RQ waits for performSubOperations.
   */
  cancelled?: AbortSignal;
}

/**
 * How many instances a retrieve reads ahead of the one being sent, and the most bytes it holds
 * read ahead: two, so that a read the thread pool is slow to serve (a loaded machine) has two
 * C-STORE round trips to finish rather than one; a CT slice is ~0.5 MiB.
 */
export const READ_AHEAD = 2;
export const READ_AHEAD_BYTES = IN_MEMORY_LIMIT;

/** A C-STORE sub-operation, with `prepare` to read an instance's bytes before its turn. */
export interface PreparedStoreSubOperation extends StoreSubOperation {
  prepare: (instance: StoredInstance) => void;
}

type Prepared = { context: StoreContext; bytes: Uint8Array | AsyncIterable<Uint8Array> } | { result: SubOperationResult };

/** An instance being read ahead: its promise, and its value once settled. */
interface ReadAhead {
  promise: Promise<Prepared>;
  value?: Prepared;
}

/**
 * One C-STORE sub-operation per call: the instance's data set from the blob store in the chosen
 * context's transfer syntax. A failure is a status: the peer's, or 0122H when no context fits,
 * 0110H when the stored object cannot be read. `prepare(next)` reads the next instances (up to
 * READ_AHEAD of them, READ_AHEAD_BYTES in all) while the current C-STORE is in flight (the data
 * set in memory when small, see storedDataSetBytes), so that with one operation outstanding
 * (PS3.7 D.3.3.3: the default asynchronous operations window) the association does not wait on
 * the disk between sub-operations: a call for an instance read ahead begins its C-STORE-RQ at
 * once, in the same turn, before anything else is sent.
 */
export function storeSubOperation(archive: ArchiveStore, target: SubOperationTarget): PreparedStoreSubOperation {
  const readAhead = new Map<string, ReadAhead>();
  /** Instances whose read-ahead is due at the next turn of the event loop. */
  const due = new Set<string>();
  /** Instances told of by prepare() and accepted, and their bytes (at most READ_AHEAD_BYTES). */
  const counted = new Set<string>();
  let bytesAhead = 0;
  const buffers = new DataSetBuffers();
  // A retrieve holds a few SOP class / transfer syntax pairs, and hundreds of instances.
  const contexts = new Map<string, StoreContext | { reason: string }>();
  const contextFor = (instance: StoredInstance): StoreContext | { reason: string } => {
    const key = `${instance.sopClassUid} ${instance.transferSyntaxUid}`;
    let context = contexts.get(key);
    if (context === undefined) contexts.set(key, (context = target.contextFor(instance)));
    return context;
  };
  const prepare = (instance: StoredInstance): ReadAhead => {
    let entry = readAhead.get(instance.sopInstanceUid);
    if (entry === undefined) {
      const started: ReadAhead = { promise: readForSending(archive.blobs, contextFor(instance), instance, buffers) };
      void started.promise.then((value) => {
        started.value = value;
      });
      readAhead.set(instance.sopInstanceUid, (entry = started));
    }
    return entry;
  };
  /** Sub-operations begun early (see SubOperationTarget.cancelled), until store() asks for them. */
  const begunEarly = new Map<string, Promise<SubOperationResult>>();
  /** The instance prepared first after the last store() call: the one performSubOperations begins next. */
  let successor: StoredInstance | undefined;
  let awaitingSuccessor = false;
  const signal = target.cancelled;
  // Called in the receive callback of a C-STORE-RSP (RequestOneOptions.onFinal), after the
  // window's slot is free: the successor's C-STORE-RQ is written before the callback returns.
  const beginSuccessor = signal === undefined ? undefined : (): void => {
    const next = successor;
    successor = undefined;
    if (next === undefined || signal.aborted) return;
    const value = readAhead.get(next.sopInstanceUid)?.value;
    if (value === undefined || !('context' in value) || !(value.bytes instanceof Uint8Array)) return;
    begunEarly.set(next.sopInstanceUid, begin(next));
  };
  const send = async (instance: StoredInstance, ready: Prepared): Promise<SubOperationResult> => {
    let result: SubOperationResult;
    if ('result' in ready) result = ready.result;
    else {
      try {
        result = await sendStore(target, instance, ready, beginSuccessor);
        // Answered, so every byte has left (an error may leave some queued: that buffer is dropped).
        if (ready.bytes instanceof Uint8Array) buffers.give(ready.bytes);
      } catch (err) {
        result = { status: Status.UnableToProcess, errorComment: `${target.peerName}: ${(err as Error).message}` };
      }
    }
    if (isFailure(result.status)) target.onFailure?.(instance, result.errorComment ?? '');
    return result;
  };
  const store = (instance: StoredInstance): Promise<SubOperationResult> => {
    awaitingSuccessor = true;
    successor = undefined;
    const early = begunEarly.get(instance.sopInstanceUid);
    if (early !== undefined) {
      begunEarly.delete(instance.sopInstanceUid);
      return early;
    }
    return begin(instance);
  };
  const begin = (instance: StoredInstance): Promise<SubOperationResult> => {
    due.delete(instance.sopInstanceUid);
    if (counted.delete(instance.sopInstanceUid)) bytesAhead -= instance.size - instance.dataSetOffset;
    const entry = prepare(instance);
    readAhead.delete(instance.sopInstanceUid);
    return entry.value !== undefined ? send(instance, entry.value) : entry.promise.then((ready) => send(instance, ready));
  };
  // Ahead of its turn only what is read into memory (a streamed one would hold its file open if a
  // C-CANCEL came before its turn), up to READ_AHEAD_BYTES. Begun once the C-STORE-RQ just
  // started has been written (the next turn of the event loop), so that the read does not compete
  // with it.
  const ahead = (instance: StoredInstance): void => {
    if (awaitingSuccessor) {
      successor = instance;
      awaitingSuccessor = false;
    }
    const uid = instance.sopInstanceUid;
    if (counted.has(uid)) return;
    const context = contextFor(instance);
    const length = instance.size - instance.dataSetOffset;
    if (!('id' in context) || context.transferSyntax !== instance.transferSyntaxUid || length > IN_MEMORY_LIMIT || bytesAhead + length > READ_AHEAD_BYTES) return;
    bytesAhead += length;
    counted.add(uid);
    due.add(uid);
    setImmediate(() => {
      if (due.delete(uid)) prepare(instance);
    });
  };
  return Object.assign(store, { prepare: ahead });
}

/** The context and the bytes of an instance, or the failed result; never rejects. */
async function readForSending(blobs: BlobStore, context: StoreContext | { reason: string }, instance: StoredInstance, buffers: DataSetBuffers): Promise<Prepared> {
  if (!('id' in context)) return { result: { status: Status.RefusedSOPClassNotSupported, errorComment: context.reason } };
  try {
    return { context, bytes: await storedDataSetBytes(blobs, instance, context.transferSyntax, buffers) };
  } catch (err) {
    // The instance is named by the Failed SOP Instance UID List: its UID (up to 64 characters)
    // would leave no room in the Error Comment for the reason.
    return { result: { status: Status.ProcessingFailure, errorComment: (err as Error).message } };
  }
}

async function sendStore(target: SubOperationTarget, instance: StoredInstance, ready: { context: StoreContext; bytes: Uint8Array | AsyncIterable<Uint8Array> }, onFinal?: () => void): Promise<SubOperationResult> {
  const rsp = await target.dimse.requestOne({
    type: 'C-STORE-RQ',
    affectedSopClassUid: instance.sopClassUid,
    affectedSopInstanceUid: instance.sopInstanceUid,
    priority: target.priority ?? Priority.MEDIUM,
    ...(target.originator ? { moveOriginatorApplicationEntityTitle: target.originator.aeTitle, moveOriginatorMessageId: target.originator.messageId } : {}),
  } as never, ready.context.id, ready.bytes, onFinal === undefined ? {} : { onFinal });
  // The comment is read only when the sub-operation did not succeed.
  return rsp.message.status === Status.Success ? { status: Status.Success } : { status: rsp.message.status, errorComment: `${target.peerName}: ${rsp.status.description}` };
}
