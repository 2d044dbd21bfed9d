/** C-FIND on a Query/Retrieve SOP class (PS3.4 C.4.1): Pending responses with Identifiers, then the final status. */
import type { GenericRequest } from '../../ae/index.js';
import { encodeDataSet } from '../../data/writer.js';
import { agreedQueryOptions } from '../../services/query-retrieve/extended-negotiation.js';
import { performFind } from '../../services/query-retrieve/find.js';
import type { QueryRetrieveSopClass } from '../../services/query-retrieve/sop-classes.js';
import { agreedExtendedNegotiation, encodingOf, readIdentifier, type QueryRetrieveContext } from './context.js';

export async function handleFind(req: GenericRequest, qr: QueryRetrieveSopClass, ctx: QueryRetrieveContext): Promise<void> {
  const identifier = await readIdentifier(req);
  const enc = encodingOf(req);
  const queryOptions = agreedQueryOptions(agreedExtendedNegotiation(req.association, qr.uid));
  for await (const r of performFind(ctx.archive.index, identifier, { model: qr.model, queryOptions, retrieveAeTitle: ctx.config.aeTitle, cancelled: req.request.cancelled })) {
    const data = r.identifier ? encodeDataSet(r.identifier, enc) : null;
    await req.respond({ status: r.status, ...(r.errorComment ? { errorComment: r.errorComment } : {}) }, data);
  }
}
