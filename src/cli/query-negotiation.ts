/**
 * The Query/Retrieve options `conduit find`, `move` and `get` ask for by SOP Class Extended
 * Negotiation (PS3.4 C.5.1.1 Table C.5-1 for C-FIND, C.5.2.1 / C.5.3.1 for C-MOVE and C-GET), and
 * a warning for each the peer did not agree: it then answers with baseline behaviour (a name
 * matched literally, "" as a value like any other, keys above the level refused), which would
 * otherwise look like a query that found nothing.
 */
import { Command } from 'commander';
import type { AssociationClient, ConnectOptions } from '../ae/index.js';
import { FIND_OPTION_BYTES, RELATIONAL_RETRIEVAL_BYTE } from '../services/query-retrieve/extended-negotiation.js';

export interface NegotiationFlags {
  relational?: boolean;
  combinedDatetime?: boolean;
  fuzzy?: boolean;
  timezoneAdjustment?: boolean;
  emptyValue?: boolean;
  multipleValue?: boolean;
}

/** Each flag's byte in the service-class-application-information (1-based; extended-negotiation.ts holds the positions). */
const FIND_OPTIONS: ReadonlyArray<[keyof NegotiationFlags, number, string]> = [
  ['relational', FIND_OPTION_BYTES.relational, 'relational-queries'],
  ['combinedDatetime', FIND_OPTION_BYTES.combinedDateTimeMatching, 'combined date-time matching'],
  ['fuzzy', FIND_OPTION_BYTES.fuzzySemanticMatching, 'fuzzy semantic matching of person names'],
  ['timezoneAdjustment', FIND_OPTION_BYTES.timezoneQueryAdjustment, 'timezone query adjustment'],
  ['emptyValue', FIND_OPTION_BYTES.emptyValueMatching, 'Empty Value Matching'],
  ['multipleValue', FIND_OPTION_BYTES.multipleValueMatching, 'Multiple Value Matching'],
];
const RETRIEVE_OPTIONS: ReadonlyArray<[keyof NegotiationFlags, number, string]> = [['relational', RELATIONAL_RETRIEVAL_BYTE, 'relational-retrieval']];

/** --relational for find, move and get. */
export function addRelationalOption(command: Command): Command {
  return command.option('--relational', 'ask for relational queries / retrieval (PS3.4 C.5): keys of any level, no Unique Keys needed above the level');
}

/** The matching options only C-FIND negotiates. */
export function addFindNegotiationOptions(command: Command): Command {
  return command
    .option('--fuzzy', 'ask for fuzzy semantic matching of person names (PS3.4 C.2.2.2.1.1)')
    .option('--combined-datetime', 'ask for combined date-time matching of a DA and a TM range (PS3.4 C.2.2.2.5.4)')
    .option('--timezone-adjustment', 'ask for timezone query adjustment: give the zone with -k TimezoneOffsetFromUTC=+0100 (PS3.4 C.2.2.2.1.3)')
    .option('--empty-value', 'ask for Empty Value Matching: a key of "" finds the entities without a value (PS3.4 C.2.2.2.7)')
    .option('--multiple-value', 'ask for Multiple Value Matching: -k ModalitiesInStudy=CT\\PT finds studies with both (PS3.4 C.2.2.2.8)');
}

function optionsOf(operation: 'FIND' | 'MOVE' | 'GET'): ReadonlyArray<[keyof NegotiationFlags, number, string]> {
  return operation === 'FIND' ? FIND_OPTIONS : RETRIEVE_OPTIONS;
}

/** The sub-item to propose for `sopClassUid`, or none when no option is asked for. */
export function extendedNegotiationOf(flags: NegotiationFlags, operation: 'FIND' | 'MOVE' | 'GET', sopClassUid: string): NonNullable<ConnectOptions['sopClassExtendedNegotiations']> {
  const asked = optionsOf(operation).filter(([flag]) => flags[flag] === true);
  if (asked.length === 0) return [];
  const bytes = new Uint8Array(Math.max(...asked.map(([, byte]) => byte)));
  for (const [, byte] of asked) bytes[byte - 1] = 1;
  return [{ sopClassUid, serviceClassApplicationInformation: bytes }];
}

/** A line for each option asked for that the peer's A-ASSOCIATE-AC did not agree (a missing byte is 0, PS3.4 C.5.1.1). */
export function optionsNotAgreed(flags: NegotiationFlags, operation: 'FIND' | 'MOVE' | 'GET', sopClassUid: string, client: AssociationClient): string[] {
  const answer = client.association.accept.userInformation.sopClassExtendedNegotiations.find((x) => x.sopClassUid === sopClassUid)?.serviceClassApplicationInformation;
  return optionsOf(operation).filter(([flag, byte]) => flags[flag] === true && answer?.[byte - 1] !== 1)
    .map(([, , name]) => `the peer did not agree ${name} (PS3.4 C.5): it answers without it`);
}
