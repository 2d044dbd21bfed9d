/**
 * The character sets that replace ISO 2022 (PS3.3 Table C.12-5): ISO_IR 192 (UTF-8), GB18030 and
 * GBK. No escape sequences and no delimiter resets: 0x1B is an ordinary control character. In GBK
 * and GB18030 a trail byte may be 0x5C, which is why values are never split before decoding.
 */
import { Buffer } from 'node:buffer';
import { iconvDecode, iconvLite } from './code-element-codecs.js';
import type { StandaloneEncoding } from './defined-terms.js';
import { unencodable } from './iso2022-encoder.js';

export function decodeStandalone(bytes: Uint8Array, encoding: StandaloneEncoding): string {
  switch (encoding) {
    case 'utf-8':
      // Buffer rather than TextDecoder: it keeps a leading U+FEFF, as the bytes say.
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    case 'gb18030':
    case 'gbk':
      // iconv-lite agrees with CPython on all but 3 code points of GB18030 (the 2005 swap of
      // U+1E3F / U+E7C7), Node's TextDecoder on all but 21 (ADR 0003).
      return iconvDecode(encoding, bytes);
  }
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const QUESTION_MARK = 0x3f;

export function encodeStandalone(text: string, encoding: StandaloneEncoding, charset: string): Uint8Array {
  const lone = LONE_SURROGATE.exec(text);
  if (lone) throw unencodable(lone[0], lone[0].charCodeAt(0), lone.index, charset);
  if (encoding === 'utf-8') return Buffer.from(text, 'utf8');
  const iconv = iconvLite();
  const bytes = iconv.encode(text, encoding);
  if (encoding === 'gbk') {
    // iconv-lite writes '?' for what GBK lacks; no GBK trail byte is 0x3F, so counting finds it.
    let marks = 0;
    for (const b of bytes) if (b === QUESTION_MARK) marks++;
    let expected = 0;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === QUESTION_MARK) expected++;
    if (marks !== expected) {
      let index = 0;
      for (const ch of text) {
        if (ch !== '?' && iconv.encode(ch, 'gbk').includes(QUESTION_MARK)) throw unencodable(ch, ch.codePointAt(0)!, index, charset);
        index += ch.length;
      }
    }
  }
  return bytes;
}
