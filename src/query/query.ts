/**
 * The Query model shared by the C-FIND SCP (PS3.4 C.4.1) and QIDO-RS (PS3.18 §10.6): what is
 * asked (information model, level, matching and return keys) and under which negotiated options.
 * Built by identifier.ts (from a C-FIND Identifier) or qido-parameters.ts (from a query string);
 * evaluated by matching.ts in memory and by sql.ts in an index.
 */
import type { Tag } from '../data/tag.js';
import type { VR } from '../data/vr.js';

/** Query/Retrieve Level (0008,0052) values, PS3.4 C.6.1.1.1 / C.6.2.1.1. */
export type QueryLevel = 'PATIENT' | 'STUDY' | 'SERIES' | 'IMAGE';
export const QUERY_LEVELS: readonly QueryLevel[] = Object.freeze(['PATIENT', 'STUDY', 'SERIES', 'IMAGE']);

/**
 * The Query/Retrieve Information Models of PS3.4 C.3. Patient/Study Only (C.3.3) is retired; its
 * definition is kept (PS3.4-2004) since old SCUs still ask for it. A flat model such as the
 * Modality Worklist Information Model (PS3.4 K.6) is one more entry here with its own key table
 * in keys.ts; nothing in matching.ts or sql.ts depends on the hierarchy.
 */
export type InformationModelName = 'PatientRoot' | 'StudyRoot' | 'PatientStudyOnly';

export interface InformationModel {
  readonly name: InformationModelName;
  /** Levels from the top of the hierarchy down (PS3.4 C.3.1, C.3.2). */
  readonly levels: readonly QueryLevel[];
  readonly retired: boolean;
}

export const INFORMATION_MODELS: Readonly<Record<InformationModelName, InformationModel>> = Object.freeze({
  // PS3.4 C.3.1: four levels, patient at the top.
  PatientRoot: Object.freeze({ name: 'PatientRoot', levels: Object.freeze(['PATIENT', 'STUDY', 'SERIES', 'IMAGE'] as QueryLevel[]), retired: false }),
  // PS3.4 C.3.2: patient attributes are attributes of the study.
  StudyRoot: Object.freeze({ name: 'StudyRoot', levels: Object.freeze(['STUDY', 'SERIES', 'IMAGE'] as QueryLevel[]), retired: false }),
  // PS3.4 C.3.3 (retired; PS3.4-2004 C.3.3): patient and study levels only.
  PatientStudyOnly: Object.freeze({ name: 'PatientStudyOnly', levels: Object.freeze(['PATIENT', 'STUDY'] as QueryLevel[]), retired: true }),
});

/** The SOP Class UIDs of the C-FIND SOP Classes of each model (PS3.4 C.6.1.2, C.6.2.2). */
export const FIND_SOP_CLASSES: Readonly<Record<InformationModelName, string>> = Object.freeze({
  PatientRoot: '1.2.840.10008.5.1.4.1.2.1.1',
  StudyRoot: '1.2.840.10008.5.1.4.1.2.2.1',
  PatientStudyOnly: '1.2.840.10008.5.1.4.1.2.3.1',
});

/** The model a C-FIND SOP Class UID stands for, or undefined. */
export function informationModelOfSopClass(sopClassUid: string): InformationModel | undefined {
  for (const [name, uid] of Object.entries(FIND_SOP_CLASSES)) if (uid === sopClassUid) return INFORMATION_MODELS[name as InformationModelName];
  return undefined;
}

/**
 * Options that change how keys are matched. For C-FIND they are the ones agreed by SOP Class
 * Extended Negotiation (PS3.4 C.5.1.1, Tables C.5-1 and C.5-2: relational-queries, combined
 * date-time matching, fuzzy semantic matching of person names, timezone query adjustment,
 * enhanced multi-frame image conversion, empty value matching, multiple value matching); for
 * QIDO-RS they come from the query parameters (PS3.18 §8.3.4: fuzzymatching, emptyvaluematching,
 * multiplevaluematching) and the search is relational by nature.
 */
export interface QueryOptions {
  /** PS3.4 C.4.1.2.2.1, C.4.1.3.2.1: keys at any level; unique keys above the level not required. */
  readonly relational: boolean;
  /** PS3.4 C.2.2.2.5.4: a DA and a TM range of the same form match as one DT range. */
  readonly combinedDateTimeMatching: boolean;
  /** PS3.4 C.2.2.2.1.1: fuzzy semantic matching of PN (see matching.ts for the semantic chosen). */
  readonly fuzzySemanticMatching: boolean;
  /** PS3.4 C.2.2.2.1.3: Timezone Offset From UTC (0008,0201) in the Identifier adjusts TM/DT keys. */
  readonly timezoneQueryAdjustment: boolean;
  /** PS3.4 C.4.1.2.2.2: Query/Retrieve View (0008,0053) may be given. */
  readonly enhancedMultiFrameImageConversion: boolean;
  /** PS3.4 C.2.2.2.7: a key value of "" (two QUOTATION MARKs) matches entities with no value. */
  readonly emptyValueMatching: boolean;
  /** PS3.4 C.2.2.2.8: several key values must all be among the entity's values. */
  readonly multipleValueMatching: boolean;
}

export const BASELINE_OPTIONS: QueryOptions = Object.freeze({
  relational: false,
  combinedDateTimeMatching: false,
  fuzzySemanticMatching: false,
  timezoneQueryAdjustment: false,
  enhancedMultiFrameImageConversion: false,
  emptyValueMatching: false,
  multipleValueMatching: false,
});

export function queryOptions(options: Partial<QueryOptions> = {}): QueryOptions {
  return Object.freeze({ ...BASELINE_OPTIONS, ...options });
}

/** A date and a time given as the two halves of one instant (the DA and TM of a pair). */
export interface DateTimeBound {
  /** 'YYYYMMDD' */
  readonly date: string;
  /** 'HHMMSS.FFFFFF' with any precision, as given */
  readonly time: string;
}

/**
 * How one key is matched: the matching types of PS3.4 C.2.2.2. Values are decoded text, with the
 * padding and insignificant spaces removed (PS3.5 Table 6.2-1).
 */
export type Matching =
  /** C.2.2.2.3: zero length (or, C.2.2.2.4 note 1, a value of only "*"): every entity matches; a return key. */
  | { readonly type: 'universal' }
  /** C.2.2.2.1: one value; for DA/TM/DT by meaning (see matching.ts), for PN by the rules of C.2.2.2.1.1. */
  | { readonly type: 'single'; readonly value: string }
  /** C.2.2.2.2: a list of UIDs; any of them matches. */
  | { readonly type: 'uid-list'; readonly values: readonly string[] }
  /** C.2.2.2.4: "*" any sequence of characters, "?" any single character. */
  | { readonly type: 'wildcard'; readonly pattern: string }
  /** C.2.2.2.5: DA, TM or DT; a missing bound is an open end. */
  | { readonly type: 'range'; readonly lower?: string; readonly upper?: string }
  /**
   * C.2.2.2.5.4: the DA key of a pair whose DA and TM keys are ranges of the same form, when
   * combined date-time matching is negotiated; `timeTag` is the TM key it absorbed.
   */
  | { readonly type: 'combined-range'; readonly timeTag: Tag; readonly lower?: DateTimeBound; readonly upper?: DateTimeBound }
  /** The TM half of a 'combined-range' key: matched there, returned here. */
  | { readonly type: 'combined'; readonly dateTag: Tag }
  /** C.2.2.2.6: one item of item keys; an entity matches when one of its items matches them all. */
  | { readonly type: 'sequence'; readonly item: readonly MatchingKey[] }
  /** C.2.2.2.7: "" matches entities where the attribute is absent or has no value. */
  | { readonly type: 'empty' }
  /**
   * C.2.2.2.8: several values (no wild cards) of an attribute whose VM is greater than 1; an
   * entity matches when every one of them is one of its values (a logical AND).
   */
  | { readonly type: 'multiple'; readonly values: readonly string[] };

export type MatchingType = Matching['type'];

/** One key of the request: its attribute, where it sits in the model, and how it is matched. */
export interface MatchingKey {
  readonly tag: Tag;
  /** The PS3.6 keyword ('' for private or unknown attributes). */
  readonly keyword: string;
  readonly vr: VR;
  /** The level of the information model the attribute belongs to (keys.ts). */
  readonly level: QueryLevel;
  readonly matching: Matching;
}

/** Timezone Offset From UTC (0008,0201): "+HHMM" or "-HHMM" (PS3.3 C.12.1). */
export interface TimezoneOffset {
  readonly text: string;
  /** Minutes east of UTC. */
  readonly minutes: number;
}

/** A QIDO-RS includefield value: an attribute, or a path into sequences (PS3.18 §8.3.4.3). */
export type AttributePath = readonly Tag[];

/** What QIDO-RS adds to a query (PS3.18 §8.3.4.3, §8.3.4.4). */
export interface QidoParameters {
  /** 'all', or the attributes named by includefield (each a path of one or more tags). */
  readonly includeFields: 'all' | readonly AttributePath[];
  /** Maximum number of results; undefined for no limit asked. */
  readonly limit: number | undefined;
  /** Results to skip. */
  readonly offset: number;
  /** fuzzymatching=true was asked (whether it is performed is options.fuzzySemanticMatching). */
  readonly fuzzyMatchingRequested: boolean;
  /** The Study / Series Instance UIDs of the resource path that scopes the search, if any. */
  readonly studyInstanceUID: string | undefined;
  readonly seriesInstanceUID: string | undefined;
  /** fuzzymatching / emptyvaluematching / multiplevaluematching asked but not performed (Warning 299). */
  readonly unsupportedParameters: readonly string[];
}

export interface Query {
  readonly origin: 'C-FIND' | 'QIDO-RS';
  readonly model: InformationModel;
  readonly level: QueryLevel;
  /**
   * Every key of the request, matching and return keys alike (a universal key is a return key),
   * in ascending tag order. Specific Character Set, Query/Retrieve Level, Query/Retrieve View and
   * Timezone Offset From UTC are not keys; they are the fields below.
   */
  readonly keys: readonly MatchingKey[];
  readonly options: QueryOptions;
  /** Specific Character Set (0008,0005) of the request, its terms as given ([] for the default). */
  readonly characterSet: readonly string[];
  /** Timezone Offset From UTC (0008,0201) of the request. */
  readonly timezoneOffset: TimezoneOffset | undefined;
  /** Query/Retrieve View (0008,0053), PS3.4 C.4.1.2.2.2. */
  readonly view: 'CLASSIC' | 'ENHANCED' | undefined;
  /**
   * Keys the SCP neither matches nor returns (PS3.4 C.2.2.1.3): private attributes, attributes
   * the dictionary does not know, keys at a level the model does not allow (lenient parsing).
   * When non-empty the C-FIND SCP answers Pending with FF01 (PS3.4 Table C.4-1).
   */
  readonly unsupportedKeys: readonly Tag[];
  readonly qido: QidoParameters | undefined;
}

/** The key on `tag`, if the query has one. */
export function keyOf(query: Query, tag: Tag): MatchingKey | undefined {
  return query.keys.find((k) => k.tag === tag);
}

/** True for keys that restrict the matches (anything but universal and the TM half of a combined pair). */
export function isMatchingKey(key: MatchingKey): boolean {
  return key.matching.type !== 'universal' && key.matching.type !== 'combined';
}
