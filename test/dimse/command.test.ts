/**
 * The command set codec (PS3.7 §6.3.1, §9.3, §10.3, Annex E): byte-exact encoding, round trips
 * of every message type, and what decoding answers to bad command sets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DicomError } from '../../src/core/dicom-error.js';
import {
  commandSetOf, decodeCommand, decodeCommandSet, encodeCommand, encodeCommandSet, hasDataSet, messageFromCommandSet,
} from '../../src/dimse/command.js';
import { CommandField, CommandTag, DATA_SET_PRESENT, NO_DATA_SET, Priority, type DimseMessageType } from '../../src/dimse/command-elements.js';
import { DimseProtocolError } from '../../src/dimse/dimse-protocol-error.js';
import { MESSAGE_SPECS, type CStoreRq, type DimseMessage } from '../../src/dimse/messages.js';
import { commandBytes, element, FULL_MESSAGES, MINIMAL_MESSAGES, text, ul, us } from './fixtures.js';

const TYPES = Object.keys(CommandField) as DimseMessageType[];

function withDefaults(m: DimseMessage): DimseMessage {
  const spec = MESSAGE_SPECS[m.type];
  const out = { ...m } as DimseMessage;
  out.commandDataSetType ??= spec.dataSet === 'always' ? DATA_SET_PRESENT : NO_DATA_SET;
  return out;
}

test('C-ECHO-RQ encodes to the bytes PS3.7 Table 9.3-12 and PS3.5 §7.1.3 give', () => {
  // Implicit VR Little Endian: tag group (2, LE), element (2, LE), value length (4, LE), value.
  const expected = new Uint8Array([
    // (0000,0000) UL Command Group Length = 56: the four elements below, 26 + 10 + 10 + 10 bytes
    0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x38, 0x00, 0x00, 0x00,
    // (0000,0002) UI Affected SOP Class UID = "1.2.840.10008.1.1" + NUL pad (PS3.5 §9.1) -> 18 bytes
    0x00, 0x00, 0x02, 0x00, 0x12, 0x00, 0x00, 0x00,
    0x31, 0x2e, 0x32, 0x2e, 0x38, 0x34, 0x30, 0x2e, 0x31, 0x30, 0x30, 0x30, 0x38, 0x2e, 0x31, 0x2e, 0x31, 0x00,
    // (0000,0100) US Command Field = 0030H
    0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x30, 0x00,
    // (0000,0110) US Message ID = 7
    0x00, 0x00, 0x10, 0x01, 0x02, 0x00, 0x00, 0x00, 0x07, 0x00,
    // (0000,0800) US Command Data Set Type = 0101H (no data set)
    0x00, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x00, 0x01, 0x01,
  ]);
  const bytes = encodeCommand({ type: 'C-ECHO-RQ', messageId: 7, affectedSopClassUid: '1.2.840.10008.1.1' });
  assert.deepEqual([...bytes], [...expected]);
  assert.equal(bytes.length, 68);
  assert.deepEqual(decodeCommand(expected), { type: 'C-ECHO-RQ', messageId: 7, affectedSopClassUid: '1.2.840.10008.1.1', commandDataSetType: NO_DATA_SET });
});

test('every message type round-trips with all its fields, and with only the required ones', () => {
  for (const type of TYPES) {
    for (const m of [FULL_MESSAGES[type], MINIMAL_MESSAGES[type]]) {
      assert.equal(m.type, type);
      const bytes = encodeCommand(m);
      assert.equal(bytes.length % 2, 0, type);
      assert.deepEqual(decodeCommand(bytes), withDefaults(m), type);
    }
  }
});

test('encodeCommand (written directly) gives the same bytes as the DataSet path, encodeCommandSet(commandSetOf(m)), for every message type, odd-length values included', () => {
  const extras: DimseMessage[] = [
    // odd-length UI (NUL pad), odd-length AE and LO (space pad), an empty Error Comment, several AT tags
    { type: 'C-STORE-RSP', messageIdBeingRespondedTo: 3, affectedSopClassUid: '1.2.3', affectedSopInstanceUid: '1.2.34', status: 0xa700, errorComment: 'odd' } as DimseMessage,
    { type: 'C-STORE-RSP', messageIdBeingRespondedTo: 3, affectedSopClassUid: '1.2', status: 0xc000, errorComment: '' } as DimseMessage,
    { type: 'C-STORE-RSP', messageIdBeingRespondedTo: 65535, affectedSopClassUid: '1.2', status: 0xb000, offendingElement: [0x00100010, 0x7fe00010, 0xfffee000] } as DimseMessage,
    { type: 'C-MOVE-RQ', messageId: 1, affectedSopClassUid: '1.2.840.10008.5.1.4.1.2.2.2', priority: 0, moveDestination: 'ABC', commandDataSetType: DATA_SET_PRESENT } as DimseMessage,
    // padded AE with spaces inside, and text outside ASCII with a backslash in an Error Comment
    { type: 'C-STORE-RQ', messageId: 7, affectedSopClassUid: '1.2.3', affectedSopInstanceUid: '1.2.3.45', priority: Priority.HIGH, moveOriginatorApplicationEntityTitle: ' ODD ', moveOriginatorMessageId: 65535 },
    { type: 'C-STORE-RSP', messageIdBeingRespondedTo: 7, affectedSopClassUid: '1.2.3', affectedSopInstanceUid: '1.2', status: 0xb000, errorComment: 'odd\\comment é', offendingElement: [0x00100010, 0xfffee000] },
  ];
  for (const m of [...TYPES.flatMap((t) => [FULL_MESSAGES[t], MINIMAL_MESSAGES[t]]), ...extras]) {
    assert.deepEqual([...encodeCommand(m)], [...encodeCommandSet(commandSetOf(m))], m.type);
  }
});

test('the Command Group Length counts every byte after it, and elements ascend', () => {
  for (const type of TYPES) {
    const bytes = encodeCommand(FULL_MESSAGES[type]);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    assert.equal(view.getUint32(0, true), 0x00000000);
    assert.equal(view.getUint32(4, true), 4);
    assert.equal(view.getUint32(8, true), bytes.length - 12, type);
    let last = -1;
    for (let o = 0; o < bytes.length;) {
      const tag = ((view.getUint16(o, true) << 16) | view.getUint16(o + 2, true)) >>> 0;
      assert.equal(tag >>> 16, 0, 'group 0000 only');
      assert.ok(tag > last, 'ascending');
      last = tag;
      o += 8 + view.getUint32(o + 4, true);
    }
    const ds = decodeCommandSet(bytes);
    assert.equal(ds.number(CommandTag.CommandField), CommandField[type]);
  }
});

test('Command Data Set Type: defaults by message type, any value but 0101H means present', () => {
  assert.equal(hasDataSet(MINIMAL_MESSAGES['C-STORE-RQ']), true);
  assert.equal(hasDataSet(MINIMAL_MESSAGES['C-ECHO-RQ']), false);
  assert.equal(hasDataSet(MINIMAL_MESSAGES['C-FIND-RSP']), false);
  assert.equal(hasDataSet(FULL_MESSAGES['C-FIND-RSP']), true);
  const peerStyle = commandBytes(
    element(0, 0x0100, us(0x8020)), element(0, 0x0120, us(3)), element(0, 0x0800, us(0x0102)), element(0, 0x0900, us(0xff00)),
  );
  const m = decodeCommand(peerStyle);
  assert.equal(m.commandDataSetType, 0x0102);
  assert.equal(hasDataSet(m), true);
});

test('Priority absent reads as MEDIUM; elements the message does not define are left out of it but kept in the command set', () => {
  const bytes = commandBytes(
    element(0, 0x0002, text('1.2.840.10008.5.1.4.1.2.2.1', 0)),
    element(0, 0x0100, us(0x0020)),
    element(0, 0x0110, us(9)),
    element(0, 0x0800, us(0x0001)),
    element(0, 0x0850, us(12)), // Number of Matches, retired (PS3.7 Table E.2-1)
  );
  const ds = decodeCommandSet(bytes);
  assert.deepEqual(messageFromCommandSet(ds), { type: 'C-FIND-RQ', messageId: 9, affectedSopClassUid: '1.2.840.10008.5.1.4.1.2.2.1', priority: Priority.MEDIUM, commandDataSetType: 1 });
  assert.equal(ds.number(0x00000850), 12);
});

test('a missing Command Group Length and trailing spaces or NULs in values are tolerated', () => {
  const bytes = new Uint8Array([
    ...element(0, 0x0002, text('1.2.840.10008.1.1 ', 0x20)),
    ...element(0, 0x0100, us(0x0030)),
    ...element(0, 0x0110, us(1)),
    ...element(0, 0x0800, us(0x0101)),
  ]);
  assert.deepEqual(decodeCommand(bytes), { type: 'C-ECHO-RQ', messageId: 1, affectedSopClassUid: '1.2.840.10008.1.1', commandDataSetType: NO_DATA_SET });
});

function protocolError(fn: () => unknown): DimseProtocolError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DimseProtocolError, `expected a DimseProtocolError, got ${String(e)}`);
    assert.ok(e instanceof DicomError);
    return e;
  }
  assert.fail('no error thrown');
}

test('an unknown Command Field in a request is answered with Unrecognized operation (0211H)', () => {
  const bytes = commandBytes(
    element(0, 0x0002, text('1.2.3.4', 0)), element(0, 0x0100, us(0x0042)), element(0, 0x0110, us(77)), element(0, 0x0800, us(0x0101)),
  );
  const e = protocolError(() => decodeCommand(bytes));
  assert.equal(e.code, 'ERR_DICOM_DIMSE_UNKNOWN_COMMAND');
  assert.equal(e.fatal, false);
  assert.equal(e.answer.kind, 'response');
  if (e.answer.kind !== 'response') return;
  assert.equal(e.answer.status, 0x0211);
  const rsp = decodeCommandSet(e.answer.command);
  assert.equal(rsp.number(CommandTag.CommandField), 0x8042);
  assert.equal(rsp.number(CommandTag.MessageIDBeingRespondedTo), 77);
  assert.equal(rsp.number(CommandTag.Status), 0x0211);
  assert.equal(rsp.number(CommandTag.CommandDataSetType), 0x0101);
  assert.equal(rsp.string(CommandTag.AffectedSOPClassUID), '1.2.3.4');
  assert.equal(new DataView(e.answer.command.buffer, e.answer.command.byteOffset).getUint32(8, true), e.answer.command.length - 12);
});

test('an unknown response, or a request without Message ID, is answered with an A-ABORT', () => {
  for (const bytes of [
    commandBytes(element(0, 0x0100, us(0x8042)), element(0, 0x0120, us(1)), element(0, 0x0800, us(0x0101))),
    commandBytes(element(0, 0x0100, us(0x0042)), element(0, 0x0800, us(0x0101))),
  ]) {
    const e = protocolError(() => decodeCommand(bytes));
    assert.equal(e.code, 'ERR_DICOM_DIMSE_UNKNOWN_COMMAND');
    assert.deepEqual(e.answer, { kind: 'abort', abort: { source: 2, reason: 6 } });
  }
});

test('bad command sets: no Command Field, a required field missing, unreadable bytes', () => {
  let e = protocolError(() => decodeCommand(commandBytes(element(0, 0x0110, us(1)))));
  assert.equal(e.code, 'ERR_DICOM_DIMSE_BAD_COMMAND');
  assert.equal(e.tag, CommandTag.CommandField);
  assert.equal(e.fatal, true);

  e = protocolError(() => decodeCommand(commandBytes(element(0, 0x0100, us(0x0001)), element(0, 0x0110, us(1)), element(0, 0x0800, us(1)))));
  assert.equal(e.code, 'ERR_DICOM_DIMSE_BAD_COMMAND');
  assert.match(e.message, /C-STORE-RQ lacks affectedSopClassUid/);
  assert.equal(e.tag, CommandTag.AffectedSOPClassUID);

  e = protocolError(() => decodeCommand(commandBytes(element(0, 0x0100, us(0x8001)), element(0, 0x0800, us(0x0101)), element(0, 0x0900, us(0)))));
  assert.match(e.message, /C-STORE-RSP lacks messageIdBeingRespondedTo/);

  const full = encodeCommand(FULL_MESSAGES['C-STORE-RQ']);
  e = protocolError(() => decodeCommand(full.subarray(0, full.length - 3)));
  assert.equal(e.code, 'ERR_DICOM_DIMSE_BAD_COMMAND');
  assert.ok(e.cause instanceof DicomError);
  assert.deepEqual(e.answer, { kind: 'abort', abort: { source: 2, reason: 6 } });
});

test('decoding never throws anything but a DimseProtocolError, whatever the bytes', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(7), (junk, cut) => {
    const base = encodeCommand(FULL_MESSAGES['C-MOVE-RSP']);
    for (const bytes of [junk, base.subarray(0, Math.max(0, base.length - cut)), new Uint8Array([...base, ...junk])]) {
      try {
        decodeCommand(bytes);
      } catch (e) {
        if (!(e instanceof DimseProtocolError)) throw e;
      }
    }
  }), { numRuns: 300 });
});

test('encoding refuses messages that cannot be right', () => {
  const store = MINIMAL_MESSAGES['C-STORE-RQ'] as CStoreRq;
  const bad: Array<[DimseMessage, RegExp]> = [
    [{ ...store, affectedSopInstanceUid: undefined } as unknown as DimseMessage, /needs affectedSopInstanceUid/],
    [{ ...store, messageId: 70000 }, /messageId: 70000 is not a 16-bit/],
    [{ ...store, messageId: 1.5 }, /messageId/],
    [{ ...store, affectedSopClassUid: '1.2.abc' }, /is not a UID/],
    [{ ...store, affectedSopClassUid: '1.'.repeat(33) }, /is not a UID/],
    [{ ...store, moveOriginatorApplicationEntityTitle: 'A'.repeat(17) }, /not an AE title/],
    [{ ...store, moveOriginatorApplicationEntityTitle: 'A\\B' }, /not an AE title/],
    [{ ...store, commandDataSetType: -1 }, /commandDataSetType/],
    [{ ...MINIMAL_MESSAGES['N-GET-RQ'], attributeIdentifierList: [0x1_0000_0000] } as DimseMessage, /array of tags/],
  ];
  for (const [m, re] of bad) {
    assert.throws(() => encodeCommand(m), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_INVALID_ARGUMENT' && re.test(e.message), re.source);
  }
});

test('Error Comment is sent as at most 64 characters of the default repertoire, cut at a word with "..."', () => {
  const m: DimseMessage = { type: 'C-STORE-RSP', messageIdBeingRespondedTo: 1, status: 0xa700, errorComment: `écriture\\impossible: ${'x'.repeat(100)}` };
  const back = decodeCommand(encodeCommand(m));
  assert.equal(back.type, 'C-STORE-RSP');
  if (back.type !== 'C-STORE-RSP') return;
  assert.equal(back.errorComment!.length, 64);
  assert.ok(back.errorComment!.startsWith('?criture/impossible: xxx'));
  assert.ok(back.errorComment!.endsWith('x...'), 'one long word: cut inside it, and marked');
  const words = 'cannot store the object: the archive folder /srv/conduit/data is on a read-only file system';
  const cut = (decodeCommand(encodeCommand({ ...m, errorComment: words })) as { errorComment: string }).errorComment;
  assert.equal(cut, 'cannot store the object: the archive folder /srv/conduit/data...');
  assert.ok(cut.length <= 64);
  const clause = 'missing Unique Key PatientID (0010,0020) of the PATIENT level: a hierarchical query needs one value for it (PS3.4 C.4.1.2.1)';
  assert.equal((decodeCommand(encodeCommand({ ...m, errorComment: clause })) as { errorComment: string }).errorComment,
    'missing Unique Key PatientID (0010,0020) of the PATIENT level...', 'cut at the end of a clause rather than after "level: a"');
  const fits = 'the data set has no StudyInstanceUID, needed to index it';
  assert.equal((decodeCommand(encodeCommand({ ...m, errorComment: fits })) as { errorComment: string }).errorComment, fits, 'a comment that fits is whole');
});

test('AE titles are sent without their padding spaces', () => {
  const m = { ...MINIMAL_MESSAGES['C-MOVE-RQ'], moveDestination: '  DEST ' } as DimseMessage;
  assert.equal((decodeCommand(encodeCommand(m)) as { moveDestination: string }).moveDestination, 'DEST');
});

test('encodeCommandSet recomputes a stale group length and keeps only group 0000', () => {
  const ds = commandSetOf(MINIMAL_MESSAGES['C-ECHO-RSP']);
  ds.set(CommandTag.CommandGroupLength, 'UL', 1234);
  ds.set(0x00080016, 'UI', '1.2.3');
  const bytes = encodeCommandSet(ds);
  assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true), bytes.length - 12);
  assert.equal(decodeCommandSet(bytes).has(0x00080016), false);
});

test('property: random field values round-trip through the codec', () => {
  const uid = fc.array(fc.integer({ min: 0, max: 99999 }), { minLength: 2, maxLength: 8 }).map((parts) => parts.join('.')).filter((s) => s.length <= 64);
  const ae = fc.stringMatching(/^[A-Z0-9_]{1,16}$/);
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const tags = fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 5 });
  const comment = fc.stringMatching(/^[A-Za-z0-9 .:_-]{0,64}$/).map((s) => s.trim()).filter((s) => s.length > 0);
  fc.assert(fc.property(
    u16, uid, uid, ae, u16, u16, tags, comment, fc.boolean(),
    (id, sopClass, instance, title, status, other, attrs, errorComment, present) => {
      const messages: DimseMessage[] = [
        { type: 'C-STORE-RQ', messageId: id, affectedSopClassUid: sopClass, affectedSopInstanceUid: instance, priority: Priority.LOW, moveOriginatorApplicationEntityTitle: title, moveOriginatorMessageId: other },
        { type: 'C-MOVE-RSP', messageIdBeingRespondedTo: id, status, numberOfCompletedSuboperations: other, offendingElement: attrs, errorComment, commandDataSetType: present ? 1 : NO_DATA_SET },
        { type: 'N-GET-RQ', messageId: id, requestedSopClassUid: sopClass, requestedSopInstanceUid: instance, attributeIdentifierList: attrs },
        { type: 'N-ACTION-RSP', messageIdBeingRespondedTo: id, status, actionTypeId: other, affectedSopInstanceUid: instance, errorId: other },
      ];
      for (const m of messages) {
        assert.deepEqual(decodeCommand(encodeCommand(m)), withDefaults(m));
        // The direct encoder writes what the DataSet path writes.
        assert.deepEqual(encodeCommand(m), encodeCommandSet(commandSetOf(m)));
      }
    },
  ), { numRuns: 200 });
});

