/**
 * QIDO-RS search query parameters (PS3.18 §8.3.4, Table 8.3.4-1) parsed into the same Query the
 * C-FIND SCP uses. Matching semantics are those of C-FIND (PS3.18 §8.3.4.1 refers to PS3.4
 * C.2.2.2); the search is relational (keys of the study may be given in a series search) over the
 * Study Root model, scoped by the UIDs of the resource path.
 *
 * Syntax decisions, from the ABNF of Table 8.3.4-1 and RFC 5234 §2.3 (quoted strings in ABNF are
 * case-insensitive): "includefield", "fuzzymatching", "limit", "offset", "emptyvaluematching",
 * "multiplevaluematching", "all", "true" and "false" are accepted in any case, as are the hex
 * digits of a tag; keywords are PS3.6 keywords and are case-sensitive. A UID list is
 * comma-separated (uid-list-match = attribute "=" 1#value); for other attributes several values
 * (Multiple Value Matching) are separated by backslash, since a comma occurs in names.
 */
import { formatTag, isPrivateTag, parseTag, type Tag } from '../data/tag.js';
import { tagForKeyword } from '../dictionary/index.js';
import { UNMATCHABLE_VRS, finishKeys, matchingOfValues } from './key-value.js';
import { levelOfKey, uniqueKeyTag } from './keys.js';
import { QueryError } from './query-error.js';
import {
  INFORMATION_MODELS, queryOptions, type AttributePath, type MatchingKey, type Query, type QueryLevel, type QueryOptions,
} from './query.js';
import { describeTag } from './record.js';

export interface QidoSearch {
  /** studies, series or instances. */
  readonly level: 'STUDY' | 'SERIES' | 'IMAGE';
  /** From the resource path: /studies/{StudyInstanceUID}/series... */
  readonly studyInstanceUID?: string;
  /** From the resource path: .../series/{SeriesInstanceUID}/instances */
  readonly seriesInstanceUID?: string;
  /** What the origin server performs; each defaults to true (this engine implements them all). */
  readonly supports?: { readonly fuzzyMatching?: boolean; readonly emptyValueMatching?: boolean; readonly multipleValueMatching?: boolean };
}

export type QidoParameterInput = URLSearchParams | string | Iterable<readonly [string, string]> | Readonly<Record<string, string | readonly string[]>>;

function parameterError(message: string, offending: readonly Tag[] = []): QueryError {
  return new QueryError('ERR_DICOM_QUERY_PARAMETER', message, { offendingElements: offending, httpStatus: 400 });
}

function entriesOf(input: QidoParameterInput): Array<[string, string]> {
  if (typeof input === 'string') return [...new URLSearchParams(input.startsWith('?') ? input.slice(1) : input)];
  if (input instanceof URLSearchParams) return [...input];
  if (Symbol.iterator in (input as object)) return [...(input as Iterable<readonly [string, string]>)].map(([k, v]) => [k, v]);
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(input as Record<string, string | readonly string[]>)) {
    for (const value of typeof v === 'string' ? [v] : v) out.push([k, value]);
  }
  return out;
}

/** An attribute of the ABNF: tag or keyword, dotted into sequences. */
export function parseAttributePath(text: string): AttributePath {
  const parts = text.split('.');
  const path: Tag[] = [];
  parts.forEach((part, i) => {
    const tag = /^[0-9A-Fa-f]{8}$/.test(part) ? parseTag(part) : tagForKeyword(part);
    if (tag === undefined) throw parameterError(`"${part}" is neither a tag (8 hex digits) nor a PS3.6 keyword`);
    if (i < parts.length - 1 && describeTag(tag).vr !== 'SQ' && !isPrivateTag(tag)) {
      throw parameterError(`"${part}" in "${text}" is not a sequence, so nothing can follow it`, [tag]);
    }
    path.push(tag);
  });
  return path;
}

function parseBoolean(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw parameterError(`${name}=${value}: the value must be true or false`);
}

function parseUint(name: string, value: string): number {
  if (!/^\d{1,15}$/.test(value.trim())) throw parameterError(`${name}=${value}: the value must be a non-negative integer`);
  return Number(value.trim());
}

/** A tree of keys from dotted paths, merged so that X.A=1&X.B=2 is one item with two keys. */
interface KeyNode { values?: string[]; children?: Map<Tag, KeyNode> }

export function parseQidoQuery(input: QidoParameterInput, search: QidoSearch): Query {
  const model = INFORMATION_MODELS.StudyRoot;
  const level = search.level;
  let fuzzy = false;
  let emptyValue = false;
  let multipleValue = false;
  let limit: number | undefined;
  let offset = 0;
  let includeAll = false;
  const includeFields: AttributePath[] = [];
  const root = new Map<Tag, KeyNode>();
  const unsupported: Tag[] = [];

  for (const [rawName, value] of entriesOf(input)) {
    if (rawName === '') continue;
    switch (rawName.toLowerCase()) {
      case 'fuzzymatching': fuzzy = parseBoolean(rawName, value); continue;
      case 'emptyvaluematching': emptyValue = parseBoolean(rawName, value); continue;
      case 'multiplevaluematching': multipleValue = parseBoolean(rawName, value); continue;
      case 'limit': limit = parseUint(rawName, value); continue;
      case 'offset': offset = parseUint(rawName, value); continue;
      case 'includefield':
        for (const item of value.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
          if (item.toLowerCase() === 'all') includeAll = true;
          else includeFields.push(parseAttributePath(item));
        }
        continue;
    }
    const path = parseAttributePath(rawName);
    let nodes = root;
    path.forEach((tag, i) => {
      let node = nodes.get(tag);
      if (!node) nodes.set(tag, (node = {}));
      if (i === path.length - 1) {
        if (node.values !== undefined || node.children) throw parameterError(`${rawName} is given more than once`, path);
        node.values = splitValues(tag, value);
      } else {
        if (node.values !== undefined) throw parameterError(`${rawName}: ${formatTag(tag)} is given both as a key and as a sequence`, path.slice(0, i + 1));
        nodes = node.children ??= new Map();
      }
    });
  }
  // PS3.18 §8.3.4.3: "if a parameter with the value of "all" is present, then other includefield parameters shall not be present".
  if (includeAll && includeFields.length) throw parameterError('includefield=all cannot be combined with other includefield values');

  // The resource path scopes the search to a study (and series).
  const scope: Array<[Tag, string | undefined]> = [[uniqueKeyTag('STUDY'), search.studyInstanceUID], [uniqueKeyTag('SERIES'), search.seriesInstanceUID]];
  for (const [tag, uid] of scope) {
    if (uid === undefined) continue;
    const given = root.get(tag);
    if (given && (given.children || (given.values ?? []).some((v) => v !== uid))) {
      throw parameterError(`${describeTag(tag).keyword} is given in the path and as a different query parameter`, [tag]);
    }
    root.set(tag, { values: [uid] });
  }

  const supports = search.supports ?? {};
  const unsupportedParameters: string[] = [];
  if (fuzzy && supports.fuzzyMatching === false) unsupportedParameters.push('fuzzymatching');
  if (emptyValue && supports.emptyValueMatching === false) unsupportedParameters.push('emptyvaluematching');
  if (multipleValue && supports.multipleValueMatching === false) unsupportedParameters.push('multiplevaluematching');
  const options = queryOptions({
    relational: true,
    fuzzySemanticMatching: fuzzy && supports.fuzzyMatching !== false,
    emptyValueMatching: emptyValue && supports.emptyValueMatching !== false,
    multipleValueMatching: multipleValue && supports.multipleValueMatching !== false,
  });

  const depth = model.levels.indexOf(level);
  const keys: MatchingKey[] = [];
  for (const [tag, node] of [...root].sort((a, b) => a[0] - b[0])) {
    const key = keyOfNode(tag, node, [], options, unsupported, levelOfKey(model, tag, level));
    if (!key) continue;
    if (model.levels.indexOf(key.level) > depth) throw belowLevelError(key, level);
    keys.push(key);
  }

  return Object.freeze({
    origin: 'QIDO-RS',
    model,
    level,
    keys: Object.freeze(finishKeys(keys, options, [])),
    options,
    characterSet: Object.freeze(['ISO_IR 192']),
    timezoneOffset: undefined,
    view: undefined,
    unsupportedKeys: Object.freeze(unsupported.sort((a, b) => a - b)),
    qido: Object.freeze({
      includeFields: includeAll ? 'all' : Object.freeze(includeFields),
      limit,
      offset,
      fuzzyMatchingRequested: fuzzy,
      studyInstanceUID: search.studyInstanceUID,
      seriesInstanceUID: search.seriesInstanceUID,
      unsupportedParameters: Object.freeze(unsupportedParameters),
    }),
  });
}

/** What a user can search instead of a key of a lower level: the summary attribute of the level, if there is one. */
const SUMMARY_ATTRIBUTE: Readonly<Record<string, { readonly level: QueryLevel; readonly keyword: string }>> = {
  // PS3.4 C.6.2.1.2 (Study Root, study level): Modalities in Study, SOP Classes in Study.
  Modality: { level: 'STUDY', keyword: 'ModalitiesInStudy' },
  SOPClassUID: { level: 'STUDY', keyword: 'SOPClassesInStudy' },
};
const RESOURCE_OF_LEVEL: Readonly<Record<string, string>> = { STUDY: '/studies', SERIES: '/series', IMAGE: '/instances' };

/**
 * PS3.18 §10.6.1.2.1 allows Series IE Attributes only in searches for series or instances and
 * Composite Instance IE Attributes only in searches for instances, and §8.3.4.1.1 requires the
 * Hierarchical Search Method (PS3.4 C.4.1.3.1.1), which has no keys below the query level. Ignoring
 * such a key would answer a filtered question with an unfiltered list, so the request is refused.
 */
function belowLevelError(key: MatchingKey, level: QueryLevel): QueryError {
  const summary = SUMMARY_ATTRIBUTE[key.keyword];
  const instead = summary?.level === level
    ? `use ${summary.keyword}=<value> to find ${RESOURCE_OF_LEVEL[level]!.slice(1)} holding it, or search ${RESOURCE_OF_LEVEL[key.level]}`
    : `search ${RESOURCE_OF_LEVEL[key.level]} instead`;
  return parameterError(
    `${key.keyword} is a ${key.level} level attribute and cannot be matched in a search for ${RESOURCE_OF_LEVEL[level]!.slice(1)} (PS3.18 §10.6.1.2.1); ${instead}`,
    [key.tag],
  );
}

function splitValues(tag: Tag, value: string): string[] {
  if (value === '') return [];
  const { vr } = describeTag(tag);
  return (vr === 'UI' ? value.split(/[,\\]/) : value.split('\\')).map((v) => v.trim());
}

function keyOfNode(tag: Tag, node: KeyNode, parentPath: readonly Tag[], options: QueryOptions, unsupported: Tag[], level: QueryLevel): MatchingKey | undefined {
  const path = [...parentPath, tag];
  const { keyword, vr } = describeTag(tag);
  if (isPrivateTag(tag) || keyword === '') {
    unsupported.push(tag);
    return undefined;
  }
  if (vr === 'SQ') {
    if (node.values?.length) throw parameterError(`${keyword} is a sequence; match on its items' attributes (${keyword}.Keyword=value)`, path);
    const item: MatchingKey[] = [];
    for (const [childTag, child] of [...(node.children ?? [])].sort((a, b) => a[0] - b[0])) {
      const key = keyOfNode(childTag, child, path, options, unsupported, level);
      if (key) item.push(key);
    }
    const finished = finishKeys(item, options, path);
    return { tag, keyword, vr, level, matching: finished.length ? { type: 'sequence', item: Object.freeze(finished) } : { type: 'universal' } };
  }
  if (node.children) throw parameterError(`${keyword} is not a sequence`, path);
  if (UNMATCHABLE_VRS.has(vr)) {
    if ((node.values ?? []).length) {
      unsupported.push(tag);
      return undefined;
    }
    return { tag, keyword, vr, level, matching: { type: 'universal' } };
  }
  try {
    return { tag, keyword, vr, level, matching: matchingOfValues(vr, node.values ?? [], options, path) };
  } catch (e) {
    if (e instanceof QueryError) throw new QueryError('ERR_DICOM_QUERY_PARAMETER', e.detail, { offendingElements: e.offendingElements, httpStatus: 400, cause: e });
    throw e;
  }
}
