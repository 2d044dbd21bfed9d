/**
 * C-MOVE SCP (PS3.4 C.4.2): the Move Destination is looked up among the configured peers by AE
 * title; the instances go over new associations to it (proposing their SOP classes and transfer
 * syntaxes): the first opened before any sub-operation, further ones (moveAssociations) in the
 * background (move-lanes.ts). Pending responses carry the counts, and the final response the
 * Failed SOP Instance UID List. C-CANCEL stops each association between sub-operations.
 */
import { connect, type AssociationClient, type GenericRequest } from '../../ae/index.js';
import { ServiceError, Status } from '../../dimse/index.js';
import { agreedRelationalRetrieval } from '../../services/query-retrieve/extended-negotiation.js';
import { allFailed, instancesOf, performSubOperations, retrieveTarget, type RetrieveResponse } from '../../services/query-retrieve/retrieve.js';
import type { QueryRetrieveSopClass } from '../../services/query-retrieve/sop-classes.js';
import { proposalsForInstances } from '../../services/query-retrieve/stored-data-set.js';
import { agreedExtendedNegotiation, readIdentifier, type QueryRetrieveContext } from './context.js';
import { associationsFor, MoveLanes } from './move-lanes.js';
import { describeOutcome, sendRetrieveResponse } from './retrieve-responses.js';
import { tlsHint, unreachable } from './unreachable.js';

/** The most contexts one A-ASSOCIATE-RQ may propose (PS3.8 §9.3.2.2: odd IDs 1..255). */
const MAX_CONTEXTS = 128;

export async function handleMove(req: GenericRequest, qr: QueryRetrieveSopClass, ctx: QueryRetrieveContext): Promise<void> {
  const message = req.request.message as { moveDestination: string; messageId: number; priority?: number };
  const identifier = await readIdentifier(req);
  const relational = agreedRelationalRetrieval(agreedExtendedNegotiation(req.association, qr.uid));
  const target = retrieveTarget(identifier, qr.model, { relational });
  const destination = message.moveDestination.trim();
  const peer = ctx.config.peers.find((p) => p.aeTitle === destination);
  if (!peer) {
    // PS3.4 C.4.2.1.5: A801, with the Error Comment saying which destinations are known.
    const known = ctx.config.peers.map((p) => p.aeTitle);
    throw new ServiceError(Status.RefusedMoveDestinationUnknown,
      `Move Destination ${destination} unknown; ${known.length ? `known: ${known.join(', ')}` : 'no peers configured'}`);
  }
  const instances = await instancesOf(ctx.archive.index, target);
  const from = req.association.callingAeTitle;
  ctx.log('info', `C-MOVE from ${from} to ${peer.aeTitle} (${peer.host}:${peer.port}${peer.tls ? ', TLS' : ''}): ${instances.length} instances at ${target.level} level`);
  if (instances.length === 0) {
    await sendRetrieveResponse(req, { status: Status.Success, counts: { remaining: 0, completed: 0, failed: 0, warning: 0 }, identifier: null });
    return;
  }
  const presentationContexts = proposalsForInstances(instances).slice(0, MAX_CONTEXTS);
  const connectToPeer = (signal: AbortSignal): Promise<AssociationClient> => connect({
    host: peer.host,
    port: peer.port,
    callingAeTitle: ctx.config.aeTitle,
    calledAeTitle: peer.aeTitle,
    presentationContexts,
    maxPduLength: ctx.config.maxPduLength,
    ...(peer.tls && ctx.peerTls ? { tls: ctx.peerTls } : {}),
    signal,
  });
  let client: AssociationClient;
  try {
    client = await connectToPeer(req.request.cancelled);
  } catch (err) {
    if (req.request.cancelled.aborted) {
      // Cancelled while connecting: nothing was started (PS3.4 C.4.2.3.1).
      for await (const r of performSubOperations(instances, { store: async () => ({ status: Status.Cancel }), cancelled: req.request.cancelled })) await sendRetrieveResponse(req, r);
      return;
    }
    const reason = unreachable(peer, err);
    ctx.log('warn', `C-MOVE from ${from}: ${reason} (${(err as Error).message}${tlsHint(peer, err)})`);
    await sendRetrieveResponse(req, allFailed(instances, reason));
    return;
  }
  const lanes = new MoveLanes(ctx, {
    // PS3.7 Table 9.3-1: the C-STORE-RQs name the C-MOVE that caused them.
    originator: { aeTitle: from, messageId: message.messageId },
    priority: message.priority,
    peerName: peer.aeTitle,
    cancelled: req.request.cancelled,
    onFailure: (instance, comment) => ctx.log('warn', `C-MOVE from ${from} to ${peer.aeTitle}: ${instance.sopInstanceUid} failed: ${comment}`),
  });
  const moreLanes = lanes.open(associationsFor(ctx.config.moveAssociations, instances.length) - 1, connectToPeer, (err, late) => {
    const why = late ? 'not accepted before the sub-operations ended' : unreachable(peer, err);
    ctx.log('info', `C-MOVE from ${from}: a further association to ${peer.aeTitle} not opened (${why}); going on over those open`);
  });
  let final: RetrieveResponse | undefined;
  try {
    for await (const r of performSubOperations(instances, { ...lanes.lane(client), moreLanes, cancelled: req.request.cancelled, pendingInterval: ctx.config.pendingInterval })) {
      final = r;
      await sendRetrieveResponse(req, r);
    }
  } finally {
    await lanes.close();
  }
  if (final) ctx.log(final.status === Status.Success ? 'info' : 'warn', `C-MOVE from ${from} to ${peer.aeTitle}: ${describeOutcome(final)}${lanes.carried > 1 ? ` over ${lanes.carried} associations` : ''}`);
}
