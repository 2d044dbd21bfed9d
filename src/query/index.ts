/**
 * Query matching shared by the C-FIND SCP (PS3.4 C.4.1) and QIDO-RS (PS3.18 §10.6), and its
 * translation to SQL for the index.
 *
 *   query.ts             the Query model: information models, levels, keys, matching types, options
 *   query-error.ts       QueryError: the C-FIND status / HTTP status a bad query answers with
 *   keys.ts              keys per level (PS3.4 C.6) and the indexed attributes (the index schema)
 *   key-value.ts         the matching type of a key value (PS3.4 C.2.2.2)
 *   identifier.ts        C-FIND Identifier -> Query, hierarchical / relational rules
 *   qido-parameters.ts   QIDO-RS query parameters -> Query
 *   normalize.ts         normal forms of dates, times and person names
 *   conditions.ts        keys compiled to conditions, read by both evaluators below
 *   record.ts            what is matched: DataSet, attribute record, EntityRecord
 *   matching.ts          in-memory matching
 *   sql.ts               WHERE fragments, schema columns, column values; post-filter
 *   response.ts          C-FIND response Identifiers and QIDO-RS results
 */
export {
  QUERY_LEVELS, INFORMATION_MODELS, FIND_SOP_CLASSES, BASELINE_OPTIONS, informationModelOfSopClass, queryOptions, keyOf, isMatchingKey,
} from './query.js';
export type {
  QueryLevel, InformationModelName, InformationModel, QueryOptions, DateTimeBound, Matching, MatchingType, MatchingKey,
  TimezoneOffset, AttributePath, QidoParameters, Query,
} from './query.js';
export { QueryError, QueryStatus } from './query-error.js';
export type { QueryErrorDetails } from './query-error.js';
export {
  UNIQUE_KEYS, keyDefinitions, keyDefinition, levelOfKey, uniqueKeyTag, indexedAttributes, indexedAttribute, pairedTimeTag,
  pairedDateTag, snakeCase,
} from './keys.js';
export type { KeyType, KeyDefinition, ColumnKind, IndexedAttribute } from './keys.js';
export { parseIdentifier } from './identifier.js';
export type { ParseIdentifierOptions } from './identifier.js';
export { parseQidoQuery, parseAttributePath } from './qido-parameters.js';
export type { QidoSearch, QidoParameterInput } from './qido-parameters.js';
export { foldText, personNameGroups } from './normalize.js';
export { queryConditions } from './conditions.js';
export type { Condition, Period, PeriodOn, NamePattern } from './conditions.js';
export type { AttributeRecord, AttributeValue, DerivedAttributes, EntityRecord, Candidate, InstanceAvailability } from './record.js';
export { matches, evaluateConditions, attributeValues, fuzzyNameMatch } from './matching.js';
export {
  SQLITE, POSTGRESQL, likeDialect, likePattern, DEFAULT_SCHEMA, DEFAULT_TABLES, schemaColumns, columnValues, compileWhere,
} from './sql.js';
export type { SqlDialect, IndexSchema, SqlType, SchemaColumn, CompiledWhere } from './sql.js';
export { buildFindResponse, buildQidoResult, encodeFindResponse, QIDO_DEFAULT_ATTRIBUTES } from './response.js';
export type { FindResponseOptions, QidoResultOptions } from './response.js';
