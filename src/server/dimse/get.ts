/**
 * C-GET SCP (PS3.4 C.4.3): the C-STORE sub-operations go over the C-GET's own association, on the
 * Storage presentation contexts for which the requester took the SCP role by SCP/SCU Role
 * Selection (PS3.4 C.5.3, PS3.7 D.3.3.4). An instance with no such context (its SOP class not
 * proposed, proposed without the role, or not in a transfer syntax it can be sent in) is a failed
 * sub-operation, said in the Error Comment.
 */
import type { GenericRequest } from '../../ae/index.js';
import { lookupUid } from '../../dictionary/uid-dictionary.js';
import { agreedRelationalRetrieval } from '../../services/query-retrieve/extended-negotiation.js';
import { instancesOf, performSubOperations, retrieveTarget, type RetrieveResponse } from '../../services/query-retrieve/retrieve.js';
import type { QueryRetrieveSopClass } from '../../services/query-retrieve/sop-classes.js';
import { contextForInstance } from '../../services/query-retrieve/stored-data-set.js';
import type { StoredInstance } from '../../storage/ports.js';
import { Status } from '../../dimse/index.js';
import { agreedExtendedNegotiation, READ_AHEAD, readIdentifier, storeSubOperation, type QueryRetrieveContext } from './context.js';
import { describeOutcome, sendRetrieveResponse } from './retrieve-responses.js';

export async function handleGet(req: GenericRequest, qr: QueryRetrieveSopClass, ctx: QueryRetrieveContext): Promise<void> {
  const message = req.request.message as { messageId: number; priority?: number };
  const identifier = await readIdentifier(req);
  const relational = agreedRelationalRetrieval(agreedExtendedNegotiation(req.association, qr.uid));
  const target = retrieveTarget(identifier, qr.model, { relational });
  const instances = await instancesOf(ctx.archive.index, target);
  const from = req.association.callingAeTitle;
  ctx.log('info', `C-GET from ${from}: ${instances.length} instances at ${target.level} level`);
  const accepted = req.association.association.acceptedPresentationContexts();
  // The requester's SCP role: it receives the C-STOREs this end sends (PS3.4 C.5.3).
  const receiving = accepted.filter((pc) => pc.scpRole);
  const contextFor = (instance: StoredInstance) => {
    const found = contextForInstance(receiving, instance);
    if ('id' in found || receiving.some((pc) => pc.abstractSyntax === instance.sopClassUid)) return found;
    const withoutRole = accepted.some((pc) => pc.abstractSyntax === instance.sopClassUid);
    return withoutRole ? { reason: `${lookupUid(instance.sopClassUid)?.name ?? instance.sopClassUid} proposed without the SCP role (PS3.4 C.5.3)` } : found;
  };
  const cancelled = req.request.cancelled;
  const store = storeSubOperation(ctx.archive, {
    dimse: req.dimse, contextFor, priority: message.priority, peerName: from, cancelled,
    onFailure: (instance, comment) => ctx.log('warn', `C-GET from ${from}: ${instance.sopInstanceUid} failed: ${comment}`),
  });
  let final: RetrieveResponse | undefined;
  for await (const r of performSubOperations(instances, { store, prepare: store.prepare, readAhead: READ_AHEAD, cancelled, pendingInterval: ctx.config.pendingInterval })) {
    final = r;
    await sendRetrieveResponse(req, r);
  }
  if (final) ctx.log(final.status === Status.Success ? 'info' : 'warn', `C-GET from ${from}: ${describeOutcome(final)}`);
}
