/**
 * The direct command set encoder (command-encoder.ts) writes the same bytes as the DataSet path
 * (commandSetOf + encodeCommandSet, through the data set writer): every message type, full and
 * minimal, odd and even text lengths, and random field values; and refuses what that path refuses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DicomError } from '../../src/core/dicom-error.js';
import { commandSetOf, encodeCommand, encodeCommandSet } from '../../src/dimse/command.js';
import { encodeCommandDirect } from '../../src/dimse/command-encoder.js';
import { CommandField, NO_DATA_SET, Priority, type DimseMessageType } from '../../src/dimse/command-elements.js';
import type { DimseMessage } from '../../src/dimse/messages.js';
import { FULL_MESSAGES, MINIMAL_MESSAGES } from './fixtures.js';

const TYPES = Object.keys(CommandField) as DimseMessageType[];
const viaDataSet = (m: DimseMessage) => encodeCommandSet(commandSetOf(m));

test('every message type, with every field and with the required ones only, encodes to the DataSet path\'s bytes', () => {
  for (const type of TYPES) {
    for (const m of [FULL_MESSAGES[type], MINIMAL_MESSAGES[type]]) {
      const expected = viaDataSet(m);
      assert.deepEqual(encodeCommandDirect(m), expected, type);
      assert.deepEqual(encodeCommand(m), expected, type);
    }
  }
});

test('odd-length text is padded as PS3.5 says: UI with NUL, AE and LO with a space', () => {
  const m: DimseMessage = {
    type: 'C-STORE-RQ', messageId: 5, affectedSopClassUid: '1.2.3', affectedSopInstanceUid: '1.2.34', priority: Priority.MEDIUM,
    moveOriginatorApplicationEntityTitle: 'ABC', moveOriginatorMessageId: 3,
  };
  const bytes = encodeCommandDirect(m);
  assert.deepEqual(bytes, viaDataSet(m));
  const text = Buffer.from(bytes).toString('latin1');
  assert.ok(text.includes('1.2.3\0'), 'UI padded with NUL');
  assert.ok(text.includes('ABC '), 'AE padded with a space');
  const rsp: DimseMessage = { type: 'C-MOVE-RSP', messageIdBeingRespondedTo: 5, status: 0xa702, errorComment: 'odd' };
  assert.ok(Buffer.from(encodeCommandDirect(rsp)).toString('latin1').endsWith('odd '));
});

test('Error Comment is cut to 64 characters of the default repertoire, as before', () => {
  const rsp: DimseMessage = { type: 'C-FIND-RSP', messageIdBeingRespondedTo: 1, status: 0xc000, errorComment: `  a\\b é ${'x'.repeat(100)}` };
  assert.deepEqual(encodeCommandDirect(rsp), viaDataSet(rsp));
});

test('what the DataSet path refuses is refused the same way', () => {
  const bad: DimseMessage[] = [
    { type: 'C-ECHO-RQ', messageId: 70000, affectedSopClassUid: '1.2' } as DimseMessage,
    { type: 'C-ECHO-RQ', messageId: 1, affectedSopClassUid: '1.2.x' } as DimseMessage,
    { type: 'C-MOVE-RQ', messageId: 1, affectedSopClassUid: '1.2', priority: Priority.LOW, moveDestination: 'WAY_TOO_LONG_AE_TITLE' } as DimseMessage,
    { type: 'C-STORE-RQ', messageId: 1, affectedSopClassUid: '1.2', priority: Priority.LOW } as unknown as DimseMessage,
  ];
  for (const m of bad) {
    assert.throws(() => viaDataSet(m), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_INVALID_ARGUMENT');
    assert.throws(() => encodeCommandDirect(m), (e: unknown) => e instanceof DicomError && e.code === 'ERR_DICOM_INVALID_ARGUMENT');
  }
});

test('property: random field values encode to the DataSet path\'s bytes', () => {
  const uid = fc.array(fc.integer({ min: 0, max: 99999 }), { minLength: 1, maxLength: 8 }).map((parts) => parts.join('.')).filter((s) => s.length <= 64);
  const ae = fc.stringMatching(/^ ?[A-Z0-9_ ]{0,15}[A-Z0-9]$/);
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const tags = fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 5 });
  const comment = fc.string({ maxLength: 80 });
  fc.assert(fc.property(
    u16, uid, uid, ae, u16, u16, tags, comment, fc.boolean(),
    (id, sopClass, instance, title, status, other, attrs, errorComment, present) => {
      const messages: DimseMessage[] = [
        { type: 'C-STORE-RQ', messageId: id, affectedSopClassUid: sopClass, affectedSopInstanceUid: instance, priority: Priority.LOW, moveOriginatorApplicationEntityTitle: title, moveOriginatorMessageId: other },
        { type: 'C-GET-RSP', messageIdBeingRespondedTo: id, status, affectedSopClassUid: sopClass, numberOfRemainingSuboperations: other, numberOfCompletedSuboperations: id, numberOfFailedSuboperations: 0, numberOfWarningSuboperations: status },
        { type: 'C-MOVE-RSP', messageIdBeingRespondedTo: id, status, numberOfCompletedSuboperations: other, offendingElement: attrs, errorComment, commandDataSetType: present ? 1 : NO_DATA_SET },
        { type: 'C-FIND-RSP', messageIdBeingRespondedTo: id, status, affectedSopClassUid: sopClass, commandDataSetType: present ? 1 : NO_DATA_SET },
        { type: 'N-GET-RQ', messageId: id, requestedSopClassUid: sopClass, requestedSopInstanceUid: instance, attributeIdentifierList: attrs },
      ];
      for (const m of messages) assert.deepEqual(encodeCommandDirect(m), viaDataSet(m));
    },
  ), { numRuns: 300 });
});
