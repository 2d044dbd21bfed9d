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
import { fitErrorComment } from './error-comment.js';
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

interface CommandElement {
  tag: number;
  vr: VR;
  value: FieldValue;
}

/** The message's fields, once every field its type requires is there. */
function checkRequired(message: DimseMessage, spec: MessageSpec): Partial<Record<CommandFieldName, FieldValue>> {
  const fields = message as unknown as Partial<Record<CommandFieldName, FieldValue>>;
  for (const name of spec.required) {
    if (fields[name] === undefined) {
      throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${message.type} needs ${name}`, { tag: COMMAND_FIELDS[name].tag });
    }
  }
  return fields;
}

/** The elements of a typed message's command set, checked, in no particular order (no group length). */
function commandElements(message: DimseMessage): CommandElement[] {
  const spec = MESSAGE_SPECS[message.type];
  const out: CommandElement[] = [{ tag: CommandTag.CommandField, vr: 'US', value: spec.commandField }];
  const fields = checkRequired(message, spec);
  for (const names of [spec.required, spec.optional]) {
    for (const name of names) {
      const value = fields[name];
      if (value === undefined) continue;
      const { tag, vr } = COMMAND_FIELDS[name];
      out.push({ tag, vr, value: checkedValue(message.type, name, vr, value) });
    }
  }
  const dataSetType = checkedValue(message.type, 'commandDataSetType', 'US', message.commandDataSetType ?? defaultDataSetType(spec));
  out.push({ tag: CommandTag.CommandDataSetType, vr: 'US', value: dataSetType });
  return out;
}

/** The command set of a typed message, as a DataSet (without the group length; encodeCommandSet adds it). */
export function commandSetOf(message: DimseMessage): DataSet {
  const ds = new DataSet({ littleEndian: true });
  for (const e of commandElements(message)) ds.set(e.tag, e.vr, e.value);
  return ds;
}

/** A field of a message type's command set, in tag order: a named field, or the Command Field / Command Data Set Type. */
interface FieldSlot {
  tag: number;
  vr: VR;
  name: CommandFieldName | 'commandField' | 'commandDataSetType';
}

const slotsByType = new Map<string, readonly FieldSlot[]>();

/** The fields a message type may carry, in ascending tag order (the order they are encoded in), computed once per type. */
function fieldSlots(type: DimseMessage['type']): readonly FieldSlot[] {
  let slots = slotsByType.get(type);
  if (slots === undefined) {
    const spec = MESSAGE_SPECS[type];
    const named: FieldSlot[] = [...spec.required, ...spec.optional].map((name) => ({ tag: COMMAND_FIELDS[name].tag, vr: COMMAND_FIELDS[name].vr, name }));
    slots = [
      { tag: CommandTag.CommandField, vr: 'US' as VR, name: 'commandField' as const },
      { tag: CommandTag.CommandDataSetType, vr: 'US' as VR, name: 'commandDataSetType' as const },
      ...named,
    ].sort((a, b) => a.tag - b.tag);
    slotsByType.set(type, slots);
  }
  return slots;
}

/**
 * Encodes a typed message's command set (PS3.7 §6.3.1): the same bytes as
 * encodeCommandSet(commandSetOf(message)), written directly (once per message sent, where the
 * DataSet and the generic writer cost more than sending the message's PDUs): the fields in tag
 * order, checked as commandElements checks them, into one buffer sized first (a slice of Buffer's
 * pool, not an ArrayBuffer of its own). `commandDataSetType`, if given, overrides the message's.
 */
export function encodeCommand(message: DimseMessage, commandDataSetType?: number): Uint8Array {
  const spec = MESSAGE_SPECS[message.type];
  const fields = checkRequired(message, spec);
  const slots = fieldSlots(message.type);
  const values: Array<FieldValue | undefined> = new Array(slots.length);
  // Implicit VR Little Endian (PS3.5 §7.1.3): tag (4), length (4), value; the group length first.
  let length = 0;
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    let value: FieldValue | undefined;
    if (slot.name === 'commandField') value = spec.commandField;
    else if (slot.name === 'commandDataSetType') {
      value = checkedValue(message.type, 'commandDataSetType', 'US', commandDataSetType ?? message.commandDataSetType ?? defaultDataSetType(spec));
    } else {
      const given = fields[slot.name];
      if (given === undefined) continue;
      value = checkedValue(message.type, slot.name, slot.vr, given);
    }
    values[i] = value;
    length += 8 + valueLength(slot.vr, value);
  }
  const pooled = Buffer.allocUnsafe(12 + length);
  const out = new Uint8Array(pooled.buffer, pooled.byteOffset, pooled.length);
  let at = writeElementHeader(out, 0, CommandTag.CommandGroupLength, 4);
  writeUint32Le(out, at, length);
  at += 4;
  for (let i = 0; i < slots.length; i++) {
    const value = values[i];
    if (value === undefined) continue;
    const vr = slots[i]!.vr;
    at = writeElementHeader(out, at, slots[i]!.tag, valueLength(vr, value));
    at = writeValue(out, at, vr, value);
  }
  return out;
}

/** The encoded length of a command element's value, as the data set writer gives it for these VRs (PS3.5 §6.2, §7.1.3). */
function valueLength(vr: VR, value: FieldValue): number {
  switch (vr) {
    case 'US': return 2;
    case 'AT': return (value as number[]).length * 4;
    default: {
      const n = (value as string).length;
      return n + (n & 1);
    }
  }
}

function writeValue(out: Uint8Array, at: number, vr: VR, value: FieldValue): number {
  switch (vr) {
    case 'US': {
      const n = value as number;
      out[at] = n & 0xff;
      out[at + 1] = n >>> 8;
      return at + 2;
    }
    case 'AT':
      for (const t of value as number[]) {
        // An attribute tag is its group then its element, each a 16-bit little-endian number.
        out[at] = (t >>> 16) & 0xff;
        out[at + 1] = t >>> 24;
        out[at + 2] = t & 0xff;
        out[at + 3] = (t >>> 8) & 0xff;
        at += 4;
      }
      return at;
    default: {
      // UI, AE, LO: checked to be in the default repertoire; padded to even length, UI with NUL.
      const text = value as string;
      for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
      at += text.length;
      if (text.length & 1) out[at++] = vr === 'UI' ? 0x00 : 0x20;
      return at;
    }
  }
}

function writeElementHeader(out: Uint8Array, at: number, tag: number, length: number): number {
  out[at] = (tag >>> 16) & 0xff;
  out[at + 1] = tag >>> 24;
  out[at + 2] = tag & 0xff;
  out[at + 3] = (tag >>> 8) & 0xff;
  writeUint32Le(out, at + 4, length);
  return at + 8;
}

function writeUint32Le(out: Uint8Array, at: number, value: number): void {
  out[at] = value & 0xff;
  out[at + 1] = (value >>> 8) & 0xff;
  out[at + 2] = (value >>> 16) & 0xff;
  out[at + 3] = value >>> 24;
}

function defaultDataSetType(spec: MessageSpec): number {
  return spec.dataSet === 'always' ? DATA_SET_PRESENT : NO_DATA_SET;
}

function checkedValue(type: string, name: string, vr: VR, value: FieldValue): FieldValue {
  switch (vr) {
    case 'US':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff) badValue(type, name, `${String(value)} is not a 16-bit unsigned integer`);
      return value;
    case 'AT':
      if (!Array.isArray(value) || value.some((t) => !Number.isInteger(t) || t < 0 || t > 0xffffffff)) badValue(type, name, 'expected an array of tags');
      return value;
    case 'UI':
      if (typeof value !== 'string' || !isUidValue(value)) badValue(type, name, `"${String(value)}" is not a UID`);
      return value;
    case 'AE': {
      // PS3.5 Table 6.2-1: at most 16 characters of the default repertoire, no backslash or control characters.
      const trimmed = typeof value === 'string' ? value.trim() : '';
      if (typeof value !== 'string' || trimmed.length === 0 || trimmed.length > 16 || !/^[\x20-\x5b\x5d-\x7e]*$/.test(trimmed)) badValue(type, name, `"${String(value)}" is not an AE title`);
      return trimmed;
    }
    case 'LO':
      if (typeof value !== 'string') badValue(type, name, 'expected text');
      return fitErrorComment(value as string);
    default:
      return value;
  }
}

/** Whether a command's UID value can be sent: PS3.5 §9.1, digits and dots, at most 64 characters. */
export function isUidValue(value: string): boolean {
  return /^[0-9.]{1,64}$/.test(value);
}

/** Thrown by checkedValue: a module function, not a closure made for every value checked (several per message sent). */
function badValue(type: string, name: string, why: string): never {
  throw new DicomError('ERR_DICOM_INVALID_ARGUMENT', `${type} ${name}: ${why}`);
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
  return decodeCommandDirect(bytes) ?? messageFromCommandSet(decodeCommandSet(bytes));
}

/**
 * The typed message of a well-formed, ordinary command set, read straight from its bytes (once per
 * message received, where building a DataSet costs more than the rest of a small response); the
 * same message as messageFromCommandSet(decodeCommandSet(bytes)). Undefined for anything unusual —
 * elements outside group 0000, out of order or repeated, odd or undefined lengths, text outside
 * printable ASCII, a backslash, an unknown Command Field, a missing field — which the DataSet path
 * then reads or rejects with its errors.
 */
export function decodeCommandDirect(bytes: Uint8Array): DimseMessage | undefined {
  // Implicit VR Little Endian (PS3.5 §7.1.3): tag (group, element; 2 + 2), length (4), value.
  // The elements' tags and offsets go into scratch arrays shared by every call (it never waits):
  // no Map per message.
  const tags = scratchTags;
  const offsets = scratchOffsets;
  let count = 0;
  let offset = 0;
  let previous = -1;
  while (offset < bytes.length) {
    if (offset + 8 > bytes.length || count === tags.length) return undefined;
    if (bytes[offset] !== 0 || bytes[offset + 1] !== 0) return undefined;
    const tag = bytes[offset + 2]! | (bytes[offset + 3]! << 8);
    const length = (bytes[offset + 4]! | (bytes[offset + 5]! << 8) | (bytes[offset + 6]! << 16) | (bytes[offset + 7]! << 24)) >>> 0;
    if (tag <= previous || (length & 1) !== 0 || offset + 8 + length > bytes.length) return undefined;
    tags[count] = tag;
    offsets[count] = offset;
    count++;
    previous = tag;
    offset += 8 + length;
  }
  const elements: DirectElements = { bytes, text: undefined, count };
  const commandField = readDirect(elements, CommandTag.CommandField, 'US') as number | undefined;
  if (commandField === undefined) return undefined;
  const type = messageTypeOf(commandField);
  if (type === undefined) return undefined;
  const spec = MESSAGE_SPECS[type];
  const message: Record<string, unknown> = { type };
  for (const name of spec.required) {
    const { tag, vr } = COMMAND_FIELDS[name];
    let value = readDirect(elements, tag, vr);
    if (value === null) return undefined;
    if (value === undefined && name === 'priority') value = Priority.MEDIUM;
    if (value === undefined) return undefined;
    message[name] = value;
  }
  for (const name of spec.optional) {
    const { tag, vr } = COMMAND_FIELDS[name];
    const value = readDirect(elements, tag, vr);
    if (value === null) return undefined;
    if (value !== undefined) message[name] = value;
  }
  const dataSetType = readDirect(elements, CommandTag.CommandDataSetType, 'US') as number | undefined;
  message.commandDataSetType = dataSetType ?? defaultDataSetType(spec);
  return message as unknown as DimseMessage;
}

/** Elements beyond this many leave a command set to the DataSet path (ordinary ones have about ten). */
const MAX_DIRECT_ELEMENTS = 64;
const scratchTags = new Uint16Array(MAX_DIRECT_ELEMENTS);
const scratchOffsets = new Uint32Array(MAX_DIRECT_ELEMENTS);

/** The command set being read by decodeCommandDirect: its first `count` elements are in the scratch arrays. */
interface DirectElements {
  bytes: Uint8Array;
  /** `bytes` as a Buffer, for reading text (made on first use). */
  text: Buffer | undefined;
  count: number;
}

/**
 * readValue on the bytes of a command set: undefined where readValue gives undefined, null where
 * the value is text this reader leaves to the DataSet path.
 */
function readDirect(elements: DirectElements, tag: number, vr: VR): FieldValue | undefined | null {
  let index = 0;
  while (index < elements.count && scratchTags[index] !== tag) index++;
  if (index === elements.count) return undefined;
  const bytes = elements.bytes;
  const offset = scratchOffsets[index]!;
  const start = offset + 8;
  const end = start + ((bytes[offset + 4]! | (bytes[offset + 5]! << 8) | (bytes[offset + 6]! << 16) | (bytes[offset + 7]! << 24)) >>> 0);
  switch (vr) {
    case 'US':
      return end - start >= 2 ? bytes[start]! | (bytes[start + 1]! << 8) : undefined;
    case 'AT': {
      const tags: number[] = [];
      for (let i = start; i + 4 <= end; i += 4) {
        tags.push(((bytes[i]! | (bytes[i + 1]! << 8)) * 0x10000) + (bytes[i + 2]! | (bytes[i + 3]! << 8)));
      }
      return tags.length ? tags : undefined;
    }
    default: {
      // Printable ASCII, as latin1 gives it; trailing spaces and NULs and leading spaces are padding
      // (PS3.5 Table 6.2-1), as decodeStrings removes them.
      let last = end;
      while (last > start && (bytes[last - 1] === 0x20 || bytes[last - 1] === 0)) last--;
      let first = start;
      while (first < last && bytes[first] === 0x20) first++;
      if (first === last) return undefined;
      for (let i = first; i < last; i++) {
        const c = bytes[i]!;
        if (c < 0x20 || c > 0x7e || c === 0x5c) return null;
      }
      elements.text ??= Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return elements.text.toString('latin1', first, last);
    }
  }
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
