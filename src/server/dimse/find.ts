/**
 * C-FIND on a Query/Retrieve SOP class (PS3.4 C.4.1): Pending responses with Identifiers, then the
 * final status. The responses go out in batches (DimseAssociation.sendAll): the Identifiers are
 * encoded as the matches come, and sent together once the batch holds FIRST_BATCH responses (twice
 * as many for each batch after it, up to BATCH_MESSAGES), or BATCH_BYTES, or BATCH_MS after the first
 * of them, and with the final response. A query of one match is one write; one of many is a few
 * writes, the first early, so that the peer reads the first matches while the rest are found and
 * encoded, rather than waiting for all of them (a single batch) or being woken for each (no batch).
 * The index yields its matches without giving the event loop a turn, so after each batch but the
 * last the search waits for one (setImmediate): the socket is read, and a C-CANCEL-RQ stops the
 * search within a batch or two instead of after the last match (PS3.4 C.4.1.2.3).
 */
import type { GenericRequest } from '../../ae/index.js';
import { DATA_SET_PRESENT, encodeCommand, responseTypeOf, type DimseMessage } from '../../dimse/index.js';
import { agreedQueryOptions } from '../../services/query-retrieve/extended-negotiation.js';
import { performFind, type FindResponse } from '../../services/query-retrieve/find.js';
import type { QueryRetrieveSopClass } from '../../services/query-retrieve/sop-classes.js';
import { agreedExtendedNegotiation, encodingOf, readIdentifier, type QueryRetrieveContext } from './context.js';

/** The first batch is sent once it holds this many responses, each next one twice as many... */
const FIRST_BATCH = 2;
/** ...or this many bytes of Identifiers... */
const BATCH_BYTES = 64 * 1024;
/** ...or this many responses... */
const BATCH_MESSAGES = 256;
/** ...or its first response has waited this long (a slow search still answers as it goes). */
const BATCH_MS = 20;

/** One turn of the event loop: its poll phase reads what came in on the sockets. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function handleFind(req: GenericRequest, qr: QueryRetrieveSopClass, ctx: QueryRetrieveContext): Promise<void> {
  const identifier = await readIdentifier(req);
  const queryOptions = agreedQueryOptions(agreedExtendedNegotiation(req.association, qr.uid));
  const request = req.request.message as DimseMessage & { messageId: number; affectedSopClassUid: string };
  const responseOf = (r: FindResponse): DimseMessage => ({
    type: responseTypeOf('C-FIND-RQ')!,
    messageIdBeingRespondedTo: request.messageId,
    affectedSopClassUid: request.affectedSopClassUid,
    status: r.status,
    ...(r.errorComment ? { errorComment: r.errorComment } : {}),
  } as DimseMessage);
  // Every Pending response of one C-FIND has the same command set: encoded once.
  const pendingCommands = new Map<number, { message: DimseMessage; command: Uint8Array }>();
  const pendingOf = (r: FindResponse) => {
    let p = pendingCommands.get(r.status);
    if (!p) {
      const message = { ...responseOf(r), commandDataSetType: DATA_SET_PRESENT } as DimseMessage;
      p = { message, command: encodeCommand(message) };
      pendingCommands.set(r.status, p);
    }
    return p;
  };
  let batch: Array<{ message: DimseMessage; dataSet: Uint8Array | null; command?: Uint8Array }> = [];
  let bytes = 0;
  let since = 0;
  let size = FIRST_BATCH;
  const send = async () => {
    const messages = batch;
    batch = [];
    bytes = 0;
    size = Math.min(size * 2, BATCH_MESSAGES);
    await req.dimse.sendAll(messages, req.request.presentationContext.id);
  };
  const results = performFind(ctx.archive.index, identifier, {
    // A query without its level's Unique Key gets it back rather than A900, as dcmqrscp and Orthanc answer it.
    model: qr.model, queryOptions, supplyUniqueKey: true, retrieveAeTitle: ctx.config.aeTitle, cancelled: req.request.cancelled, encoding: encodingOf(req),
  });
  try {
    for await (const r of results) {
      const dataSet = r.encoded ?? null;
      if (batch.length === 0) since = Date.now();
      batch.push(dataSet && !r.errorComment ? { ...pendingOf(r), dataSet } : { message: responseOf(r), dataSet });
      bytes += dataSet?.length ?? 0;
      if (batch.length >= size || bytes >= BATCH_BYTES || Date.now() - since >= BATCH_MS) {
        await send();
        // More matches follow (the batch did not end with the final response): let a C-CANCEL-RQ in.
        if (dataSet) await nextTurn();
      }
    }
  } finally {
    // The matches found before a failure are answered before the failure's response, as they came.
    if (batch.length > 0) await send();
  }
}
