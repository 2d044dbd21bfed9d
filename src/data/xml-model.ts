/**
 * The Native DICOM Model (PS3.19 A.1), both directions. It carries the same information as the
 * JSON model (PS3.18 Annex F) in another syntax, so it is built on it: a data set goes to the JSON
 * model (with IS/DS/SV/UV kept as their text) and then to XML; XML goes to the JSON model and then
 * to a data set. Bulk data options are those of the JSON model.
 *
 * The XML is written by hand and read with the small parser in xml-parser.ts (docs/adr/0004-xml.md).
 */
import { DicomError } from '../core/dicom-error.js';
import { lookupPrivateTag, lookupTag } from '../dictionary/index.js';
import type { DataSet } from './data-set.js';
import {
  toDicomJson, toDicomJsonAsync,
  type DicomJsonAsyncWriteOptions, type DicomJsonAttribute, type DicomJsonDataSet, type DicomJsonPersonName,
  type DicomJsonValue, type DicomJsonWriteOptions,
} from './json-model.js';
import { fromDicomJson, fromDicomJsonSync, type DicomJsonAsyncReadOptions, type DicomJsonReadOptions } from './json-model-read.js';
import { splitComponents } from './person-name.js';
import { isPrivateCreator, isPrivateTag, parseTag, privateCreatorTagOf, tagHex, type Tag } from './tag.js';
import { decodeXmlBytes, parseXml, textOf, type XmlElement } from './xml-parser.js';

/** PS3.19 A.1.6 */
export const NATIVE_DICOM_NAMESPACE = 'http://dicom.nema.org/PS3.19/models/NativeDICOM';

export interface NativeDicomXmlOptions {
  /** Spaces per nesting level; 0 (the default) writes no whitespace between elements. */
  indent?: number;
}

/** Data set to Native DICOM Model XML text. Throws if a value left in its file gets no bulk data URI. */
export function toNativeDicomXml(ds: DataSet, options: DicomJsonWriteOptions & NativeDicomXmlOptions = {}): string {
  return jsonToNativeDicomXml(toDicomJson(ds, { ...options, numberStrings: true }), options);
}

/** As toNativeDicomXml, and may read values left in their file to inline them (`inlineBulkData`). */
export async function toNativeDicomXmlAsync(ds: DataSet, options: DicomJsonAsyncWriteOptions & NativeDicomXmlOptions = {}): Promise<string> {
  return jsonToNativeDicomXml(await toDicomJsonAsync(ds, { ...options, numberStrings: true }), options);
}

/** Native DICOM Model XML (text or bytes) to a data set, fetching bulk data with `resolveBulkData`. */
export async function fromNativeDicomXml(xml: string | Uint8Array, options: DicomJsonAsyncReadOptions = {}): Promise<DataSet> {
  const json = nativeDicomXmlToJson(xml);
  try {
    return await fromDicomJson(json, options);
  } catch (e) {
    throw asXmlError(e);
  }
}

/** Native DICOM Model XML to a data set; BulkData references become BulkDataReference placeholders. */
export function fromNativeDicomXmlSync(xml: string | Uint8Array, options: DicomJsonReadOptions = {}): DataSet {
  const json = nativeDicomXmlToJson(xml);
  try {
    return fromDicomJsonSync(json, options);
  } catch (e) {
    throw asXmlError(e);
  }
}

/** A value the JSON model refused is an error in the XML the caller gave. */
function asXmlError(e: unknown): unknown {
  if (!(e instanceof DicomError) || e.code !== 'ERR_DICOM_JSON') return e;
  // The tag is given again, so the message is taken without it (DicomError.detail).
  return new DicomError('ERR_DICOM_XML', e.tag === undefined ? e.message : e.detail, { tag: e.tag, cause: e });
}

// ---- JSON model -> XML ----

/** The JSON model as Native DICOM Model XML. A BulkDataURI "urn:uuid:..." becomes a BulkData uuid. */
export function jsonToNativeDicomXml(json: DicomJsonDataSet, options: NativeDicomXmlOptions = {}): string {
  const w = new XmlWriter(options.indent ?? 0);
  w.open(`NativeDicomModel xmlns="${NATIVE_DICOM_NAMESPACE}" xml:space="preserve"`);
  w.dataSet(json);
  w.close('NativeDicomModel');
  // XML 1.0 cannot carry C0 controls (FF is allowed in LT, ST, UT) even as references; XML 1.1 can.
  return `<?xml version="${w.needsXml11 ? '1.1' : '1.0'}" encoding="UTF-8"?>\n${w.out.join('')}${w.indent ? '' : '\n'}`;
}

class XmlWriter {
  readonly out: string[] = [];
  needsXml11 = false;
  private depth = 0;

  constructor(readonly indent: number) {}

  private line(s: string): void {
    this.out.push(this.indent ? `${' '.repeat(this.depth * this.indent)}${s}\n` : s);
  }
  open(tagText: string): void {
    this.line(`<${tagText}>`);
    this.depth++;
  }
  close(name: string): void {
    this.depth--;
    this.line(`</${name}>`);
  }
  leaf(tagText: string, name: string, text: string): void {
    this.line(text === '' ? `<${tagText}/>` : `<${tagText}>${this.escape(text, false)}</${name}>`);
  }

  dataSet(json: DicomJsonDataSet): void {
    for (const key of Object.keys(json).sort()) this.attribute(key, json[key]!, json);
  }

  private attribute(key: string, attr: DicomJsonAttribute, json: DicomJsonDataSet): void {
    const t = parseTag(key);
    if (t === undefined) throw new DicomError('ERR_DICOM_XML', `attribute name "${key}" is not a tag`);
    let head = `DicomAttribute tag="${tagHex(t)}" vr="${this.escape(String(attr.vr), true)}"`;
    const creator = privateCreatorOf(t, json);
    const keyword = isPrivateTag(t) ? (creator !== undefined ? lookupPrivateTag(creator, t)?.keyword : undefined) : lookupTag(t)?.keyword;
    if (keyword) head += ` keyword="${this.escape(keyword, true)}"`;
    if (creator !== undefined) head += ` privateCreator="${this.escape(creator, true)}"`;

    const values = attr.vr === 'PN' ? (attr.Value ?? []).map(personNameGroups) : attr.Value ?? [];
    // One empty value is an empty attribute (PS3.19 A.1.5: no Value when zero length), as it reads back.
    const empty = values.length === 0 || (values.length === 1 && values[0] === null);
    if (attr.InlineBinary === undefined && attr.BulkDataURI === undefined && empty) {
      this.line(`<${head}/>`);
      return;
    }
    this.open(head);
    if (attr.InlineBinary !== undefined) {
      this.leaf('InlineBinary', 'InlineBinary', attr.InlineBinary);
    } else if (attr.BulkDataURI !== undefined) {
      const uuid = /^urn:uuid:(.+)$/i.exec(attr.BulkDataURI);
      this.line(uuid ? `<BulkData uuid="${this.escape(uuid[1]!, true)}"/>` : `<BulkData uri="${this.escape(attr.BulkDataURI, true)}"/>`);
    } else if (attr.vr === 'SQ') {
      values.forEach((item, i) => {
        if (!item || typeof item !== 'object') throw new DicomError('ERR_DICOM_XML', 'sequence item is not an object', { tag: t });
        const itemJson = item as DicomJsonDataSet;
        if (Object.keys(itemJson).length === 0) {
          this.line(`<Item number="${i + 1}"/>`);
          return;
        }
        this.open(`Item number="${i + 1}"`);
        this.dataSet(itemJson);
        this.close('Item');
      });
    } else if (attr.vr === 'PN') {
      values.forEach((v, i) => this.personName(v, i + 1));
    } else {
      values.forEach((v, i) => this.leaf(`Value number="${i + 1}"`, 'Value', v === null ? '' : String(v)));
    }
    this.close('DicomAttribute');
  }

  /** PS3.19 A.1.5, Table 10.2-1: each component group split into its five components. */
  private personName(v: DicomJsonValue, n: number): void {
    const pn = (v ?? {}) as DicomJsonPersonName;
    const groups = (['Alphabetic', 'Ideographic', 'Phonetic'] as const).filter((g) => pn[g] !== undefined);
    if (groups.length === 0) {
      this.line(`<PersonName number="${n}"/>`);
      return;
    }
    this.open(`PersonName number="${n}"`);
    for (const g of groups) {
      this.open(g);
      for (const [name, s] of components(pn[g]!)) this.leaf(name, name, s);
      this.close(g);
    }
    this.close('PersonName');
  }

  /**
   * Escapes markup characters, and writes as character references what a parser would otherwise
   * change: CR (line-end normalisation), tab and LF in attributes, C0 and C1 controls. Characters
   * no XML can carry (NUL, U+FFFE, U+FFFF, unpaired surrogates) become U+FFFD.
   */
  escape(s: string, attribute: boolean): string {
    // eslint-disable-next-line no-control-regex
    return s.replace(/[&<>"\x00-\x08\x09\x0A\x0B\x0C\x0D\x0E-\x1F\x7F-\x9F\u2028\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, (c) => {
      switch (c) {
        case '&': return '&amp;';
        case '<': return '&lt;';
        case '>': return '&gt;';
        case '"': return attribute ? '&quot;' : c;
        case '\t': case '\n': return attribute ? `&#x${c.charCodeAt(0).toString(16).toUpperCase()};` : c;
        case '\r': return '&#xD;';
      }
      const code = c.charCodeAt(0);
      if (code === 0 || code === 0xfffe || code === 0xffff || (code >= 0xd800 && code <= 0xdfff)) return '\uFFFD';
      if (code < 0x20) this.needsXml11 = true;
      return `&#x${code.toString(16).toUpperCase()};`;
    });
  }
}

/** The components of a component group that are not blank, named as in PS3.19 Table 10.2-1. */
function components(group: string): Array<[string, string]> {
  const c = splitComponents(group);
  const all: Array<[string, string]> = [
    ['FamilyName', c.familyName], ['GivenName', c.givenName], ['MiddleName', c.middleName], ['NamePrefix', c.namePrefix], ['NameSuffix', c.nameSuffix],
  ];
  // Trailing spaces of a component are lost on the way back (the delimiters after it are not
  // written, so they become padding of the value); they are dropped here so a round trip is stable.
  return all.map(([n, s]): [string, string] => [n, s.replace(/ +$/, '')]).filter(([, s]) => s.trim() !== '');
}

/**
 * A PN value with only the groups that have a component: a group of bare "^" has nothing XML can
 * carry. A value with no group left is an empty value (null).
 */
function personNameGroups(v: DicomJsonValue): DicomJsonValue {
  let pn = v;
  if (typeof pn === 'string') {
    const [a = '', i = '', p = ''] = pn.split('=');
    pn = { Alphabetic: a, Ideographic: i, Phonetic: p };
  }
  if (pn === null || typeof pn !== 'object') return null;
  const out: DicomJsonPersonName = {};
  for (const g of ['Alphabetic', 'Ideographic', 'Phonetic'] as const) {
    const text = (pn as DicomJsonPersonName)[g];
    if (typeof text === 'string' && components(text).length > 0) out[g] = text;
  }
  return Object.keys(out).length === 0 ? null : out;
}

/** The Private Creator of a private data element, from the same data set (PS3.5 §7.8.1). */
function privateCreatorOf(t: Tag, json: DicomJsonDataSet): string | undefined {
  if (isPrivateCreator(t)) return undefined;
  const creatorTag = privateCreatorTagOf(t);
  if (creatorTag === undefined) return undefined;
  const value = json[tagHex(creatorTag)]?.Value?.[0];
  return typeof value === 'string' ? value : undefined;
}

// ---- XML -> JSON model ----

/** VRs whose Value text is a number or tag, where surrounding whitespace means nothing. */
const TRIMMED_VRS = new Set(['AT', 'DS', 'IS', 'US', 'SS', 'UL', 'SL', 'FL', 'FD', 'SV', 'UV']);

/** Native DICOM Model XML (text or bytes) to the JSON model. */
export function nativeDicomXmlToJson(xml: string | Uint8Array): DicomJsonDataSet {
  const root = parseXml(typeof xml === 'string' ? xml : decodeXmlBytes(xml));
  if (root.name !== 'NativeDicomModel') throw new DicomError('ERR_DICOM_XML', `root element is ${root.name}, not NativeDicomModel (PS3.19 A.1.6)`);
  return xmlDataSet(root);
}

function xmlDataSet(parent: XmlElement): DicomJsonDataSet {
  const out: DicomJsonDataSet = {};
  for (const child of elementChildren(parent)) {
    if (child.name !== 'DicomAttribute') throw new DicomError('ERR_DICOM_XML', `unexpected element ${child.name} in ${parent.name}`);
    const tagText = child.attributes.get('tag') ?? '';
    const t = /^[0-9A-Fa-f]{8}$/.test(tagText) ? parseTag(tagText) : undefined;
    if (t === undefined) throw new DicomError('ERR_DICOM_XML', `DicomAttribute tag "${tagText}" is not 8 hex digits (PS3.19 A.1.6)`);
    const key = tagHex(t);
    if (out[key]) throw new DicomError('ERR_DICOM_XML', 'DicomAttribute repeated', { tag: t });
    out[key] = xmlAttribute(child, t);
  }
  return out;
}

function xmlAttribute(element: XmlElement, t: Tag): DicomJsonAttribute {
  const vr = element.attributes.get('vr');
  // The JSON reader checks the VR (and takes the dictionary's when there is none).
  const attr = (vr === undefined ? {} : { vr }) as DicomJsonAttribute;
  const children = elementChildren(element);
  if (children.length === 0) return attr;
  const kinds = new Set(children.map((c) => c.name));
  if (kinds.size > 1) throw new DicomError('ERR_DICOM_XML', `DicomAttribute mixes ${[...kinds].join(' and ')} (PS3.19 A.1.6 allows one kind)`, { tag: t });
  const kind = children[0]!.name;
  switch (kind) {
    case 'InlineBinary':
      if (children.length > 1) throw new DicomError('ERR_DICOM_XML', 'more than one InlineBinary', { tag: t });
      attr.InlineBinary = textOf(children[0]!).replace(/\s+/g, '');
      return attr;
    case 'BulkData': {
      if (children.length > 1) throw new DicomError('ERR_DICOM_XML', 'more than one BulkData', { tag: t });
      const uri = children[0]!.attributes.get('uri');
      const uuid = children[0]!.attributes.get('uuid');
      if (uri === undefined && uuid === undefined) throw new DicomError('ERR_DICOM_XML', 'BulkData has neither uri nor uuid', { tag: t });
      attr.BulkDataURI = uri ?? `urn:uuid:${uuid}`;
      return attr;
    }
    case 'Item':
      attr.Value = ordered(children, t).map((item) => xmlDataSet(item));
      return attr;
    case 'PersonName':
      attr.Value = ordered(children, t).map(xmlPersonName);
      return attr;
    case 'Value': {
      const trim = vr !== undefined && TRIMMED_VRS.has(vr);
      attr.Value = ordered(children, t).map((v) => {
        const text = textOf(v);
        const value = trim ? text.trim() : text;
        return value === '' ? null : value;
      });
      return attr;
    }
  }
  throw new DicomError('ERR_DICOM_XML', `unexpected element ${kind} in DicomAttribute`, { tag: t });
}

function xmlPersonName(element: XmlElement): DicomJsonPersonName | null {
  const out: DicomJsonPersonName = {};
  for (const group of elementChildren(element)) {
    // "SingleByte" is the name of the Alphabetic group in editions before 2013.
    const name = group.name === 'SingleByte' ? 'Alphabetic' : group.name;
    if (name !== 'Alphabetic' && name !== 'Ideographic' && name !== 'Phonetic') {
      throw new DicomError('ERR_DICOM_XML', `unexpected element ${group.name} in PersonName`);
    }
    const c: Record<string, string> = {};
    for (const part of elementChildren(group)) c[part.name] = textOf(part);
    const parts = [c['FamilyName'] ?? '', c['GivenName'] ?? '', c['MiddleName'] ?? '', c['NamePrefix'] ?? '', c['NameSuffix'] ?? ''];
    while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    out[name] = parts.join('^');
  }
  return Object.keys(out).length === 0 ? null : out;
}

/** Children in the order of their `number` (PS3.19 A.1.5: it keeps the original order). */
function ordered(children: XmlElement[], t: Tag): XmlElement[] {
  const numbered = children.map((c, i) => {
    const n = c.attributes.get('number');
    const number = n === undefined ? i + 1 : Number(n);
    if (!Number.isInteger(number) || number < 1) throw new DicomError('ERR_DICOM_XML', `${c.name} number "${n}" is not a positive integer`, { tag: t });
    return { c, number };
  });
  numbered.sort((a, b) => a.number - b.number);
  numbered.forEach(({ c, number }, i) => {
    if (number !== i + 1) throw new DicomError('ERR_DICOM_XML', `${c.name} numbers are not 1, 2, 3, ... (PS3.19 A.1.5)`, { tag: t });
  });
  return numbered.map(({ c }) => c);
}

/** Element children; text between them must be whitespace. */
function elementChildren(parent: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of parent.children) {
    if (typeof c === 'string') {
      if (c.trim() !== '') throw new DicomError('ERR_DICOM_XML', `text "${c.trim().slice(0, 40)}" in ${parent.name}`);
    } else out.push(c);
  }
  return out;
}
