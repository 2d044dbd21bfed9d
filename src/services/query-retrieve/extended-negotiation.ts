/**
 * SOP Class Extended Negotiation for the Query/Retrieve SOP Classes (PS3.4 C.5): the acceptor's
 * answer to the requestor's service-class-application-information, and the options the answer
 * agrees. Pure functions over bytes; the association layer calls `answerExtendedNegotiation`.
 *
 * C-FIND (PS3.4 C.5.1.1, Tables C.5-1 and C.5-2), one byte per option, 1 = requested/agreed:
 *   1 relational-queries   2 combined date-time matching   3 fuzzy semantic matching of person names
 *   4 timezone query adjustment   5 Enhanced Multi-Frame Image Conversion   6 Empty Value Matching
 *   7 Multiple Value Matching (the last two in editions since 2020: "item bytes 2 through 7 are optional")
 * C-MOVE and C-GET (PS3.4 C.5.2.1, C.5.3.1, Tables C.5-3 and C.5-4):
 *   1 relational-retrieval   2 Enhanced Multi-Frame Image Conversion
 */
import type { QueryOptions } from '../../query/query.js';
import { queryRetrieveSopClass } from './sop-classes.js';

/** What this SCP performs, byte by byte (Enhanced Multi-Frame Image Conversion: not supported). */
const SUPPORTED: Record<'FIND' | 'MOVE' | 'GET', readonly number[]> = {
  FIND: [1, 1, 1, 1, 0, 1, 1],
  MOVE: [1, 0],
  GET: [1, 0],
};

/**
 * The service-class-application-information to answer for a Query/Retrieve SOP Class, or
 * undefined for other SOP classes. Each sub-field offered is echoed (1) when supported and turned
 * down (0) otherwise; the answer has as many bytes as the request, up to those the table defines
 * ("shall return a single byte field if offered a single byte field", PS3.4 C.5.1.1).
 */
export function answerExtendedNegotiation(sopClassUid: string, requested: Uint8Array): Uint8Array | undefined {
  const qr = queryRetrieveSopClass(sopClassUid);
  if (!qr || requested.length === 0) return undefined;
  const supported = SUPPORTED[qr.operation];
  const answer = new Uint8Array(Math.min(requested.length, supported.length));
  for (let i = 0; i < answer.length; i++) answer[i] = requested[i] === 1 && supported[i] === 1 ? 1 : 0;
  return answer;
}

/** The byte (1-based) of each C-FIND option in the service-class-application-information (PS3.4 Table C.5-1). */
export const FIND_OPTION_BYTES: Readonly<Record<keyof QueryOptions, number>> = {
  relational: 1,
  combinedDateTimeMatching: 2,
  fuzzySemanticMatching: 3,
  timezoneQueryAdjustment: 4,
  enhancedMultiFrameImageConversion: 5,
  emptyValueMatching: 6,
  multipleValueMatching: 7,
};

/** The byte (1-based) of relational-retrieval for C-MOVE and C-GET (PS3.4 Tables C.5-3, C.5-4). */
export const RELATIONAL_RETRIEVAL_BYTE = 1;

/** The options agreed for C-FIND by the acceptor's answer (absent: the defaults of PS3.4 C.5.1.1). */
export function agreedQueryOptions(answer: Uint8Array | undefined): Partial<QueryOptions> {
  if (!answer) return {};
  return Object.fromEntries(Object.entries(FIND_OPTION_BYTES).map(([option, byte]) => [option, answer[byte - 1] === 1])) as Partial<QueryOptions>;
}

/** Whether the acceptor's answer for a C-MOVE or C-GET SOP Class agrees relational-retrieval (PS3.4 C.5.2.1). */
export function agreedRelationalRetrieval(answer: Uint8Array | undefined): boolean {
  return answer?.[RELATIONAL_RETRIEVAL_BYTE - 1] === 1;
}
