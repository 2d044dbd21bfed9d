/**
 * The C-FIND SCP of the Query/Retrieve Service Class (PS3.4 C.4.1.3): parses the Identifier with
 * the shared query engine, searches the index, and yields one Pending response per match, then the
 * final status. Cancellation (C-CANCEL-RQ) stops the search between matches.
 */
import type { DataSet } from '../../data/data-set.js';
import type { Encoding } from '../../data/writer.js';
import { Status } from '../../dimse/status.js';
import { ServiceError } from '../../dimse/service-error.js';
import { buildFindResponse, encodeFindResponse } from '../../query/response.js';
import { parseIdentifier } from '../../query/identifier.js';
import { QueryError } from '../../query/query-error.js';
import type { InformationModelName, QueryOptions } from '../../query/query.js';
import type { IndexStore } from '../../storage/ports.js';

export interface FindResponse {
  status: number;
  /** The Identifier of a Pending response; null in the others, and when `encoding` was given. */
  identifier: DataSet | null;
  /** With the `encoding` option: the Identifier of a Pending response, encoded in it. */
  encoded?: Uint8Array;
  errorComment?: string;
}

export interface FindOptions {
  model: InformationModelName;
  /** Options agreed by SOP Class Extended Negotiation (PS3.4 C.5.1.1). */
  queryOptions?: Partial<QueryOptions>;
  /** Retrieve AE Title (0008,0054) to announce in responses. */
  retrieveAeTitle: string;
  cancelled?: AbortSignal;
  /** Accept Identifiers that break the hierarchical rules (unsupported keys then answer FF01). */
  lenient?: boolean;
  /** Take a query without its level's Unique Key as asking for it (ParseIdentifierOptions.supplyUniqueKey). */
  supplyUniqueKey?: boolean;
  /**
   * Give Pending responses their Identifier encoded in this encoding (`encoded`) rather than as a
   * DataSet: the same bytes, written without building the DataSet (query/response.ts encodeFindResponse).
   */
  encoding?: Encoding;
}

/** Runs a C-FIND and yields its responses: Pending (FF00 or FF01) per match, then the final one. */
export async function* performFind(index: IndexStore, identifier: DataSet, options: FindOptions): AsyncGenerator<FindResponse> {
  let query;
  try {
    query = parseIdentifier(identifier, { model: options.model, options: options.queryOptions, lenient: options.lenient, supplyUniqueKey: options.supplyUniqueKey });
  } catch (err) {
    if (err instanceof QueryError) throw new ServiceError(err.status, err.message, { offendingElement: [...err.offendingElements] });
    throw err;
  }
  // PS3.4 C.4.1.1.4: FF01 when optional keys were not supported.
  const pending = query.unsupportedKeys.length > 0 ? Status.PendingWarning : Status.Pending;
  const responseOptions = { retrieveAETitles: [options.retrieveAeTitle] };
  for await (const entity of index.find(query, query.level)) {
    if (options.cancelled?.aborted) {
      yield { status: Status.Cancel, identifier: null };
      return;
    }
    yield options.encoding
      ? { status: pending, identifier: null, encoded: encodeFindResponse(query, entity, options.encoding, responseOptions) }
      : { status: pending, identifier: buildFindResponse(query, entity, responseOptions) };
  }
  if (options.cancelled?.aborted) yield { status: Status.Cancel, identifier: null };
  else yield { status: Status.Success, identifier: null };
}
