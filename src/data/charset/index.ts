/**
 * Specific Character Set (0008,0005): decoding and encoding of the values of SH, LO, UC, ST, LT,
 * UT and PN (PS3.3 C.12.1.1.2; PS3.5 §6.1).
 *
 *   defined-terms.ts       the Defined Terms, lenient lookup, resolution of a list of terms
 *   code-elements.ts       the code elements and their escape sequences
 *   code-element-codecs.ts bytes <-> text per code element
 *   iso2022-decoder.ts     escape sequences and delimiter resets when decoding
 *   iso2022-encoder.ts     choice of code elements and escape sequences when encoding
 *   standalone-codecs.ts   ISO_IR 192, GB18030, GBK
 */
import type { VR } from '../vr.js';
import { resolveTerms, type ResolvedCharacterSet } from './defined-terms.js';
import { delimitersFor } from './delimiters.js';
import { decodeIso2022 } from './iso2022-decoder.js';
import { encodeIso2022 } from './iso2022-encoder.js';
import { decodeStandalone, encodeStandalone } from './standalone-codecs.js';

export { DEFINED_TERMS, lookupTerm, type DefinedTerm, type StandaloneEncoding } from './defined-terms.js';
export { CODE_ELEMENTS, type CodeElement, type CodeElementId } from './code-elements.js';

const INSTANCES = new Map<string, SpecificCharacterSet>();

export class SpecificCharacterSet {
  static readonly DEFAULT = new SpecificCharacterSet([]);

  /** The values of (0008,0005) as given. */
  readonly terms: readonly string[];
  /** What had to be assumed about the terms: misspellings, unknown terms, ignored values. */
  readonly warnings: readonly string[];
  private readonly resolved: ResolvedCharacterSet;

  constructor(terms: readonly string[]) {
    this.terms = Object.freeze([...terms]);
    this.resolved = resolveTerms(terms);
    this.warnings = Object.freeze([...this.resolved.warnings]);
  }

  /** Instances are immutable, so one per distinct value of (0008,0005) is shared (files repeat the same few). */
  static from(terms: readonly string[]): SpecificCharacterSet {
    if (terms.length === 0) return SpecificCharacterSet.DEFAULT;
    const key = terms.join('\\');
    let cs = INSTANCES.get(key);
    if (!cs) {
      cs = new SpecificCharacterSet(terms);
      if (INSTANCES.size < 256) INSTANCES.set(key, cs);
    }
    return cs;
  }

  /**
   * True when only the default repertoire (ISO-IR 6) applies: no terms, an empty or unknown one,
   * 'ISO_IR 6' or 'ISO 2022 IR 6'. Bytes above 0x7F then read as ISO 8859-1, as most toolkits do.
   */
  get isDefault(): boolean {
    return this.resolved.isDefault;
  }

  /** True for ISO_IR 192: text is UTF-8. */
  get isUnicode(): boolean {
    return this.resolved.kind === 'utf-8';
  }

  /**
   * Text of the raw bytes of one element's value (all its values, with the backslashes, PN
   * separators and padding). Code elements return to their initial state at the delimiters of `vr`.
   */
  decode(bytes: Uint8Array, vr: VR): string {
    const r = this.resolved;
    if (r.kind !== 'iso2022') return decodeStandalone(bytes, r.kind);
    return decodeIso2022(bytes, r, delimitersFor(vr));
  }

  /**
   * Bytes of `text` (not padded): escape sequences where the text needs another code element, and
   * the initial code elements again before each delimiter and at the end (PS3.5 §6.1.2.5.3).
   * Throws DicomError ERR_DICOM_CHARSET for a character none of the declared sets can hold.
   */
  encode(text: string, vr: VR): Uint8Array {
    const r = this.resolved;
    if (r.kind !== 'iso2022') return encodeStandalone(text, r.kind, this.describe());
    return encodeIso2022(text, r, delimitersFor(vr), () => this.describe());
  }

  toString(): string {
    return this.describe();
  }

  private describe(): string {
    return this.terms.length === 0 ? '(none: default repertoire)' : this.terms.map((t) => `'${t}'`).join('\\');
  }
}
