/** Sends the responses of a C-MOVE or C-GET (PS3.7 §9.3.3.2, §9.3.4.2): counts, Error Comment, Failed SOP Instance UID List. */
import type { GenericRequest } from '../../ae/index.js';
import { encodeDataSet } from '../../data/writer.js';
import { isPending } from '../../dimse/index.js';
import { countFields, type RetrieveResponse } from '../../services/query-retrieve/retrieve.js';
import { encodingOf } from './context.js';

/**
 * A Pending response is sent at the next turn of the event loop: performSubOperations yields it
 * just after beginning the next sub-operation, whose C-STORE-RQ (on the C-MOVE's other
 * association) should have its first bytes written before this one.
 */
export async function sendRetrieveResponse(req: GenericRequest, r: RetrieveResponse): Promise<void> {
  if (isPending(r.status)) await new Promise((resolve) => setImmediate(resolve));
  await req.respond(
    { status: r.status, ...countFields(r), ...(r.errorComment ? { errorComment: r.errorComment } : {}) },
    r.identifier ? encodeDataSet(r.identifier, encodingOf(req)) : null,
  );
}

/** The Error Comment of a final response, for the log: "A702H, 3 failed: ...". */
export function describeOutcome(r: RetrieveResponse): string {
  const c = r.counts;
  return `status ${r.status.toString(16).toUpperCase().padStart(4, '0')}H, completed ${c.completed}, warning ${c.warning}, failed ${c.failed}` +
    `${c.remaining ? `, not started ${c.remaining}` : ''}${r.errorComment ? ` (${r.errorComment})` : ''}`;
}
