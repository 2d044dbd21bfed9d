/**
 * The direct command set reader (decodeCommandDirect, PS3.7 §6.3.1, PS3.5 §7.1.3) against the
 * DataSet path, messageFromCommandSet(decodeCommandSet(bytes)): the same typed message for what
 * it reads, undefined for what it leaves to the DataSet path, and decodeCommand giving the same
 * value or the same error as the DataSet path whatever the bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeCommand, decodeCommandDirect, decodeCommandSet, encodeCommand, messageFromCommandSet } from '../../src/dimse/command.js';
import { CommandTag, Priority } from '../../src/dimse/command-elements.js';
import { MessageAssembler, type IncomingMessage } from '../../src/dimse/assembler.js';
import { DimseProtocolError } from '../../src/dimse/dimse-protocol-error.js';
import type { DimseMessage } from '../../src/dimse/messages.js';
import { commandBytes, element, FULL_MESSAGES, MINIMAL_MESSAGES, text, us } from './fixtures.js';

type Outcome = { value: DimseMessage } | { error: { name: string; code: unknown; message: string; answer: unknown; tag: unknown } };

function outcome(decode: () => DimseMessage): Outcome {
  try {
    return { value: decode() };
  } catch (e) {
    if (!(e instanceof DimseProtocolError)) throw e;
    return { error: { name: e.name, code: e.code, message: e.message, answer: e.answer, tag: (e as { tag?: unknown }).tag } };
  }
}

const viaDataSet = (bytes: Uint8Array): Outcome => outcome(() => messageFromCommandSet(decodeCommandSet(bytes)));

/** The direct reader agrees with the DataSet path on these bytes; returns whether it read them itself. */
function agrees(bytes: Uint8Array): boolean {
  const direct = decodeCommandDirect(bytes);
  const expected = viaDataSet(bytes);
  if (direct !== undefined) assert.deepEqual({ value: direct }, expected);
  assert.deepEqual(outcome(() => decodeCommand(bytes)), expected);
  return direct !== undefined;
}

test('every message type, with all its fields and with only the required ones, is read directly as the DataSet path reads it', () => {
  for (const m of [...Object.values(FULL_MESSAGES), ...Object.values(MINIMAL_MESSAGES)]) {
    assert.equal(agrees(encodeCommand(m)), true, m.type);
  }
});

test('property: random messages are read directly, value for value', () => {
  const uid = fc.array(fc.integer({ min: 0, max: 99999 }), { minLength: 1, maxLength: 8 }).map((parts) => parts.join('.')).filter((s) => s.length <= 64);
  const ae = fc.stringMatching(/^[ -[\]-~]{1,16}$/).filter((s) => s.trim().length > 0);
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const tags = fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 5 });
  const comment = fc.stringMatching(/^[ -[\]-~]{0,64}$/).filter((s) => s.trim().length > 0);
  fc.assert(fc.property(u16, uid, uid, ae, u16, u16, tags, comment, (id, sopClass, instance, title, status, other, attrs, errorComment) => {
    const messages: DimseMessage[] = [
      { type: 'C-STORE-RSP', messageIdBeingRespondedTo: id, affectedSopClassUid: sopClass, affectedSopInstanceUid: instance, status, errorComment, offendingElement: attrs },
      { type: 'C-STORE-RQ', messageId: id, affectedSopClassUid: sopClass, affectedSopInstanceUid: instance, priority: Priority.HIGH, moveOriginatorApplicationEntityTitle: title, moveOriginatorMessageId: other },
      { type: 'C-MOVE-RQ', messageId: id, affectedSopClassUid: sopClass, priority: Priority.LOW, moveDestination: title },
      { type: 'N-GET-RQ', messageId: id, requestedSopClassUid: sopClass, requestedSopInstanceUid: instance, attributeIdentifierList: attrs },
    ];
    for (const m of messages) assert.equal(agrees(encodeCommand(m)), true, m.type);
  }), { numRuns: 300 });
});

test('unusual command sets are left to the DataSet path, which reads or rejects them as before', () => {
  const echo = (...extra: number[][]): number[][] => [element(0, 0x0002, text('1.2.840.10008.1.1', 0)), element(0, 0x0100, us(0x0030)), ...extra, element(0, 0x0800, us(0x0101))];
  const unusual: Uint8Array[] = [
    commandBytes(...echo(element(0, 0x0110, us(1)), element(0x0008, 0x0016, text('1.2', 0)))), // outside group 0000
    commandBytes(element(0, 0x0100, us(0x0030)), element(0, 0x0002, text('1.2.840.10008.1.1', 0)), element(0, 0x0110, us(1))), // out of order
    commandBytes(...echo(element(0, 0x0110, us(1)), element(0, 0x0110, us(2)))), // repeated
    commandBytes(...echo(element(0, 0x0110, new Uint8Array([1, 0, 0])))), // odd length
    commandBytes(element(0, 0x0002, text('1.2\\3', 0)), element(0, 0x0100, us(0x0030)), element(0, 0x0110, us(1))), // backslash
    commandBytes(element(0, 0x0002, text('1.2.\xe9', 0)), element(0, 0x0100, us(0x0030)), element(0, 0x0110, us(1))), // not ASCII
    commandBytes(element(0, 0x0002, text('1.2\x003', 0)), element(0, 0x0100, us(0x0030)), element(0, 0x0110, us(1))), // NUL inside
    commandBytes(element(0, 0x0100, us(0x0030))), // no Message ID
    commandBytes(element(0, 0x0100, us(0x7ff0)), element(0, 0x0110, us(3))), // unknown Command Field
    new Uint8Array([...commandBytes(...echo(element(0, 0x0110, us(1)))), 0, 0, 0]), // trailing bytes
    new Uint8Array([...element(0, 0x0100, us(0x0030)), 0, 0, 0x10, 0x01, 0xff, 0xff, 0xff, 0xff]), // undefined length
  ];
  for (const bytes of unusual) assert.equal(agrees(bytes), false, Buffer.from(bytes).toString('hex'));
  // Padding and a missing group length are read directly, as the DataSet path reads them.
  const padded = new Uint8Array([
    ...element(0, 0x0002, text('  1.2.840.10008.1.1\0\0 ', 0)), ...element(0, 0x0100, us(0x0030)), ...element(0, 0x0110, us(1)),
  ]);
  assert.equal(agrees(padded), true);
  assert.equal((decodeCommandDirect(padded) as { affectedSopClassUid?: string } | undefined)?.affectedSopClassUid, '1.2.840.10008.1.1');
});

test('property: whatever the bytes, decodeCommand gives what the DataSet path gives, value or error', () => {
  const tag = fc.constantFrom(...Object.values(CommandTag).map((t) => t & 0xffff), 0x0005, 0x4000);
  const byte = fc.oneof(fc.constantFrom(0x20, 0x00, 0x5c, 0x2e, 0x31, 0x41, 0xe9, 0x0a), fc.integer({ min: 0, max: 255 }));
  const value = fc.array(byte, { maxLength: 12 }).map((b) => new Uint8Array(b));
  const elements = fc.array(fc.tuple(tag, value), { maxLength: 10 });
  fc.assert(fc.property(elements, fc.boolean(), fc.boolean(), fc.nat(), fc.nat(255), (list, sorted, groupLength, at, flip) => {
    if (sorted) list.sort((a, b) => a[0] - b[0]);
    const body = list.flatMap(([t, v]) => element(0, t, v));
    const bytes = groupLength ? commandBytes(body) : new Uint8Array(body);
    agrees(bytes);
    if (bytes.length > 0) {
      const mutated = bytes.slice();
      mutated[at % bytes.length] = flip;
      agrees(mutated);
      agrees(bytes.subarray(0, at % bytes.length));
    }
  }), { numRuns: 1000 });
  // The typed responses this end sees most, mutated byte by byte.
  const rsp = encodeCommand(FULL_MESSAGES['C-STORE-RSP']);
  for (let i = 0; i < rsp.length; i++) {
    for (const b of [0x00, 0x01, 0x20, 0x5c, 0x80, 0xff]) {
      const mutated = rsp.slice();
      mutated[i] = b;
      agrees(mutated);
    }
  }
});

test('the assembler hands over the directly read message, and the command set DataSet on demand', () => {
  const got: IncomingMessage[] = [];
  const assembler = new MessageAssembler({ onMessage: (m) => got.push(m), onRejected: () => assert.fail('rejected') });
  const rsp = { type: 'C-STORE-RSP', messageIdBeingRespondedTo: 4, affectedSopClassUid: '1.2.3', affectedSopInstanceUid: '1.2.3.4', status: 0 } as const;
  const bytes = new Uint8Array([...encodeCommand(rsp), ...element(0, 0x5000, us(9))].slice(12));
  const withUnknown = commandBytes([...bytes]);
  assembler.push([{ presentationContextId: 3, isCommand: true, isLast: true, data: withUnknown }]);
  assert.equal(got.length, 1);
  assert.deepEqual(got[0]!.command, { ...rsp, commandDataSetType: 0x0101 });
  assert.equal(got[0]!.presentationContextId, 3);
  assert.equal(got[0]!.dataSet, null);
  // The element the typed message leaves out is in the command set.
  assert.deepEqual([...got[0]!.commandSet.bytes(0x00005000)!], [9, 0]);
  assert.equal(got[0]!.commandSet, got[0]!.commandSet);
});
