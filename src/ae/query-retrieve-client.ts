/**
 * The Query/Retrieve SCU (PS3.4 Annex C): C-FIND, C-MOVE and C-GET on an open association, as
 * AsyncIterables of what the peer answers. Leaving a loop early sends C-CANCEL-RQ (PS3.7 §9.3.2.3)
 * and then reads the responses up to the final one, so the association is free again when the loop
 * has ended and `status` holds what the peer finally said (usually FE00H Cancel).
 *
 * A failure status is a value, not an exception (conventions, "Errors and statuses"): the loop ends
 * and `status` (a DimseStatus, with its Error Comment) says why. Only a failure to get an answer at
 * all (the association lost, a timeout, no accepted presentation context) throws.
 *
 * C-GET: the sub-operations are C-STOREs the peer sends on the same association (PS3.4 C.4.3), for
 * which this end must have proposed the storage SOP classes with the SCP role (PS3.7 D.3.3.4);
 * retrieveProposals() builds those contexts and role selections. Each incoming object goes to the
 * get's `onStore`, or is written durably into its `outputDirectory`.
 */
import { mkdir } from 'node:fs/promises';
import { DicomError, type DicomErrorCode } from '../core/dicom-error.js';
import { DataSet } from '../data/data-set.js';
import { parseDataSet } from '../data/reader/data-set-parser.js';
import { SPECIFIC_CHARACTER_SET } from '../data/tag.js';
import { EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, transferSyntax } from '../data/transfer-syntax.js';
import { encodeDataSet } from '../data/writer.js';
import {
  DimseStatus, Priority, responseTypeOf, ServiceError, Status, type DataSetStream, type DimseMessage,
} from '../dimse/index.js';
import { writeReceivedObject } from '../services/storage/part10-sink.js';
import { describePresentationContextResult, PresentationContextResult, type Association, type NegotiatedPresentationContext, type PresentationContextProposal, type RoleSelection } from '../upper-layer/index.js';
import type { DimseAssociation, IncomingRequest, IncomingResponse } from './dimse-association.js';
import { buildIdentifier, type QueryKeys } from './query-keys.js';

export { DEFAULT_GET_STORAGE_SOP_CLASSES, DEFAULT_GET_COMPRESSED_TRANSFER_SYNTAXES, retrieveProposals } from './retrieve-proposals.js';

/** The information model: Patient Root or Study Root (PS3.4 C.6.1, C.6.2). */
export type QueryRetrieveModel = 'PATIENT' | 'STUDY';
export type QueryRetrieveLevel = 'PATIENT' | 'STUDY' | 'SERIES' | 'IMAGE';

/** SOP Class UIDs per model and operation (PS3.4 C.6.1.3, C.6.2.3). */
export const QUERY_RETRIEVE_SOP_CLASS: Readonly<Record<QueryRetrieveModel, Readonly<Record<'FIND' | 'MOVE' | 'GET', string>>>> = {
  PATIENT: { FIND: '1.2.840.10008.5.1.4.1.2.1.1', MOVE: '1.2.840.10008.5.1.4.1.2.1.2', GET: '1.2.840.10008.5.1.4.1.2.1.3' },
  STUDY: { FIND: '1.2.840.10008.5.1.4.1.2.2.1', MOVE: '1.2.840.10008.5.1.4.1.2.2.2', GET: '1.2.840.10008.5.1.4.1.2.2.3' },
};

const IDENTIFIER_TRANSFER_SYNTAXES = [EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN];
const QUERY_RETRIEVE_LEVEL = 0x00080052;
const FAILED_SOP_INSTANCE_UID_LIST = 0x00080058;


export interface QueryOptions {
  /** Information model; default 'STUDY' (Study Root). */
  model?: QueryRetrieveModel;
  /** Query/Retrieve Level (0008,0052); default: the Identifier's, else the model's top level. */
  level?: QueryRetrieveLevel;
  /** Priority of the request (PS3.7 §9.3.1.1): Priority.LOW, MEDIUM (default) or HIGH. */
  priority?: number;
  /** Specific Character Set for keys given as text; default ISO_IR 192 when a value is not ASCII. */
  characterSet?: string;
}

export interface MoveOptions extends QueryOptions {
  /** Move Destination (0000,0600): the AE title the peer sends the instances to. */
  destination: string;
}

/** An object received by a C-GET's C-STORE sub-operation. */
export interface ReceivedInstance {
  sopClassUid: string;
  sopInstanceUid: string;
  /** The transfer syntax of the data set bytes (the presentation context's). */
  transferSyntaxUid: string;
  /** The data set as it arrives; read it (or discard it) before returning. */
  dataSet: DataSetStream;
}

/** What onStore returns: a status (default Success) and optionally an Error Comment; or it throws a ServiceError. */
export type StoreResult = void | number | { status: number; errorComment?: string };

export interface GetOptions extends QueryOptions {
  /** Called for each object the peer sends; its result is the C-STORE-RSP status. */
  onStore?: (instance: ReceivedInstance) => StoreResult | Promise<StoreResult>;
  /** Without onStore: write each object as <SOP Instance UID>.dcm here, fsync'd before the success answer. */
  outputDirectory?: string;
  /** With outputDirectory: fsync each file before answering (default true). */
  fsync?: boolean;
}

/** A C-MOVE or C-GET response: the sub-operation counts so far, or the final status. */
export interface RetrieveProgress {
  status: DimseStatus;
  /** The final response (not Pending). */
  final: boolean;
  /** Number of Remaining Sub-operations (absent in final responses, PS3.4 C.4.2.1.5). */
  remaining: number | undefined;
  completed: number;
  failed: number;
  warning: number;
  /** Failed SOP Instance UID List (0008,0058) of a final response (PS3.4 C.4.2.1.5, C.4.3.1.4). */
  failedSopInstanceUids: string[];
}

/** The state a query/retrieve client keeps per association: the C-GET receiving C-STOREs now. */
export interface QueryRetrieveHost {
  readonly dimse: DimseAssociation;
  /** Set while a C-GET runs: where its C-STORE sub-operations go. */
  storeReceiver: ((request: IncomingRequest) => Promise<void>) | undefined;
}

/**
 * Presentation contexts for the Query/Retrieve operations to propose (Explicit and Implicit VR
 * Little Endian: Identifiers are small).
 */
export function queryRetrieveProposals(
  operations: readonly ('FIND' | 'MOVE' | 'GET')[] = ['FIND'],
  models: readonly QueryRetrieveModel[] = ['STUDY'],
): PresentationContextProposal[] {
  const out: PresentationContextProposal[] = [];
  for (const model of models) for (const op of operations) out.push({ abstractSyntax: QUERY_RETRIEVE_SOP_CLASS[model][op], transferSyntaxes: IDENTIFIER_TRANSFER_SYNTAXES });
  return out;
}


/**
 * The error code for a SOP class with no accepted context, by the peer's Result/Reason (PS3.8
 * Table 9-18): 3 the SOP class is not supported, 4 none of the transfer syntaxes proposed is, 1 and
 * 2 a refusal without either reason; none (undefined) when the caller did not propose it.
 */
export function refusedContextCode(result: PresentationContextResult | undefined): DicomErrorCode {
  switch (result) {
    case undefined: return 'ERR_DICOM_INVALID_ARGUMENT';
    case PresentationContextResult.AbstractSyntaxNotSupported: return 'ERR_DICOM_SOP_CLASS_NOT_SUPPORTED';
    case PresentationContextResult.TransferSyntaxesNotSupported: return 'ERR_DICOM_UNSUPPORTED_TRANSFER_SYNTAX';
    default: return 'ERR_DICOM_PRESENTATION_CONTEXT_REJECTED';
  }
}

/**
 * The error for an operation whose SOP class has no accepted context: one the peer rejected is named
 * with its Result/Reason (PS3.8 Table 9-18), one never proposed with what proposes it (`proposer`).
 */
export function notAccepted(association: Association, sopClassUid: string, what: string, proposer: string): DicomError {
  const result = association.presentationContextResult(sopClassUid);
  const why = result === undefined
    ? `it was not proposed; propose it (${proposer})`
    : `rejected with ${describePresentationContextResult(result)}`;
  return new DicomError(refusedContextCode(result), `the peer did not accept ${what} (${sopClassUid}): ${why}`);
}

function identifierContext(dimse: DimseAssociation, sopClassUid: string, what: string): NegotiatedPresentationContext {
  const accepted = dimse.association.acceptedPresentationContexts().filter((pc) => pc.abstractSyntax === sopClassUid);
  const pc = accepted.find((p) => !transferSyntax(p.transferSyntax).deflated) ?? accepted[0];
  if (!pc) throw notAccepted(dimse.association, sopClassUid, what, 'queryRetrieveProposals');
  if (transferSyntax(pc.transferSyntax).deflated) throw new DicomError('ERR_DICOM_UNSUPPORTED_TRANSFER_SYNTAX', `the peer accepted ${what} only as Deflated, which Conduit does not send Identifiers in`);
  return pc;
}

const MODEL_NAME: Record<QueryRetrieveModel, string> = { PATIENT: 'Patient Root', STUDY: 'Study Root' };

function identifierOf(keys: QueryKeys, options: QueryOptions): DataSet {
  const model = options.model ?? 'STUDY';
  let ds: DataSet;
  if (keys instanceof DataSet) {
    // The caller's data set is left as it is: the level goes into a copy (the elements are shared, not changed).
    ds = new DataSet({ littleEndian: keys.littleEndian });
    for (const e of keys.elements()) ds.add(e);
  } else {
    ds = buildIdentifier(keys, { ...(options.characterSet !== undefined ? { characterSet: options.characterSet } : {}) });
  }
  if (options.level !== undefined) ds.set(QUERY_RETRIEVE_LEVEL, 'CS', options.level);
  else if (!ds.string(QUERY_RETRIEVE_LEVEL)) ds.set(QUERY_RETRIEVE_LEVEL, 'CS', model === 'PATIENT' ? 'PATIENT' : 'STUDY');
  return ds;
}

function encodeIn(ds: DataSet, pc: NegotiatedPresentationContext): Uint8Array {
  const ts = transferSyntax(pc.transferSyntax);
  return encodeDataSet(ds, { explicitVR: ts.explicitVR, littleEndian: ts.littleEndian });
}

/**
 * Parses a response's Identifier. `inherit`: a data set whose Specific Character Set applies when the
 * response has none (some SCPs answer in the query's character set without saying so, PS3.4 C.4.1.1.3.1).
 */
function parseIdentifier(bytes: Uint8Array, pc: NegotiatedPresentationContext, inherit?: DataSet): DataSet {
  const ts = transferSyntax(pc.transferSyntax);
  try {
    const root = new DataSet({ parent: inherit ?? null, littleEndian: ts.littleEndian });
    const ds = parseDataSet(bytes, { explicitVR: ts.explicitVR, littleEndian: ts.littleEndian, root });
    if (ds.has(SPECIFIC_CHARACTER_SET)) ds.parent = null;
    return ds;
  } catch (err) {
    if (!(err instanceof DicomError)) throw err;
    throw new DicomError(err.code, `the Identifier in the peer's response cannot be parsed: ${err.message}`, { cause: err });
  }
}

/**
 * The responses to a request until the final one. When the consumer leaves early, C-CANCEL-RQ goes
 * to the peer (PS3.7 §9.3.2.3) and the responses are read up to the final one, which `onFinal` gets.
 */
async function* cancellableResponses(
  dimse: DimseAssociation,
  responses: AsyncGenerator<IncomingResponse>,
  presentationContextId: number,
  onFinal: (rsp: IncomingResponse) => void,
): AsyncGenerator<IncomingResponse> {
  let final = false;
  let failed = false;
  let messageId: number | undefined;
  try {
    for (;;) {
      let r: IteratorResult<IncomingResponse>;
      try {
        r = await responses.next();
      } catch (err) {
        failed = true;
        throw err;
      }
      if (r.done) return;
      const rsp = r.value;
      messageId = (rsp.message as { messageIdBeingRespondedTo: number }).messageIdBeingRespondedTo;
      if (!rsp.status.isPending) {
        final = true;
        onFinal(rsp);
      }
      yield rsp;
      if (final) return;
    }
  } finally {
    if (!final && !failed && messageId !== undefined) {
      try {
        await dimse.send({ type: 'C-CANCEL-RQ', messageIdBeingRespondedTo: messageId } as DimseMessage, presentationContextId);
        for (;;) {
          const r = await responses.next();
          if (r.done) break;
          if (!r.value.status.isPending) {
            onFinal(r.value);
            break;
          }
        }
      } catch {
        // The association ended or timed out while draining: no final status to report.
      }
    }
    // Lets the request's own clean-up run (its Message ID and window slot released), however this ended.
    await responses.return(undefined);
  }
}

/** A C-FIND in progress: iterate it for the matches; `status` holds the final status once the loop has ended. */
export class FindOperation implements AsyncIterable<DataSet> {
  /** The final response's status (Success, Cancel after a break, or a failure with its Error Comment); undefined until then. */
  status: DimseStatus | undefined;
  /** Pending responses that said FF01H: optional keys were not supported (PS3.4 C.4.1.1.4). */
  pendingWarnings = 0;
  private started = false;

  constructor(private readonly run: (operation: FindOperation) => AsyncGenerator<DataSet>) {}

  [Symbol.asyncIterator](): AsyncIterator<DataSet> {
    if (this.started) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'a C-FIND can be iterated once');
    this.started = true;
    return this.run(this);
  }

  /** Every match and the final status. */
  async all(): Promise<{ matches: DataSet[]; status: DimseStatus }> {
    const matches: DataSet[] = [];
    for await (const m of this) matches.push(m);
    return { matches, status: this.status! };
  }
}

/** A C-MOVE or C-GET in progress: iterate it for progress; the last item is the final response. */
export class RetrieveOperation implements AsyncIterable<RetrieveProgress> {
  /** The final response, once the loop has ended (after a break: what the peer answered to C-CANCEL). */
  result: RetrieveProgress | undefined;
  private started = false;

  constructor(private readonly run: (operation: RetrieveOperation) => AsyncGenerator<RetrieveProgress>) {}

  [Symbol.asyncIterator](): AsyncIterator<RetrieveProgress> {
    if (this.started) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'a C-MOVE or C-GET can be iterated once');
    this.started = true;
    return this.run(this);
  }

  /** Runs to the end (calling `onProgress` with each Pending response) and returns the final response. */
  async done(onProgress?: (p: RetrieveProgress) => void): Promise<RetrieveProgress> {
    for await (const p of this) if (!p.final) onProgress?.(p);
    return this.result!;
  }
}

/** C-FIND (PS3.4 C.4.1, PS3.7 §9.1.2). */
export function find(host: QueryRetrieveHost, keys: QueryKeys, options: QueryOptions = {}): FindOperation {
  const model = options.model ?? 'STUDY';
  const sopClassUid = QUERY_RETRIEVE_SOP_CLASS[model].FIND;
  return new FindOperation(async function* (op) {
    const pc = identifierContext(host.dimse, sopClassUid, `${MODEL_NAME[model]} C-FIND`);
    const identifier = identifierOf(keys, options);
    // Only the character set is inherited: a copy, so the caller's data set is not made anyone's parent.
    const charset = new DataSet();
    const cs = identifier.get(SPECIFIC_CHARACTER_SET);
    if (cs) charset.add(cs);
    const bytes = encodeIn(identifier, pc);
    const responses = host.dimse.request({ type: 'C-FIND-RQ', affectedSopClassUid: sopClassUid, priority: options.priority ?? Priority.MEDIUM } as never, pc.id, bytes);
    for await (const rsp of cancellableResponses(host.dimse, responses, pc.id, (r) => (op.status = r.status))) {
      if (!rsp.status.isPending) return;
      if (rsp.status.code === Status.PendingWarning) op.pendingWarnings++;
      // PS3.4 C.4.1.1.3: a Pending response carries a matching Identifier; one without is skipped.
      if (rsp.dataSet) yield parseIdentifier(rsp.dataSet, pc, cs ? charset : undefined);
    }
  });
}

function progressOf(rsp: IncomingResponse, pc: NegotiatedPresentationContext): RetrieveProgress {
  const m = rsp.message as DimseMessage & {
    numberOfRemainingSuboperations?: number; numberOfCompletedSuboperations?: number; numberOfFailedSuboperations?: number; numberOfWarningSuboperations?: number;
  };
  const final = !rsp.status.isPending;
  let failedSopInstanceUids: string[] = [];
  if (final && rsp.dataSet && rsp.dataSet.length > 0) {
    failedSopInstanceUids = parseIdentifier(rsp.dataSet, pc).strings(FAILED_SOP_INSTANCE_UID_LIST).filter((u) => u !== '');
  }
  return {
    status: rsp.status,
    final,
    remaining: m.numberOfRemainingSuboperations,
    completed: m.numberOfCompletedSuboperations ?? 0,
    failed: m.numberOfFailedSuboperations ?? 0,
    warning: m.numberOfWarningSuboperations ?? 0,
    failedSopInstanceUids,
  };
}

function retrieve(
  host: QueryRetrieveHost, operation: 'MOVE' | 'GET', keys: QueryKeys, options: QueryOptions, extra: Partial<DimseMessage>, before?: () => void | Promise<void>, after?: () => void,
): RetrieveOperation {
  const model = options.model ?? 'STUDY';
  const sopClassUid = QUERY_RETRIEVE_SOP_CLASS[model][operation];
  return new RetrieveOperation(async function* (op) {
    const pc = identifierContext(host.dimse, sopClassUid, `${MODEL_NAME[model]} C-${operation}`);
    const bytes = encodeIn(identifierOf(keys, options), pc);
    await before?.();
    try {
      const responses = host.dimse.request({
        type: `C-${operation}-RQ`, affectedSopClassUid: sopClassUid, priority: options.priority ?? Priority.MEDIUM, ...extra,
      } as never, pc.id, bytes);
      for await (const rsp of cancellableResponses(host.dimse, responses, pc.id, (r) => (op.result = progressOf(r, pc)))) {
        yield rsp.status.isPending ? progressOf(rsp, pc) : op.result!;
      }
    } finally {
      after?.();
    }
  });
}

/** C-MOVE (PS3.4 C.4.2, PS3.7 §9.1.4): the peer sends the matching instances to `destination`. */
export function move(host: QueryRetrieveHost, keys: QueryKeys, options: MoveOptions): RetrieveOperation {
  if (!options.destination) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'a C-MOVE needs a destination AE title');
  return retrieve(host, 'MOVE', keys, options, { moveDestination: options.destination } as Partial<DimseMessage>);
}

/**
 * C-GET (PS3.4 C.4.3, PS3.7 §9.1.3): the peer sends the matching instances back on this association;
 * each goes to `onStore` or into `outputDirectory`.
 */
export function get(host: QueryRetrieveHost, keys: QueryKeys, options: GetOptions): RetrieveOperation {
  const onStore = options.onStore ?? (options.outputDirectory !== undefined ? writeInto(options.outputDirectory, host, options.fsync) : undefined);
  if (!onStore) throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', 'a C-GET needs onStore or an outputDirectory for the instances it receives');
  const receiver = (req: IncomingRequest) => answerStore(host.dimse, req, onStore);
  const directory = options.onStore ? undefined : options.outputDirectory;
  return retrieve(host, 'GET', keys, options, {}, async () => {
    // Made before the C-GET-RQ goes (as `conduit get --out` does): a folder that cannot be made
    // fails the get here, not each C-STORE sub-operation with 0110H.
    if (directory !== undefined) {
      await mkdir(directory, { recursive: true }).catch((cause: unknown) => {
        throw new DicomError('ERR_DICOM_IO', `cannot create the output directory ${directory}: ${(cause as Error).message}`, { cause });
      });
    }
    if (host.storeReceiver) throw new DicomError('ERR_DICOM_ASSOCIATION_STATE', 'another C-GET is receiving on this association');
    host.storeReceiver = receiver;
  }, () => {
    if (host.storeReceiver === receiver) host.storeReceiver = undefined;
  });
}

function writeInto(dir: string, host: QueryRetrieveHost, fsync: boolean | undefined): (instance: ReceivedInstance) => Promise<void> {
  return async (instance) => {
    await writeReceivedObject(dir, { ...instance, sourceAet: host.dimse.association.calledAeTitle.trim() }, instance.dataSet, { fsync: fsync ?? true });
  };
}

/** Answers one incoming C-STORE-RQ with what `onStore` made of it (PS3.4 B.2.3 statuses). */
async function answerStore(dimse: DimseAssociation, req: IncomingRequest, onStore: NonNullable<GetOptions['onStore']>): Promise<void> {
  const m = req.message as DimseMessage & { messageId: number; affectedSopClassUid: string; affectedSopInstanceUid: string };
  let fields: { status: number; errorComment?: string; offendingElement?: number[] };
  try {
    if (!req.dataSet) throw new ServiceError(Status.ErrorCannotUnderstand, 'C-STORE-RQ without a data set');
    const result = await onStore({ sopClassUid: m.affectedSopClassUid, sopInstanceUid: m.affectedSopInstanceUid, transferSyntaxUid: req.presentationContext.transferSyntax, dataSet: req.dataSet });
    fields = result === undefined ? { status: Status.Success } : typeof result === 'number' ? { status: result } : result;
  } catch (err) {
    fields = (err instanceof ServiceError ? err : ServiceError.from(err, 'C-STORE', { exposeMessage: true })).responseFields() as typeof fields;
  }
  req.dataSet?.discard();
  try {
    await dimse.send({
      type: 'C-STORE-RSP', messageIdBeingRespondedTo: m.messageId, affectedSopClassUid: m.affectedSopClassUid, affectedSopInstanceUid: m.affectedSopInstanceUid, ...fields,
    } as DimseMessage, req.presentationContext.id);
  } finally {
    dimse.requestDone(m.messageId);
  }
}

/**
 * An incoming request on a requestor's association: a C-GET's C-STORE goes to the receiver; anything
 * else is refused (no C-GET is running, or the operation is not one an SCU performs).
 */
export async function answerIncomingRequest(host: QueryRetrieveHost, req: IncomingRequest): Promise<void> {
  const type = req.message.type;
  if (type === 'C-STORE-RQ' && host.storeReceiver) {
    await host.storeReceiver(req);
    return;
  }
  req.dataSet?.discard();
  const m = req.message as DimseMessage & { messageId: number; affectedSopClassUid?: string };
  const status = type === 'C-STORE-RQ' ? Status.RefusedNotAuthorized : Status.UnrecognizedOperation;
  try {
    await host.dimse.send({
      type: responseTypeOf(type as never), messageIdBeingRespondedTo: m.messageId, ...(m.affectedSopClassUid ? { affectedSopClassUid: m.affectedSopClassUid } : {}),
      status, errorComment: type === 'C-STORE-RQ' ? 'no C-GET is receiving on this association' : `${type} is not performed by this SCU`,
    } as never, req.presentationContext.id);
  } finally {
    host.dimse.requestDone(m.messageId);
  }
}
