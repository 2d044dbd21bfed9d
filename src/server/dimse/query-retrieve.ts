/** Dispatches the requests on the Query/Retrieve SOP classes (PS3.4 C.6) to C-FIND, C-MOVE and C-GET. */
import type { GenericRequest } from '../../ae/index.js';
import { Status } from '../../dimse/index.js';
import { queryRetrieveSopClass } from '../../services/query-retrieve/sop-classes.js';
import type { QueryRetrieveContext } from './context.js';
import { handleFind } from './find.js';
import { handleGet } from './get.js';
import { handleMove } from './move.js';

const OPERATION_OF: Record<string, 'FIND' | 'MOVE' | 'GET'> = { 'C-FIND-RQ': 'FIND', 'C-MOVE-RQ': 'MOVE', 'C-GET-RQ': 'GET' };

export async function handleQueryRetrieve(req: GenericRequest, ctx: QueryRetrieveContext): Promise<void> {
  const { request } = req;
  const qr = queryRetrieveSopClass(request.presentationContext.abstractSyntax);
  if (!qr || OPERATION_OF[request.message.type] !== qr.operation) {
    request.dataSet?.discard();
    // PS3.7 C.5.8: an operation the SOP class of this presentation context does not have.
    await req.respond({ status: Status.UnrecognizedOperation, errorComment: `${request.message.type} is not performed on this presentation context` });
    return;
  }
  if (qr.operation === 'FIND') await handleFind(req, qr, ctx);
  else if (qr.operation === 'MOVE') await handleMove(req, qr, ctx);
  else await handleGet(req, qr, ctx);
}
