/**
 * The Defined Terms of Specific Character Set (0008,0005) and how a list of them resolves to an
 * initial state and a set of code elements. PS3.3 C.12.1.1.2, Tables C.12-2 to C.12-5.
 */
import { CODE_ELEMENTS, type CodeElement, type CodeElementId } from './code-elements.js';

/** Character sets that replace ISO 2022 altogether (PS3.3 Table C.12-5; PS3.5 §6.1.2.5.4 d). */
export type StandaloneEncoding = 'utf-8' | 'gb18030' | 'gbk';

export interface DefinedTerm {
  /** The term as the standard spells it ('' is the default repertoire, an absent Value 1). */
  readonly term: string;
  /** Code extensions (ISO 2022 escape sequences) allowed: the "ISO 2022 ..." terms. */
  readonly extensions: boolean;
  readonly g0?: CodeElementId;
  readonly g1?: CodeElementId;
  readonly standalone?: StandaloneEncoding;
}

function singleByte(ir: number, g1: CodeElementId): DefinedTerm[] {
  return [
    { term: `ISO_IR ${ir}`, extensions: false, g0: 'ISO-IR 6', g1 },
    { term: `ISO 2022 IR ${ir}`, extensions: true, g0: 'ISO-IR 6', g1 },
  ];
}

export const DEFINED_TERMS: readonly DefinedTerm[] = Object.freeze([
  // Table C.12-2 and C.12-3: single-byte, without and with code extensions.
  { term: '', extensions: false, g0: 'ISO-IR 6' },
  { term: 'ISO 2022 IR 6', extensions: true, g0: 'ISO-IR 6' },
  ...singleByte(100, 'ISO-IR 100'),
  ...singleByte(101, 'ISO-IR 101'),
  ...singleByte(109, 'ISO-IR 109'),
  ...singleByte(110, 'ISO-IR 110'),
  ...singleByte(144, 'ISO-IR 144'),
  ...singleByte(127, 'ISO-IR 127'),
  ...singleByte(126, 'ISO-IR 126'),
  ...singleByte(138, 'ISO-IR 138'),
  ...singleByte(148, 'ISO-IR 148'),
  ...singleByte(203, 'ISO-IR 203'),
  { term: 'ISO_IR 13', extensions: false, g0: 'ISO-IR 14', g1: 'ISO-IR 13' },
  { term: 'ISO 2022 IR 13', extensions: true, g0: 'ISO-IR 14', g1: 'ISO-IR 13' },
  ...singleByte(166, 'ISO-IR 166'),
  // Table C.12-4: multi-byte with code extensions.
  { term: 'ISO 2022 IR 87', extensions: true, g0: 'ISO-IR 87' },
  { term: 'ISO 2022 IR 159', extensions: true, g0: 'ISO-IR 159' },
  { term: 'ISO 2022 IR 149', extensions: true, g1: 'ISO-IR 149' },
  { term: 'ISO 2022 IR 58', extensions: true, g1: 'ISO-IR 58' },
  // Table C.12-5: multi-byte without code extensions.
  { term: 'ISO_IR 192', extensions: false, standalone: 'utf-8' },
  { term: 'GB18030', extensions: false, standalone: 'gb18030' },
  { term: 'GBK', extensions: false, standalone: 'gbk' },
] satisfies DefinedTerm[]);

const BY_TERM: ReadonlyMap<string, DefinedTerm> = new Map(DEFINED_TERMS.map((t) => [t.term, t]));

/** Spellings seen in the wild for terms that have no regular pattern. */
const ALIASES: Readonly<Record<string, string>> = {
  'ISO_IR 6': '',
  'ISO 646': '',
  'ASCII': '',
  'UTF-8': 'ISO_IR 192',
  'UTF8': 'ISO_IR 192',
  'GB 18030': 'GB18030',
  'GB-18030': 'GB18030',
  'ISO 2022 GBK': 'GBK',
  'GB2312': 'ISO 2022 IR 58',
  'GB 2312': 'ISO 2022 IR 58',
};

export interface TermLookup {
  /** The Defined Term, or undefined when the value could not be recognised. */
  readonly term: DefinedTerm | undefined;
  /** Set when the value had to be respelled or was not recognised. */
  readonly warning?: string;
}

/**
 * Finds the Defined Term for one value of (0008,0005), leniently: padding and case are ignored,
 * as are the separators between ISO, 2022, IR and the number ('ISO-IR 100', 'ISO IR 192',
 * 'ISO_IR100'); a term of the other family is taken when only that exists ('ISO_IR 149' is
 * 'ISO 2022 IR 149'; 'ISO 2022 IR 192' is 'ISO_IR 192').
 */
export function lookupTerm(value: string): TermLookup {
  const trimmed = value.replace(/^[\s\0]+|[\s\0]+$/g, '');
  const exact = BY_TERM.get(trimmed);
  if (exact) return { term: exact };
  const upper = trimmed.toUpperCase().replace(/\s+/g, ' ');
  let candidates: string[];
  let m: RegExpMatchArray | null;
  if ((m = /^ISO[ _-]?2022[ _-]?IR[ _-]?0*(\d+)$/.exec(upper))) {
    candidates = [`ISO 2022 IR ${m[1]}`, `ISO_IR ${m[1]}`];
  } else if ((m = /^(?:ISO[ _-]?)?IR[ _-]?0*(\d+)$/.exec(upper))) {
    candidates = [`ISO_IR ${m[1]}`, `ISO 2022 IR ${m[1]}`];
  } else {
    candidates = [upper];
  }
  for (const c of candidates) {
    const name = ALIASES[c] ?? c;
    const term = BY_TERM.get(name);
    if (term) {
      const shown = term.term === '' ? "'' (default repertoire)" : `'${term.term}'`;
      return { term, warning: `Specific Character Set value '${value}' is not a Defined Term; assuming ${shown}` };
    }
  }
  return { term: undefined, warning: `unknown Specific Character Set value '${value}'; using the default repertoire (ISO-IR 6) instead` };
}

export type ResolvedCharacterSet =
  | {
      readonly kind: 'iso2022';
      /** Code elements active at the start of a value and after each delimiter (PS3.5 §6.1.2.5.3). */
      readonly initialG0: CodeElement;
      readonly initialG1: CodeElement | null;
      /** Code elements the encoder may designate, in the order of the values of (0008,0005). */
      readonly elements: readonly CodeElement[];
      /** True when only the default repertoire is in use (no G1, nothing else to designate). */
      readonly isDefault: boolean;
      readonly warnings: readonly string[];
    }
  | {
      readonly kind: StandaloneEncoding;
      readonly isDefault: false;
      readonly warnings: readonly string[];
    };

/** Resolves the values of (0008,0005) (raw, as read) to the character set in force. */
export function resolveTerms(values: readonly string[]): ResolvedCharacterSet {
  const warnings: string[] = [];
  const terms: DefinedTerm[] = [];
  values.forEach((value, index) => {
    if (index > 0 && value.trim() === '') return; // an empty later value adds nothing
    const { term, warning } = lookupTerm(value);
    if (warning) warnings.push(warning);
    if (term) terms.push(term);
    else if (index === 0) terms.push(BY_TERM.get('')!);
  });
  if (terms.length === 0) terms.push(BY_TERM.get('')!);

  const first = terms[0]!;
  if (first.standalone) {
    if (terms.length > 1) {
      warnings.push(`'${first.term}' does not allow code extensions; ignoring ${terms.slice(1).map((t) => `'${t.term}'`).join(', ')}`);
    }
    return { kind: first.standalone, isDefault: false, warnings };
  }

  const usable: DefinedTerm[] = [first];
  if (terms.length > 1 && !first.extensions && first.term !== '') {
    warnings.push(`'${first.term}' does not allow code extensions; treating it as 'ISO 2022 ${first.term.slice(4)}'`);
  }
  for (const t of terms.slice(1)) {
    if (t.standalone) {
      warnings.push(`'${t.term}' cannot be used with code extensions; ignoring it`);
      continue;
    }
    if (!t.extensions && t.term !== '') {
      warnings.push(`'${t.term}' does not allow code extensions; treating it as 'ISO 2022 ${t.term.slice(4)}'`);
    }
    usable.push(t);
  }

  // PS3.3 C.12.1.1.2: an empty Value 1 with further values means ISO 2022 IR 6. A multi-byte G0
  // set as Value 1 ('ISO 2022 IR 87' alone) cannot be active where delimiters must be read: values
  // start in ISO-IR 6 and designate it when needed.
  let initialG0 = CODE_ELEMENTS['ISO-IR 6'];
  if (first.g0 && CODE_ELEMENTS[first.g0].bytesPerChar === 1) initialG0 = CODE_ELEMENTS[first.g0];
  const initialG1 = first.g1 ? CODE_ELEMENTS[first.g1] : null;

  const elements: CodeElement[] = [];
  const add = (el: CodeElement): void => {
    if (!elements.includes(el)) elements.push(el);
  };
  add(initialG0);
  if (initialG1) add(initialG1);
  for (const t of usable) {
    if (t.g0) add(CODE_ELEMENTS[t.g0]);
    if (t.g1) add(CODE_ELEMENTS[t.g1]);
  }
  const isDefault = initialG0.id === 'ISO-IR 6' && initialG1 === null && elements.length === 1;
  return { kind: 'iso2022', initialG0, initialG1, elements, isDefault, warnings };
}
