/**
 * A small XML 1.0/1.1 parser for the subset the Native DICOM Model uses (PS3.19 A.1): elements,
 * attributes, character data, CDATA sections, the predefined entities and character references;
 * comments, processing instructions and a DOCTYPE without an internal subset are skipped. A DTD
 * with declarations is refused, so no entity is ever expanded (see docs/adr/0004-xml.md).
 */
import { DicomError } from '../core/dicom-error.js';

export interface XmlElement {
  /** Local name: a namespace prefix is dropped (NativeDicomModel has one namespace). */
  name: string;
  attributes: Map<string, string>;
  children: Array<XmlElement | string>;
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const NAME = /[^\s/>=<"'&]+/y;
const SPACE = /[ \t\n]*/y;

/** Text (decoded) to an element tree; throws ERR_DICOM_XML with the offset of the problem. */
export function parseXml(input: string): XmlElement {
  // XML 1.0 §2.11: line ends are normalised before parsing.
  const text = input.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  let pos = 0;
  const fail = (message: string, at = pos): never => {
    throw new DicomError('ERR_DICOM_XML', message, { offset: at });
  };
  const skipSpace = (): void => {
    SPACE.lastIndex = pos;
    SPACE.exec(text);
    pos = SPACE.lastIndex;
  };
  const readName = (): string => {
    NAME.lastIndex = pos;
    const m = NAME.exec(text);
    if (!m) return fail('expected a name');
    pos = NAME.lastIndex;
    return m[0];
  };
  const decode = (raw: string, at: number): string =>
    raw.includes('&')
      ? raw.replace(/&([^;&\s]*);?/g, (whole, ref: string, offset: number) => {
        if (!whole.endsWith(';')) return fail('"&" not starting a reference', at + offset);
        if (ref.startsWith('#')) {
          const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : /^#\d+$/.test(ref) ? parseInt(ref.slice(1), 10) : NaN;
          if (!Number.isInteger(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
            return fail(`bad character reference &${ref};`, at + offset);
          }
          return String.fromCodePoint(code);
        }
        return PREDEFINED[ref] ?? fail(`unknown entity &${ref}; (only the predefined ones are supported)`, at + offset);
      })
      : raw;
  const skipMisc = (): void => {
    for (;;) {
      skipSpace();
      if (text.startsWith('<?', pos)) {
        const end = text.indexOf('?>', pos);
        if (end < 0) fail('unterminated processing instruction');
        pos = end + 2;
      } else if (text.startsWith('<!--', pos)) {
        const end = text.indexOf('-->', pos + 4);
        if (end < 0) fail('unterminated comment');
        pos = end + 3;
      } else if (text.startsWith('<!DOCTYPE', pos)) {
        const end = text.indexOf('>', pos);
        if (end < 0) fail('unterminated DOCTYPE');
        if (text.slice(pos, end).includes('[')) fail('a DOCTYPE with an internal subset is not supported');
        pos = end + 1;
      } else return;
    }
  };

  const localName = (qualified: string): string => qualified.slice(qualified.indexOf(':') + 1);

  const openTag = (): { element: XmlElement; empty: boolean; qualified: string } => {
    pos++; // '<'
    const qualified = readName();
    const element: XmlElement = { name: localName(qualified), attributes: new Map(), children: [] };
    for (;;) {
      const before = pos;
      skipSpace();
      if (text.startsWith('/>', pos)) {
        pos += 2;
        return { element, empty: true, qualified };
      }
      if (text[pos] === '>') {
        pos += 1;
        return { element, empty: false, qualified };
      }
      if (pos === before) fail('expected whitespace, ">" or "/>" in a start tag');
      const name = readName();
      skipSpace();
      if (text[pos] !== '=') fail(`attribute ${name} has no value`);
      pos++;
      skipSpace();
      const quote = text[pos];
      if (quote !== '"' && quote !== "'") fail(`value of attribute ${name} is not quoted`);
      const end = text.indexOf(quote!, pos + 1);
      if (end < 0) fail(`unterminated value of attribute ${name}`);
      const raw = text.slice(pos + 1, end);
      if (raw.includes('<')) fail(`"<" in the value of attribute ${name}`, pos);
      if (element.attributes.has(name)) fail(`attribute ${name} repeated`);
      // XML 1.0 §3.3.3: whitespace characters in attribute values become spaces.
      element.attributes.set(name, decode(raw.replace(/[\t\n]/g, ' '), pos + 1));
      pos = end + 1;
    }
  };

  skipMisc();
  if (text[pos] !== '<') fail('no root element');
  const rootTag = openTag();
  const root = rootTag.element;
  const stack: Array<{ element: XmlElement; qualified: string }> = [];
  if (!rootTag.empty) stack.push({ element: root, qualified: rootTag.qualified });

  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const lt = text.indexOf('<', pos);
    if (lt < 0) fail(`element ${top.qualified} is not closed`, text.length);
    if (lt > pos) {
      const raw = text.slice(pos, lt);
      if (raw.includes(']]>')) fail('"]]>" in character data', pos + raw.indexOf(']]>'));
      appendText(top.element, decode(raw, pos));
      pos = lt;
    }
    if (text.startsWith('</', pos)) {
      pos += 2;
      const name = readName();
      skipSpace();
      if (text[pos] !== '>') fail('expected ">" ending an end tag');
      if (name !== top.qualified) fail(`end tag </${name}> does not match <${top.qualified}>`);
      pos++;
      stack.pop();
    } else if (text.startsWith('<![CDATA[', pos)) {
      const end = text.indexOf(']]>', pos + 9);
      if (end < 0) fail('unterminated CDATA section');
      appendText(top.element, text.slice(pos + 9, end));
      pos = end + 3;
    } else if (text.startsWith('<!--', pos)) {
      const end = text.indexOf('-->', pos + 4);
      if (end < 0) fail('unterminated comment');
      pos = end + 3;
    } else if (text.startsWith('<?', pos)) {
      const end = text.indexOf('?>', pos);
      if (end < 0) fail('unterminated processing instruction');
      pos = end + 2;
    } else if (text.startsWith('<!', pos)) {
      fail('markup declaration inside an element');
    } else {
      const child = openTag();
      top.element.children.push(child.element);
      if (!child.empty) stack.push({ element: child.element, qualified: child.qualified });
    }
  }
  skipMisc();
  if (pos < text.length) fail('content after the root element');
  return root;
}

function appendText(element: XmlElement, s: string): void {
  if (s === '') return;
  const last = element.children.length - 1;
  if (last >= 0 && typeof element.children[last] === 'string') element.children[last] += s;
  else element.children.push(s);
}

/** The text content of an element (its character data, children's ignored). */
export function textOf(element: XmlElement): string {
  let s = '';
  for (const c of element.children) if (typeof c === 'string') s += c;
  return s;
}

/** Decodes XML bytes: a byte order mark, else the encoding in the declaration, else UTF-8 (XML 1.0 §4.3.3, Annex F). */
export function decodeXmlBytes(bytes: Uint8Array): string {
  let label = 'utf-8';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) label = 'utf-16be';
  else if (bytes[0] === 0xff && bytes[1] === 0xfe) label = 'utf-16le';
  else {
    const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 200)).toString('latin1');
    const m = /^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head);
    if (m) label = m[1]!.toLowerCase();
  }
  try {
    return new TextDecoder(label, { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new DicomError('ERR_DICOM_XML', `cannot decode the XML as ${label}`, { cause });
  }
}
