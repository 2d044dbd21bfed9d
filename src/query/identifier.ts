/**
 * A C-FIND request Identifier (PS3.4 C.4.1.1.3.1) parsed into a Query, and checked against the
 * rules of the information model: the level (C.6.1.1.1 / C.6.2.1.1), the hierarchical search of
 * the baseline (C.4.1.2.1, C.4.1.3.1: a single value in the Unique Key of every level above the
 * query level, no other keys above it) or the relational search when negotiated (C.4.1.2.2.1,
 * C.4.1.3.2.1: keys at any level above). An Identifier that breaks them raises a QueryError with
 * status A900 "Identifier does not match SOP Class" and the Offending Element (PS3.4 Table C.4-1).
 */
import type { DataSet } from '../data/data-set.js';
import { formatTag, isGroupLength, isPrivateTag, tagGroup, type Tag } from '../data/tag.js';
import { UNMATCHABLE_VRS, badValue, finishKeys, matchingOfValues } from './key-value.js';
import { levelOfKey, uniqueKeyTag } from './keys.js';
import { parseTimezoneOffset } from './normalize.js';
import { QueryError, QueryStatus } from './query-error.js';
import {
  INFORMATION_MODELS, queryOptions, type InformationModel, type InformationModelName, type MatchingKey, type Query,
  type QueryLevel, type QueryOptions, type TimezoneOffset,
} from './query.js';
import { describeTag } from './record.js';

export const SPECIFIC_CHARACTER_SET = 0x00080005;
export const QUERY_RETRIEVE_LEVEL = 0x00080052;
export const QUERY_RETRIEVE_VIEW = 0x00080053;
export const RETRIEVE_AE_TITLE = 0x00080054;
export const INSTANCE_AVAILABILITY = 0x00080056;
export const TIMEZONE_OFFSET_FROM_UTC = 0x00080201;
export const STORAGE_MEDIA_FILE_SET_ID = 0x00880130;
export const STORAGE_MEDIA_FILE_SET_UID = 0x00880140;

/**
 * Attributes of the response that the SCP fills in (C.4.1.1.3.2) rather than matches. Instance
 * Availability "shall not be included in a C-FIND request", but SCUs do send it as a return key,
 * so it is accepted as one.
 */
const RESPONSE_ONLY: ReadonlySet<Tag> = new Set([RETRIEVE_AE_TITLE, INSTANCE_AVAILABILITY, STORAGE_MEDIA_FILE_SET_ID, STORAGE_MEDIA_FILE_SET_UID]);

export interface ParseIdentifierOptions {
  /** The information model of the SOP Class on whose presentation context the C-FIND came. */
  readonly model: InformationModel | InformationModelName;
  /** What SOP Class Extended Negotiation agreed (PS3.4 C.5.1.1). */
  readonly options?: Partial<QueryOptions>;
  /**
   * Accept Identifiers that break the hierarchical rules instead of failing with A900: keys at a
   * level the query does not allow are not matched and are reported in `unsupportedKeys` (the SCP
   * then answers FF01, PS3.4 C.2.2.1.3), missing Unique Keys are not required. Default false.
   */
  readonly lenient?: boolean;
  /**
   * A query without the Unique Key of its own level (C.4.1.2.1 requires it) is taken as asking for
   * it with Universal Matching rather than failing with A900, as DCMTK's dcmqrscp and Orthanc take
   * it: simple requesters send `QueryRetrieveLevel=STUDY, PatientName=DOE*` and need the UIDs
   * back to retrieve anything. Default false.
   */
  readonly supplyUniqueKey?: boolean;
}

function fail(code: 'ERR_DICOM_QUERY_LEVEL' | 'ERR_DICOM_QUERY_KEY_LEVEL' | 'ERR_DICOM_QUERY_UNIQUE_KEY' | 'ERR_DICOM_QUERY_NOT_NEGOTIATED', message: string, tag: Tag): QueryError {
  return new QueryError(code, message, { offendingElements: [tag] });
}

/** Decoded values of an element; a decoding failure is C000 "Unable to process". */
function stringsOf(ds: DataSet, tag: Tag, path: readonly Tag[]): string[] {
  try {
    return ds.strings(tag);
  } catch (cause) {
    throw new QueryError('ERR_DICOM_QUERY_UNABLE_TO_PROCESS', `cannot decode key ${path.map(formatTag).join('.')}: ${(cause as Error).message}`,
      { offendingElements: path, status: QueryStatus.UnableToProcess, cause });
  }
}

export function parseIdentifier(identifier: DataSet, parse: ParseIdentifierOptions): Query {
  const model = typeof parse.model === 'string' ? INFORMATION_MODELS[parse.model] : parse.model;
  const options = queryOptions(parse.options);
  const lenient = parse.lenient ?? false;

  const levelText = identifier.has(QUERY_RETRIEVE_LEVEL) ? stringsOf(identifier, QUERY_RETRIEVE_LEVEL, [QUERY_RETRIEVE_LEVEL])[0] : undefined;
  if (levelText === undefined || levelText === '') {
    throw fail('ERR_DICOM_QUERY_LEVEL', 'the Identifier has no Query/Retrieve Level (0008,0052) (PS3.4 C.4.1.1.3.1)', QUERY_RETRIEVE_LEVEL);
  }
  const level = levelText.trim() as QueryLevel;
  if (!model.levels.includes(level)) {
    throw fail('ERR_DICOM_QUERY_LEVEL', `Query/Retrieve Level "${levelText}" is not a level of the ${model.name} information model (${model.levels.join(', ')})`, QUERY_RETRIEVE_LEVEL);
  }

  let timezoneOffset: TimezoneOffset | undefined;
  if (identifier.has(TIMEZONE_OFFSET_FROM_UTC)) {
    // C.4.1.1.3.1: "it shall not be sent with a zero-length value".
    const text = stringsOf(identifier, TIMEZONE_OFFSET_FROM_UTC, [TIMEZONE_OFFSET_FROM_UTC])[0] ?? '';
    timezoneOffset = parseTimezoneOffset(text);
    if (!timezoneOffset) throw badValue([TIMEZONE_OFFSET_FROM_UTC], `Timezone Offset From UTC "${text}" is not "+HHMM" or "-HHMM"`);
  }

  let view: 'CLASSIC' | 'ENHANCED' | undefined;
  if (identifier.has(QUERY_RETRIEVE_VIEW)) {
    const text = (stringsOf(identifier, QUERY_RETRIEVE_VIEW, [QUERY_RETRIEVE_VIEW])[0] ?? '').trim();
    if (text !== '') {
      if (!options.enhancedMultiFrameImageConversion) {
        throw fail('ERR_DICOM_QUERY_NOT_NEGOTIATED', 'Query/Retrieve View (0008,0053) needs Enhanced Multi-Frame Image Conversion, which was not negotiated (PS3.4 C.4.1.1.3.1)', QUERY_RETRIEVE_VIEW);
      }
      if (text !== 'CLASSIC' && text !== 'ENHANCED') throw badValue([QUERY_RETRIEVE_VIEW], `Query/Retrieve View "${text}" is not CLASSIC or ENHANCED`);
      view = text;
    }
  }

  const unsupported: Tag[] = [];
  const parsed = parseKeys(identifier, [], options, unsupported, (tag) => levelOfKey(model, tag, level), true);
  const keys = validateLevels(model, level, parsed, options, lenient, unsupported, parse.supplyUniqueKey ?? false);

  return Object.freeze({
    origin: 'C-FIND',
    model,
    level,
    keys: Object.freeze(keys),
    options,
    characterSet: Object.freeze(identifier.has(SPECIFIC_CHARACTER_SET) ? [...identifier.characterSet.terms] : []),
    timezoneOffset,
    view,
    unsupportedKeys: Object.freeze(unsupported.sort((a, b) => a - b)),
    qido: undefined,
  });
}

/** The keys of a data set (the Identifier, or an item of a sequence key). */
function parseKeys(ds: DataSet, parentPath: readonly Tag[], options: QueryOptions, unsupported: Tag[], levelOf: (tag: Tag) => QueryLevel, top: boolean): MatchingKey[] {
  const keys: MatchingKey[] = [];
  for (const element of ds.elements()) {
    const tag = element.tag;
    if (tagGroup(tag) < 0x0008 || isGroupLength(tag)) continue;
    if (top && (tag === SPECIFIC_CHARACTER_SET || tag === QUERY_RETRIEVE_LEVEL || tag === QUERY_RETRIEVE_VIEW || tag === TIMEZONE_OFFSET_FROM_UTC)) continue;
    if (!top && tag === SPECIFIC_CHARACTER_SET) continue;
    const path = [...parentPath, tag];
    const { keyword, vr } = describeTag(tag);
    // C.2.2.1.3: optional keys the SCP does not support are neither matched nor returned.
    if (isPrivateTag(tag) || keyword === '') {
      unsupported.push(tag);
      continue;
    }
    const level = levelOf(tag);
    if (vr === 'SQ' || element.items) {
      keys.push({ tag, keyword, vr: 'SQ', level, matching: sequenceMatching(element.items ?? [], path, options, unsupported, level) });
      continue;
    }
    if (top && RESPONSE_ONLY.has(tag)) {
      keys.push({ tag, keyword, vr, level, matching: { type: 'universal' } });
      continue;
    }
    if (UNMATCHABLE_VRS.has(vr) || UNMATCHABLE_VRS.has(element.vr)) {
      if (element.bytes.length === 0) keys.push({ tag, keyword, vr, level, matching: { type: 'universal' } });
      else unsupported.push(tag);
      continue;
    }
    keys.push({ tag, keyword, vr, level, matching: matchingOfValues(vr, stringsOf(ds, tag, path), options, path) });
  }
  return finishKeys(keys, options, parentPath);
}

/** C.2.2.2.6: one item of item keys; zero items or an empty item is Universal Matching. */
function sequenceMatching(items: readonly DataSet[], path: readonly Tag[], options: QueryOptions, unsupported: Tag[], level: QueryLevel): MatchingKey['matching'] {
  if (items.length === 0) return { type: 'universal' };
  if (items.length > 1) throw badValue(path, `a sequence key has ${items.length} items; Sequence Matching takes one (PS3.4 C.2.2.2.6)`);
  const item = parseKeys(items[0]!, path, options, unsupported, () => level, false);
  return item.length === 0 ? { type: 'universal' } : { type: 'sequence', item: Object.freeze(item) };
}

/**
 * The hierarchical rules (C.4.1.2.1, C.4.1.3.1) or the relational ones (C.4.1.3.2.1). Keys below
 * the query level are never allowed: "The Key Attributes and values allowable for the level of
 * the query shall be defined in the SOP Class definition" (C.4.1.1.3.1).
 */
function validateLevels(model: InformationModel, level: QueryLevel, keys: MatchingKey[], options: QueryOptions, lenient: boolean, unsupported: Tag[], supplyUniqueKey: boolean): MatchingKey[] {
  const depth = model.levels.indexOf(level);
  const kept: MatchingKey[] = [];
  for (const key of keys) {
    const keyDepth = model.levels.indexOf(key.level);
    // Each level has one Unique Key (PS3.4 C.6.1.1.2 to C.6.1.1.5: the one 'U' row of its table).
    const isUnique = key.tag === uniqueKeyTag(key.level);
    let problem: string | undefined;
    // The Error Comment keeps 64 characters: the key and the fault come first.
    if (keyDepth > depth) problem = `${key.level} key below the ${level} level of the query (PS3.4 C.4.1.1.3.1)`;
    else if (keyDepth < depth && !isUnique && !options.relational) {
      problem = `${key.level} key above ${level}; only Unique Keys there without relational-queries (PS3.4 C.4.1.2.1)`;
    }
    if (problem) {
      if (lenient) {
        unsupported.push(key.tag);
        continue;
      }
      throw fail('ERR_DICOM_QUERY_KEY_LEVEL', `${key.keyword} ${formatTag(key.tag)}: ${problem}`, key.tag);
    }
    kept.push(key);
  }

  for (let i = 0; i <= depth; i++) {
    const upper = model.levels[i]!;
    const tag = uniqueKeyTag(upper);
    const key = kept.find((k) => k.tag === tag);
    const name = () => `${describeTag(tag).keyword} ${formatTag(tag)}`;
    if (i < depth) {
      if (options.relational) continue;
      // C.4.1.2.1: "a single value in the Unique Key Attribute for each level above the Query/Retrieve level".
      if (!key) {
        if (lenient) continue;
        throw fail('ERR_DICOM_QUERY_UNIQUE_KEY', `missing Unique Key ${name()} of the ${upper} level: a hierarchical query needs one value for it (PS3.4 C.4.1.2.1)`, tag);
      }
      if (key.matching.type !== 'single') {
        throw fail('ERR_DICOM_QUERY_UNIQUE_KEY', `${name()} needs one value, not ${key.matching.type} matching: the Unique Key of the ${upper} level in a hierarchical query (PS3.4 C.4.1.2.1)`, tag);
      }
    } else {
      // C.4.1.2.1, C.4.1.3.2.1: the Unique Key of the query level shall be in the request.
      if (!key) {
        if (supplyUniqueKey) {
          const { keyword, vr } = describeTag(tag);
          kept.push({ tag, keyword, vr, level, matching: { type: 'universal' } });
          continue;
        }
        if (lenient) continue;
        throw fail('ERR_DICOM_QUERY_UNIQUE_KEY', `missing Unique Key ${name()} of the ${level} level of the query (PS3.4 C.4.1.2.1)`, tag);
      }
      if (key.matching.type === 'empty' || key.matching.type === 'range' || key.matching.type === 'sequence') {
        throw fail('ERR_DICOM_QUERY_UNIQUE_KEY', `the Unique Key ${name()} cannot use ${key.matching.type} matching (PS3.4 C.4.1.2.1)`, tag);
      }
    }
  }
  return kept;
}
