/**
 * The command set codec (PS3.7 §6.3.1, §9.3, §10.3): a command set is the group 0000 elements of
 * a message, always encoded in Implicit VR Little Endian whatever the presentation context's
 * transfer syntax, and starting with the Command Group Length (0000,0000), the number of bytes
 * that follow it (PS3.7 §6.3.1, Table E.1-1).
 *
 * Reading is lenient where nothing is lost (a missing Priority reads as MEDIUM, unknown elements
 * are kept in the DataSet but left out of the typed message) and strict where the exchange
 * cannot go on without the field.
 */
import { DicomError } from '../core/dicom-error.js';
import { SpecificCharacterSet } from '../data/charset/index.js';
import { DataSet } from '../data/data-set.js';
import { parseDataSet } from '../data/reader/data-set-parser.js';
import { decodeStrings, decodeTags } from '../data/values.js';
import type { VR } from '../data/vr.js';
import { encodeDataSet, type Encoding } from '../data/writer.js';
import {
  COMMAND_FIELDS, CommandTag, DATA_SET_PRESENT, isResponseCommandField, messageTypeOf, NO_DATA_SET, Priority,
  type CommandFieldName,
} from './command-elements.js';
import { ABORT_INVALID_PDV, abortAnswer, DimseProtocolError } from './dimse-protocol-error.js';
import { MESSAGE_SPECS, type DimseMessage, type MessageSpec } from './messages.js';

/** PS3.7 §6.3.1: command sets are Implicit VR Little Endian. */
export const COMMAND_ENCODING: Encoding = { explicitVR: false, littleEndian: true };

/** PS3.7 Annex C.5: "Unrecognized operation", the answer to a request with an unknown Command Field. */
const UNRECOGNIZED_OPERATION = 0x0211;

type FieldValue = string | number | number[];

// ---- encoding ----

/**
 * Encodes a command set held in a DataSet: its group 0000 elements, with the Command Group
 * Length added (or replaced) and computed.
 */
export function encodeCommandSet(commandSet: DataSet): Uint8Array {
  const ds = new DataSet({ littleEndian: true });
  ds.set(CommandTag.CommandGroupLength, 'UL', 0);
  for (const e of commandSet.elements()) {
    if (e.tag >>> 16 !== 0x0000 || e.tag === CommandTag.CommandGroupLength) continue;
    ds.add(e);
  }
  return encodeDataSet(ds, COMMAND_ENCODING, { recalculateGroupLengths: true });
}

/** The command set of a typed message, as a DataSet (without the group length; encodeCommandSet adds it). */
export function commandSetOf(message: DimseMessage): DataSet {
  const spec = MESSAGE_SPECS[message.type];
  const ds = new DataSet({ littleEndian: true });
  ds.set(CommandTag.CommandField, 'US', spec.commandField);
  const fields = message as unknown as Partial<Record<CommandFieldName, FieldValue>>;
  for (const name of spec.required) {
    if (fields[name] === undefined) {
      throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${message.type} needs ${name}`, { tag: COMMAND_FIELDS[name].tag });
    }
  }
  for (const name of [...spec.required, ...spec.optional]) {
    const value = fields[name];
    if (value === undefined) continue;
    const { tag, vr } = COMMAND_FIELDS[name];
    ds.set(tag, vr, checkedValue(message.type, name, vr, value));
  }
  ds.set(CommandTag.CommandDataSetType, 'US', checkedValue(message.type, 'commandDataSetType', 'US', message.commandDataSetType ?? defaultDataSetType(spec)) as number);
  return ds;
}

/**
 * Encodes a typed message's command set (PS3.7 §6.3.1): the same bytes as
 * encodeCommandSet(commandSetOf(message)), written directly (no DataSet, no dictionary look-up):
 * one command goes out per C-STORE, on both sides. Implicit VR Little Endian (PS3.5 §7.1.3):
 * tag group and element (2 + 2), value length (4), value padded to even length, UI with NUL and
 * text with a space (PS3.5 §6.2, §9.1).
 */
export function encodeCommand(message: DimseMessage): Uint8Array {
  const spec = MESSAGE_SPECS[message.type];
  const fields = message as unknown as Partial<Record<CommandFieldName, FieldValue>>;
  const elements: Array<{ tag: number; vr: VR; value: FieldValue }> = [{ tag: CommandTag.CommandField, vr: 'US', value: spec.commandField }];
  for (const name of spec.required) {
    if (fields[name] === undefined) {
      throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${message.type} needs ${name}`, { tag: COMMAND_FIELDS[name].tag });
    }
  }
  let length = 0;
  for (const list of [spec.required, spec.optional]) {
    for (const name of list) {
      const value = fields[name];
      if (value === undefined) continue;
      const { tag, vr } = COMMAND_FIELDS[name];
      elements.push({ tag, vr, value: checkedValue(message.type, name, vr, value) });
    }
  }
  elements.push({
    tag: CommandTag.CommandDataSetType, vr: 'US',
    value: checkedValue(message.type, 'commandDataSetType', 'US', message.commandDataSetType ?? defaultDataSetType(spec)),
  });
  elements.sort((a, b) => a.tag - b.tag);
  for (const e of elements) length += 8 + valueLength(e.vr, e.value);
  const bytes = new Uint8Array(12 + length);
  const out = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  // (0000,0000) UL Command Group Length: the bytes of the elements after it.
  out.writeUInt32LE(0x00000000, 0);
  out.writeUInt32LE(4, 4);
  out.writeUInt32LE(length, 8);
  let at = 12;
  for (const e of elements) {
    const n = valueLength(e.vr, e.value);
    out.writeUInt16LE(e.tag >>> 16, at);
    out.writeUInt16LE(e.tag & 0xffff, at + 2);
    out.writeUInt32LE(n, at + 4);
    at += 8;
    if (e.vr === 'US') {
      out.writeUInt16LE(e.value as number, at);
    } else if (e.vr === 'AT') {
      for (const t of e.value as number[]) {
        out.writeUInt16LE(t >>> 16, at);
        out.writeUInt16LE(t & 0xffff, at + 2);
        at += 4;
      }
      continue;
    } else {
      const text = e.value as string;
      const written = out.write(text, at, 'latin1');
      if (written < n) out[at + written] = e.vr === 'UI' ? 0x00 : 0x20;
    }
    at += n;
  }
  return bytes;
}

/** Bytes of an encoded command element value, padded to even length. */
function valueLength(vr: VR, value: FieldValue): number {
  if (vr === 'US') return 2;
  if (vr === 'AT') return 4 * (value as number[]).length;
  const n = (value as string).length;
  return n + (n & 1);
}

function defaultDataSetType(spec: MessageSpec): number {
  return spec.dataSet === 'always' ? DATA_SET_PRESENT : NO_DATA_SET;
}

function checkedValue(type: string, name: string, vr: VR, value: FieldValue): FieldValue {
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

// ---- decoding ----

/** Reads a command set. Elements are views of `bytes`. */
export function decodeCommandSet(bytes: Uint8Array): DataSet {
  try {
    return parseDataSet(bytes, { explicitVR: false, littleEndian: true });
  } catch (cause) {
    throw new DimseProtocolError('ERR_DICOM_DIMSE_BAD_COMMAND', `command set cannot be read: ${(cause as Error).message}`, abortAnswer(ABORT_INVALID_PDV), { cause });
  }
}

/** Decodes a command set into a typed message. Throws DimseProtocolError with what to answer. */
export function decodeCommand(bytes: Uint8Array): DimseMessage {
  return messageFromCommandSet(decodeCommandSet(bytes));
}

/** Reads the typed message out of a decoded command set. */
export function messageFromCommandSet(ds: DataSet): DimseMessage {
  const commandField = readValue(ds, CommandTag.CommandField, 'US') as number | undefined;
  if (commandField === undefined) {
    throw new DimseProtocolError('ERR_DICOM_DIMSE_BAD_COMMAND', 'command set has no Command Field', abortAnswer(ABORT_INVALID_PDV), { tag: CommandTag.CommandField });
  }
  const type = messageTypeOf(commandField);
  if (type === undefined) throw unknownCommand(ds, commandField);
  const spec = MESSAGE_SPECS[type];
  const message: Record<string, unknown> = { type };
  for (const name of spec.required) {
    const { tag, vr } = COMMAND_FIELDS[name];
    let value = readValue(ds, tag, vr);
    if (value === undefined && name === 'priority') value = Priority.MEDIUM;
    if (value === undefined) {
      throw new DimseProtocolError('ERR_DICOM_DIMSE_BAD_COMMAND', `${type} lacks ${name}`, abortAnswer(ABORT_INVALID_PDV), { tag });
    }
    message[name] = value;
  }
  for (const name of spec.optional) {
    const { tag, vr } = COMMAND_FIELDS[name];
    const value = readValue(ds, tag, vr);
    if (value !== undefined) message[name] = value;
  }
  message.commandDataSetType = (readValue(ds, CommandTag.CommandDataSetType, 'US') as number | undefined) ?? defaultDataSetType(spec);
  return message as unknown as DimseMessage;
}

/** Whether a data set follows the command (Command Data Set Type other than 0101H). */
export function hasDataSet(message: DimseMessage): boolean {
  return (message.commandDataSetType ?? defaultDataSetType(MESSAGE_SPECS[message.type])) !== NO_DATA_SET;
}

function readValue(ds: DataSet, tag: number, vr: VR): FieldValue | undefined {
  const e = ds.get(tag);
  if (!e || e.items) return undefined;
  const b = e.bytes;
  switch (vr) {
    case 'US':
      return b.length >= 2 ? b[0]! | (b[1]! << 8) : undefined;
    case 'AT': {
      const tags = decodeTags(b, true);
      return tags.length ? tags : undefined;
    }
    default: {
      const s = decodeStrings(b, vr, SpecificCharacterSet.DEFAULT)[0];
      return s === undefined || s === '' ? undefined : s;
    }
  }
}

/**
 * A Command Field PS3.7 does not define. A request that can be answered (it has a Message ID) gets
 * a response with the response bit set and Status "Unrecognized operation"; anything else, an abort.
 */
function unknownCommand(ds: DataSet, commandField: number): DimseProtocolError {
  const hex = commandField.toString(16).toUpperCase().padStart(4, '0');
  const messageId = readValue(ds, CommandTag.MessageID, 'US') as number | undefined;
  if (isResponseCommandField(commandField) || messageId === undefined) {
    return new DimseProtocolError('ERR_DICOM_DIMSE_UNKNOWN_COMMAND', `unknown Command Field ${hex}H`, abortAnswer(ABORT_INVALID_PDV), { tag: CommandTag.CommandField });
  }
  const rsp = new DataSet({ littleEndian: true });
  const sopClass = readValue(ds, CommandTag.AffectedSOPClassUID, 'UI') as string | undefined;
  if (sopClass) rsp.set(CommandTag.AffectedSOPClassUID, 'UI', sopClass);
  rsp.set(CommandTag.CommandField, 'US', (commandField | 0x8000) & 0xffff);
  rsp.set(CommandTag.MessageIDBeingRespondedTo, 'US', messageId);
  rsp.set(CommandTag.CommandDataSetType, 'US', NO_DATA_SET);
  rsp.set(CommandTag.Status, 'US', UNRECOGNIZED_OPERATION);
  return new DimseProtocolError(
    'ERR_DICOM_DIMSE_UNKNOWN_COMMAND',
    `unknown Command Field ${hex}H in request ${messageId}`,
    { kind: 'response', command: encodeCommandSet(rsp), status: UNRECOGNIZED_OPERATION },
    { tag: CommandTag.CommandField },
  );
}
