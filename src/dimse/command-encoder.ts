/**
 * A typed message's command set written straight into one buffer of its exact size (PS3.7 §6.3.1,
 * Annex E): group 0000 elements in Implicit VR Little Endian, ascending by tag, Command Group
 * Length first. The same bytes as encoding the message's DataSet (command.ts commandSetOf +
 * encodeCommandSet), without the DataSet, its value encoders and the data set writer's 64 KiB
 * working buffer: a command set is sent with every DIMSE message (one per C-FIND match, two per
 * C-STORE sub-operation), so this is on the per-message path.
 *
 * Element layout (PS3.5 §7.1.3, Implicit VR): tag group (2), tag element (2), value length (4),
 * value; a value of odd length is padded with NUL (UI) or a space (AE, LO) (PS3.5 §6.2, §9.1).
 */
import { DicomError } from '../core/dicom-error.js';
import type { VR } from '../data/vr.js';
import { COMMAND_FIELDS, CommandTag, DATA_SET_PRESENT, NO_DATA_SET, type CommandFieldName } from './command-elements.js';
import { MESSAGE_SPECS, type DimseMessage, type MessageSpec } from './messages.js';

type FieldValue = string | number | number[];

/** One element to write: its tag, and its value as US (number), text (string) or AT (tags). */
interface Field {
  tag: number;
  vr: VR;
  value: FieldValue;
  /** The value's length on the wire, padding included. */
  length: number;
}

/** Element header in Implicit VR: tag (4) + value length (4). */
const HEADER = 8;

/** The value a field is written with, checked against its VR (an error names the message and field). */
export function checkedValue(type: string, name: string, vr: VR, value: FieldValue): FieldValue {
  const bad = (why: string): never => {
    throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${type} ${name}: ${why}`);
  };
  switch (vr) {
    case 'US':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff) bad(`${String(value)} is not a 16-bit unsigned integer`);
      return value;
    case 'AT':
      if (!Array.isArray(value) || value.some((t) => !Number.isInteger(t) || t < 0 || t > 0xffffffff)) bad('expected an array of tags');
      return value;
    case 'UI':
      // PS3.5 §9.1: digits and dots, at most 64 characters.
      if (typeof value !== 'string' || !/^[0-9.]{1,64}$/.test(value)) bad(`"${String(value)}" is not a UID`);
      return value;
    case 'AE': {
      // PS3.5 Table 6.2-1: at most 16 characters of the default repertoire, no backslash or control characters.
      const trimmed = typeof value === 'string' ? value.trim() : '';
      if (typeof value !== 'string' || trimmed.length === 0 || trimmed.length > 16 || !/^[\x20-\x5b\x5d-\x7e]*$/.test(trimmed)) bad(`"${String(value)}" is not an AE title`);
      return trimmed;
    }
    case 'LO':
      if (typeof value !== 'string') bad('expected text');
      return defaultRepertoireText(value as string, 64);
    default:
      return value;
  }
}

/**
 * Error Comment is LO with no Specific Character Set in a command set: keep it to 64 characters
 * of the default repertoire (PS3.5 Table 6.2-1), since it often carries an exception's message.
 */
function defaultRepertoireText(text: string, max: number): string {
  return text.replace(/\\/g, '/').replace(/[^\x20-\x7e]/g, '?').trim().slice(0, max);
}

export function defaultDataSetType(spec: MessageSpec): number {
  return spec.dataSet === 'always' ? DATA_SET_PRESENT : NO_DATA_SET;
}

function field(tag: number, vr: VR, value: FieldValue): Field {
  // Text here is ASCII only (checkedValue keeps it so): one byte per character.
  const raw = typeof value === 'number' ? 2 : typeof value === 'string' ? value.length : value.length * 4;
  return { tag, vr, value, length: raw + (raw & 1) };
}

/** The fields of a message, ascending by tag, checked (the Command Field and Command Data Set Type included). */
function fieldsOf(message: DimseMessage): Field[] {
  const spec = MESSAGE_SPECS[message.type];
  const values = message as unknown as Partial<Record<CommandFieldName, FieldValue>>;
  for (const name of spec.required) {
    if (values[name] === undefined) {
      throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${message.type} needs ${name}`, { tag: COMMAND_FIELDS[name].tag });
    }
  }
  const out: Field[] = [field(CommandTag.CommandField, 'US', spec.commandField)];
  const add = (name: CommandFieldName) => {
    const value = values[name];
    if (value === undefined) return;
    const { tag, vr } = COMMAND_FIELDS[name];
    const f = field(tag, vr, checkedValue(message.type, name, vr, value));
    // A name listed twice is one element, its last value (as DataSet.set would leave it).
    const i = out.findIndex((x) => x.tag === tag);
    if (i >= 0) out[i] = f;
    else out.push(f);
  };
  for (const name of spec.required) add(name);
  for (const name of spec.optional) add(name);
  const dataSetType = checkedValue(message.type, 'commandDataSetType', 'US', message.commandDataSetType ?? defaultDataSetType(spec));
  out.push(field(CommandTag.CommandDataSetType, 'US', dataSetType));
  return out.sort((a, b) => a.tag - b.tag);
}

/** Encodes a typed message's command set (PS3.7 §6.3.1) into a buffer of its exact size. */
export function encodeCommandDirect(message: DimseMessage): Uint8Array {
  const fields = fieldsOf(message);
  let groupLength = 0;
  for (const f of fields) groupLength += HEADER + f.length;
  const out = new Uint8Array(HEADER + 4 + groupLength);
  const view = new DataView(out.buffer);
  // (0000,0000) UL Command Group Length: the bytes after this element (PS3.7 §6.3.1).
  view.setUint32(4, 4, true);
  view.setUint32(8, groupLength, true);
  let at = HEADER + 4;
  for (const f of fields) {
    view.setUint16(at, f.tag >>> 16, true);
    view.setUint16(at + 2, f.tag & 0xffff, true);
    view.setUint32(at + 4, f.length, true);
    at += HEADER;
    const v = f.value;
    if (typeof v === 'number') {
      view.setUint16(at, v, true);
    } else if (typeof v === 'string') {
      for (let i = 0; i < v.length; i++) out[at + i] = v.charCodeAt(i);
      if (v.length & 1) out[at + v.length] = f.vr === 'UI' ? 0x00 : 0x20;
    } else {
      for (let i = 0; i < v.length; i++) {
        view.setUint16(at + i * 4, v[i]! >>> 16, true);
        view.setUint16(at + i * 4 + 2, v[i]! & 0xffff, true);
      }
    }
    at += f.length;
  }
  return out;
}
