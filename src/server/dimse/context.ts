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
import type { StoreSubOperation } from '../../services/query-retrieve/retrieve.js';
import { storedDataSetBytes, type StoreContext } from '../../services/query-retrieve/stored-data-set.js';
import type { ArchiveStore } from '../../storage/index.js';
import type { StoredInstance } from '../../storage/ports.js';
import type { ServerConfig } from '../config.js';

export type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface QueryRetrieveContext {
  archive: ArchiveStore;
  config: ServerConfig;
  log: Log;
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
}

/**
 * One C-STORE sub-operation per call: the instance's data set streamed from the blob store in the
 * chosen context's transfer syntax. A failure is a status: the peer's, or 0122H when no context
 * fits, 0110H when the stored object cannot be read.
 */
export function storeSubOperation(archive: ArchiveStore, target: SubOperationTarget): StoreSubOperation {
  const send = sender(archive, target);
  return async (instance) => {
    const result = await send(instance).catch((err: unknown) => ({ status: Status.UnableToProcess, errorComment: `${target.peerName}: ${(err as Error).message}` }));
    if (isFailure(result.status)) target.onFailure?.(instance, result.errorComment ?? '');
    return result;
  };
}

function sender(archive: ArchiveStore, target: SubOperationTarget): StoreSubOperation {
  return async (instance) => {
    const context = target.contextFor(instance);
    if (!('id' in context)) return { status: Status.RefusedSOPClassNotSupported, errorComment: context.reason };
    let bytes: AsyncIterable<Uint8Array>;
    try {
      bytes = await storedDataSetBytes(archive.blobs, instance, context.transferSyntax);
    } catch (err) {
      return { status: Status.ProcessingFailure, errorComment: `${instance.sopInstanceUid}: ${(err as Error).message}` };
    }
    const rsp = await target.dimse.requestOne({
      type: 'C-STORE-RQ',
      affectedSopClassUid: instance.sopClassUid,
      affectedSopInstanceUid: instance.sopInstanceUid,
      priority: target.priority ?? Priority.MEDIUM,
      ...(target.originator ? { moveOriginatorApplicationEntityTitle: target.originator.aeTitle, moveOriginatorMessageId: target.originator.messageId } : {}),
    } as never, context.id, bytes);
    return { status: rsp.message.status, errorComment: `${target.peerName}: ${rsp.status.description}` };
  };
}
