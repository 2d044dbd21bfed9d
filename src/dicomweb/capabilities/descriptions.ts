/**
 * What each route does, as WADL "method" elements (PS3.18 Annex H, Table H-1): the transaction it
 * implements, its query parameters, the Accept values (header field or accept query parameter,
 * §8.3.3.1) it can answer, its request representations, and its responses. A route is told by its
 * pattern, so a new route with no description is found by the capabilities test rather than left
 * out silently. The lists come from the modules that implement them (frame media types, rendered
 * media types, transfer syntaxes, query keys).
 */
import { UNCOMPRESSED_TRANSFER_SYNTAXES, EXPLICIT_VR_LITTLE_ENDIAN } from '../../data/transfer-syntax.js';
import { keyDefinitions } from '../../query/keys.js';
import { INFORMATION_MODELS, type QueryLevel } from '../../query/query.js';
import { FRAME_MEDIA_TYPES } from '../frames.js';
import { RENDERED_MEDIA_TYPES } from '../rendered/parameters.js';
import { doc, element, type WadlElement } from './wadl.js';

/** The character sets served (PS3.18 §8.8: the Retrieve Capabilities response documents them). */
export const SUPPORTED_CHARSETS = ['UTF-8'] as const;

type Kind = 'search' | 'retrieve' | 'metadata' | 'rendered' | 'thumbnail' | 'frames' | 'bulkdata' | 'bulkdata-set' | 'pixeldata' | 'store' | 'wado-uri';

interface Transaction {
  readonly kind: Kind;
  readonly title: string;
  readonly reference: string;
  readonly level?: QueryLevel;
  /** More than one representation (a study's rendered images, a frame list): multipart. */
  readonly multipart?: boolean;
}

const LEVEL_WORD: Readonly<Record<string, string>> = { ':study': 'Study', ':series': 'Series', ':instance': 'Instance' };

/** The transaction a route implements, from its method and pattern (relative to the base). */
export function transactionOf(method: string, pattern: string, wadoUriPath?: string): Transaction | undefined {
  if (method === 'GET' && pattern === wadoUriPath) return { kind: 'wado-uri', title: 'Retrieve DICOM Instance and Retrieve Rendered Instance (URI Service)', reference: 'PS3.18 §9.4, §9.5' };
  const s = pattern.split('/').filter((x) => x !== '');
  const last = s[s.length - 1];
  const owner = [...s].reverse().find((x) => LEVEL_WORD[x] !== undefined);
  const level = owner ? LEVEL_WORD[owner]! : '';
  if (method === 'POST') {
    if (pattern === '/studies') return { kind: 'store', title: 'Store Instances', reference: 'PS3.18 §10.5' };
    if (pattern === '/studies/:study') return { kind: 'store', title: 'Store Study Instances', reference: 'PS3.18 §10.5' };
    return undefined;
  }
  if (method !== 'GET' || last === undefined) return undefined;
  const scope = s.filter((x) => LEVEL_WORD[x]).map((x) => LEVEL_WORD[x]!).join(' ');
  if (last === 'studies' || last === 'series' || last === 'instances') {
    const what = { studies: 'Studies', series: 'Series', instances: 'Instances' }[last];
    const searchLevel: QueryLevel = last === 'studies' ? 'STUDY' : last === 'series' ? 'SERIES' : 'IMAGE';
    return { kind: 'search', title: `Search for ${scope ? `${scope} ` : ''}${what}`, reference: 'PS3.18 §10.6', level: searchLevel };
  }
  const inFrames = s.includes(':frames');
  // An Instance is one representation: also single part (application/dicom, PS3.18 §10.4.4).
  if (LEVEL_WORD[last]) return { kind: 'retrieve', title: `Retrieve ${level}`, reference: 'PS3.18 §10.4', multipart: last !== ':instance' };
  if (last === ':frames') return { kind: 'frames', title: 'Retrieve Frames', reference: 'PS3.18 §10.4', multipart: true };
  if (last === '*' && s[s.length - 2] === 'bulkdata') return { kind: 'bulkdata', title: 'Retrieve Bulkdata', reference: 'PS3.18 §10.4' };
  if (last === 'bulkdata') return { kind: 'bulkdata-set', title: `Retrieve ${level} Bulkdata`, reference: 'PS3.18 §10.4', multipart: true };
  if (last === 'metadata') return { kind: 'metadata', title: `Retrieve ${level} Metadata`, reference: 'PS3.18 §10.4' };
  if (last === 'rendered') return { kind: 'rendered', title: inFrames ? 'Retrieve Rendered Frames' : `Retrieve Rendered ${level}`, reference: 'PS3.18 §10.4', multipart: inFrames || level !== 'Instance' };
  if (last === 'thumbnail') return { kind: 'thumbnail', title: inFrames ? 'Retrieve Frame Thumbnail' : `Retrieve ${level} Thumbnail`, reference: 'PS3.18 §10.4' };
  if (last === 'pixeldata') return { kind: 'pixeldata', title: inFrames ? 'Retrieve Frame Pixel Data' : `Retrieve ${level} Pixel Data`, reference: 'PS3.18 §10.4', multipart: true };
  return undefined;
}

function param(name: string, style: 'query' | 'header' | 'template', attributes: Record<string, string> = {}, options: readonly string[] = [], text?: string): WadlElement {
  return element('param', { name, style, ...attributes }, [...(text ? [doc(text)] : []), ...options.map((value) => element('option', { value }))]);
}

function representations(mediaTypes: readonly string[]): WadlElement[] {
  return mediaTypes.map((mediaType) => element('representation', { mediaType }));
}

const multipart = (type: string, transferSyntax?: string) => `multipart/related; type="${type}"${transferSyntax ? `; transfer-syntax=${transferSyntax}` : ''}`;
const DICOM_METADATA = ['application/dicom+json', multipart('application/dicom+xml')];
const COMPRESSED_FRAME_TYPES = [...new Set(Object.values(FRAME_MEDIA_TYPES))];

/** What a route answers with (the Accept values it can satisfy), by kind. */
function responseTypes(t: Transaction): string[] {
  switch (t.kind) {
    case 'search':
    case 'metadata':
      return DICOM_METADATA;
    case 'retrieve': {
      const parts = [multipart('application/dicom'), multipart('application/dicom', '*'), ...UNCOMPRESSED_TRANSFER_SYNTAXES.map((ts) => multipart('application/dicom', ts))];
      return t.multipart ? parts : [...parts, 'application/dicom', 'application/dicom; transfer-syntax=*'];
    }
    case 'rendered':
    case 'thumbnail':
      return t.multipart ? RENDERED_MEDIA_TYPES.map((m) => multipart(m)) : [...RENDERED_MEDIA_TYPES];
    case 'frames':
    case 'pixeldata':
      return [multipart('application/octet-stream', EXPLICIT_VR_LITTLE_ENDIAN), multipart('application/octet-stream', '*'), ...COMPRESSED_FRAME_TYPES.map((m) => multipart(m))];
    case 'bulkdata':
      return ['application/octet-stream', multipart('application/octet-stream')];
    case 'bulkdata-set':
      return [multipart('application/octet-stream'), multipart('application/octet-stream', '*')];
    case 'store':
      return ['application/dicom+json', 'application/dicom+xml'];
    case 'wado-uri':
      return ['application/dicom', ...RENDERED_MEDIA_TYPES];
  }
}

const ACCEPT_PARAMETER = param('accept', 'query', {}, [], 'Acceptable media types, when the Accept header field cannot be set (PS3.18 §8.3.3.1); each compatible with the Accept header field');
const CHARSET_PARAMETERS = [
  param('charset', 'query', {}, SUPPORTED_CHARSETS, 'Acceptable character sets (PS3.18 §8.3.3.2); others are ignored'),
  param('Accept-Charset', 'header', {}, SUPPORTED_CHARSETS, 'PS3.18 §8.8.4; the response is in UTF-8'),
];

/** The matching keys of a search level (the query engine's tables, PS3.4 C.6.2.1). */
function matchingKeys(level: QueryLevel): WadlElement[] {
  const model = INFORMATION_MODELS.StudyRoot;
  const levels = model.levels.slice(0, model.levels.indexOf(level) + 1);
  return levels.flatMap((l) => keyDefinitions(model, l)).map((k) => param(k.keyword, 'query', { type: 'xsd:string' }));
}

function queryParameters(t: Transaction): WadlElement[] {
  switch (t.kind) {
    case 'search':
      return [
        ...matchingKeys(t.level!),
        param('includefield', 'query', { repeating: 'true' }, [], 'attribute keywords or tags (comma-separated), or "all" (PS3.18 §8.3.4.3)'),
        param('fuzzymatching', 'query', { type: 'xsd:boolean', default: 'false' }),
        param('emptyvaluematching', 'query', { type: 'xsd:boolean', default: 'false' }),
        param('multiplevaluematching', 'query', { type: 'xsd:boolean', default: 'false' }),
        param('limit', 'query', { type: 'xsd:unsignedInt' }),
        param('offset', 'query', { type: 'xsd:unsignedInt', default: '0' }),
        ACCEPT_PARAMETER, ...CHARSET_PARAMETERS,
      ];
    case 'rendered':
    case 'thumbnail':
      return [
        ...(t.kind === 'rendered' ? [
          param('window', 'query', {}, [], 'center,width,function (linear, linear-exact, sigmoid) (PS3.18 §8.3.5.1.4)'),
          param('annotation', 'query', {}, ['patient', 'technique'], 'accepted; no annotation is burned in (a Warning says so) (PS3.18 §8.3.5.1.1)'),
        ] : []),
        param('quality', 'query', { type: 'xsd:unsignedInt' }, [], '1-100, for image/jpeg (PS3.18 §8.3.5.1.2)'),
        param('viewport', 'query', {}, [], t.kind === 'thumbnail' ? 'vw,vh (PS3.18 §8.3.5.1.3)' : 'vw,vh[,sx,sy,sw,sh] (PS3.18 §8.3.5.1.3)'),
        param('iccprofile', 'query', {}, ['no'], 'only "no": no ICC profile is embedded (PS3.18 §8.3.5.1.5)'),
        ACCEPT_PARAMETER,
      ];
    case 'wado-uri':
      return [
        param('requestType', 'query', { required: 'true', fixed: 'WADO' }),
        param('studyUID', 'query', { required: 'true' }),
        param('seriesUID', 'query', { required: 'true' }),
        param('objectUID', 'query', { required: 'true' }),
        param('contentType', 'query', {}, ['application/dicom', ...RENDERED_MEDIA_TYPES], 'without it, Accept decides; */* is image/jpeg (PS3.18 §9.3)'),
        param('transferSyntax', 'query', {}, UNCOMPRESSED_TRANSFER_SYNTAXES, 'application/dicom only (PS3.18 §9.4.1.2.3)'),
        param('charset', 'query', {}, SUPPORTED_CHARSETS),
        param('frameNumber', 'query', { type: 'xsd:positiveInteger', default: '1' }, [], 'rendered only (PS3.18 §9.5.1.2.1)'),
        param('rows', 'query', { type: 'xsd:positiveInteger' }, [], 'with columns: the viewport (PS3.18 §9.5.1.2.4)'),
        param('columns', 'query', { type: 'xsd:positiveInteger' }),
        param('region', 'query', {}, [], 'xmin,ymin,xmax,ymax normalized to the image (PS3.18 §9.5.1.2.5)'),
        param('windowCenter', 'query', { type: 'xsd:decimal' }, [], 'with windowWidth (PS3.18 §9.5.1.2.6)'),
        param('windowWidth', 'query', { type: 'xsd:decimal' }),
        param('imageQuality', 'query', { type: 'xsd:positiveInteger' }, [], '1-100 (PS3.18 §8.3.5.1.2)'),
        param('annotation', 'query', {}, ['patient', 'technique'], 'accepted; none is burned in (a Warning says so)'),
      ];
    case 'metadata':
      return [ACCEPT_PARAMETER, ...CHARSET_PARAMETERS];
    case 'store':
      return CHARSET_PARAMETERS;
    default:
      return [ACCEPT_PARAMETER];
  }
}

function statuses(t: Transaction): { success: string; failure: string } {
  switch (t.kind) {
    case 'search': return { success: '200', failure: '400 406 413' };
    case 'store': return { success: '200 202', failure: '400 406 409 415' };
    case 'bulkdata': return { success: '200 206', failure: '400 404 406 416' };
    case 'wado-uri': return { success: '200', failure: '400 404 406' };
    default: return { success: '200', failure: '400 404 406' };
  }
}

/** The WADL method element of one route, or undefined for a route this table does not know. */
export function describeMethod(method: string, pattern: string, wadoUriPath?: string): WadlElement | undefined {
  const get = method === 'HEAD' ? 'GET' : method;
  const t = transactionOf(get, pattern, wadoUriPath);
  if (!t) return undefined;
  const id = `${t.title.split(/[^A-Za-z]+/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')}${method === 'HEAD' ? 'Head' : ''}`;
  if (method === 'HEAD') {
    // As the GET of the same resource, without the payload (RFC 9110 §9.3.2).
    return element('method', { name: 'HEAD', id }, [doc(t.reference, `${t.title}: header fields only (RFC 9110 §9.3.2)`), element('response', { status: statuses(t).success })]);
  }
  const types = responseTypes(t);
  const request: WadlElement[] = [
    param('Accept', 'header', {}, types),
    ...(t.kind === 'bulkdata' ? [param('Range', 'header', {}, [], 'bytes=first-last[,first-last...] (RFC 9110 §14.2); several ranges give multipart/byteranges'), param('If-Range', 'header')] : []),
    ...queryParameters(t),
    ...(t.kind === 'store' ? representations([multipart('application/dicom'), multipart('application/dicom+json'), multipart('application/dicom+xml')]) : []),
  ];
  const { success, failure } = statuses(t);
  return element('method', { name: method, id }, [
    doc(t.reference, t.title),
    element('request', {}, request),
    element('response', { status: success }, representations(t.kind === 'bulkdata' ? [...types, 'multipart/byteranges'] : types)),
    ...(t.kind === 'search' ? [element('response', { status: '204' }, [doc('no match')])] : []),
    element('response', { status: failure }, representations(['application/json'])),
  ]);
}
