/**
 * Statuses (PS3.7 Annex C, PS3.4 service classes): classes over the whole 16-bit range, the
 * vocabulary, DimseStatus at the SCU and ServiceError at the SCP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DicomError } from '../../src/core/dicom-error.js';
import { decodeCommand, encodeCommand } from '../../src/dimse/command.js';
import { DimseStatus } from '../../src/dimse/dimse-status.js';
import type { DimseResponse } from '../../src/dimse/messages.js';
import { ServiceError } from '../../src/dimse/service-error.js';
import {
  formatStatus, isCancel, isCompleted, isDefinedStatus, isFailure, isPending, isSuccess, isWarning, Status, statusCategory,
  statusMeaning, type StatusCategory,
} from '../../src/dimse/status.js';

/** PS3.7 Annex C's table, written out range by range as the reference. */
function referenceCategory(code: number): StatusCategory | 'undefined' {
  const hex = code.toString(16).toUpperCase().padStart(4, '0');
  if (hex === '0000') return 'Success';
  if (hex === '0001' || hex[0] === 'B' || hex === '0107' || hex === '0116') return 'Warning';
  if (hex[0] === 'A' || hex[0] === 'C' || hex.startsWith('01') || hex.startsWith('02')) return 'Failure';
  if (hex === 'FE00') return 'Cancel';
  if (hex === 'FF00' || hex === 'FF01') return 'Pending';
  return 'undefined';
}

test('every 16-bit code falls in the class PS3.7 Annex C gives it; codes it does not define count as failures', () => {
  const counts: Record<string, number> = {};
  for (let code = 0; code <= 0xffff; code++) {
    const ref = referenceCategory(code);
    const got = statusCategory(code);
    assert.equal(got, ref === 'undefined' ? 'Failure' : ref, formatStatus(code));
    assert.equal(isDefinedStatus(code), ref !== 'undefined', formatStatus(code));
    const predicates = [isSuccess(code), isWarning(code), isFailure(code), isCancel(code), isPending(code)];
    assert.equal(predicates.filter(Boolean).length, 1, `exactly one class for ${formatStatus(code)}`);
    assert.equal(isCompleted(code), got === 'Success' || got === 'Warning');
    counts[ref] = (counts[ref] ?? 0) + 1;
  }
  // 0000; 0001 + B000-BFFF + 0107 + 0116; A/C + 0100-02FF minus the two warnings; FE00; FF00 FF01.
  assert.deepEqual(counts, { Success: 1, Warning: 1 + 4096 + 2, Failure: 2 * 4096 + 512 - 2, Cancel: 1, Pending: 2, undefined: 65536 - 1 - 4099 - 8702 - 1 - 2 });
});

test('spot checks of each class', () => {
  const cases: Array<[number, StatusCategory]> = [
    [0x0000, 'Success'], [0x0001, 'Warning'], [0xb000, 'Warning'], [0xb007, 'Warning'], [0xbfff, 'Warning'], [0x0107, 'Warning'], [0x0116, 'Warning'],
    [0xa700, 'Failure'], [0xa801, 'Failure'], [0xa900, 'Failure'], [0xc000, 'Failure'], [0xcfff, 'Failure'], [0x0110, 'Failure'], [0x0111, 'Failure'],
    [0x0112, 'Failure'], [0x0122, 'Failure'], [0x0211, 'Failure'], [0x0106, 'Failure'], [0x0117, 'Failure'],
    [0xfe00, 'Cancel'], [0xff00, 'Pending'], [0xff01, 'Pending'],
    [0xff02, 'Failure'], [0xfe01, 'Failure'], [0x0002, 'Failure'], [0x0300, 'Failure'], [0x8000, 'Failure'],
  ];
  for (const [code, category] of cases) assert.equal(statusCategory(code), category, formatStatus(code));
});

test('named statuses carry the values of the standard', () => {
  assert.equal(Status.RefusedOutOfResources, 0xa700);
  assert.equal(Status.ErrorDataSetDoesNotMatchSOPClass, 0xa900);
  assert.equal(Status.ErrorCannotUnderstand, 0xc000);
  assert.equal(Status.RefusedSOPClassNotSupported, 0x0122);
  assert.equal(Status.DuplicateSOPInstance, 0x0111);
  assert.equal(Status.RefusedMoveDestinationUnknown, 0xa801);
  assert.equal(Status.SubOperationsCompleteOneOrMoreFailures, 0xb000);
  assert.equal(Status.Cancel, 0xfe00);
  assert.equal(Status.PendingWarning, 0xff01);
});

test('meanings come from the service first, then from Annex C, then from the class', () => {
  assert.equal(statusMeaning(0xa700, 'C-STORE'), 'Refused: Out of Resources');
  assert.equal(statusMeaning(0xa7f3, 'C-STORE'), 'Refused: Out of Resources');
  assert.equal(statusMeaning(0xa900, 'C-STORE'), 'Error: Data Set does not match SOP Class');
  assert.equal(statusMeaning(0xc123, 'C-STORE'), 'Error: Cannot understand');
  assert.equal(statusMeaning(0xb000, 'C-STORE'), 'Warning: Coercion of Data Elements');
  assert.equal(statusMeaning(0xb000, 'C-MOVE'), 'Warning: Sub-operations complete - one or more failures');
  assert.equal(statusMeaning(0xa801, 'C-MOVE'), 'Refused: Move Destination unknown');
  assert.equal(statusMeaning(0xa801, 'C-GET'), 'Failure');
  assert.equal(statusMeaning(0xa900, 'C-FIND'), 'Failed: Identifier does not match SOP Class');
  assert.equal(statusMeaning(0xff01, 'C-FIND'), 'Pending: Matches are continuing - one or more Optional Keys were not supported');
  assert.equal(statusMeaning(0xfe00, 'C-GET'), 'Cancel: Sub-operations terminated due to Cancel indication');
  assert.equal(statusMeaning(0x0111), 'Duplicate SOP Instance');
  assert.equal(statusMeaning(0x0122, 'C-STORE'), 'Refused: SOP Class not supported');
  assert.equal(statusMeaning(0x0211), 'Unrecognized operation');
  assert.equal(statusMeaning(0xb123), 'Warning');
  assert.equal(statusMeaning(0xa123), 'Failure');
  assert.equal(statusMeaning(0x1234), 'Failure (a value PS3.7 Annex C does not define)');
  // Without a service: only what all services agree on.
  assert.equal(statusMeaning(0xa700), 'Refused: Out of Resources');
  assert.equal(statusMeaning(0xb000), 'Warning');
  assert.equal(statusMeaning(0xa900), 'Failure');
  assert.equal(statusMeaning(0xa801), 'Refused: Move Destination unknown');
});

test('DimseStatus: a value with its class, meaning and Annex C detail', () => {
  const rsp: DimseResponse = {
    type: 'C-STORE-RSP', messageIdBeingRespondedTo: 3, status: 0xa700, errorComment: 'disk full', offendingElement: [0x7fe00010],
  };
  const status = DimseStatus.fromResponse(decodeCommand(encodeCommand(rsp)) as DimseResponse);
  assert.equal(status.code, 0xa700);
  assert.equal(status.category, 'Failure');
  assert.equal(status.service, 'C-STORE');
  assert.equal(status.isFailure, true);
  assert.equal(status.isSuccess || status.isWarning || status.isPending || status.isCancel || status.isCompleted, false);
  assert.equal(status.meaning, 'Refused: Out of Resources');
  assert.equal(status.description, 'A700H Refused: Out of Resources (disk full; offending (7FE0,0010))');
  assert.equal(String(status), status.description);

  const ok = new DimseStatus(0, { service: 'C-ECHO' });
  assert.equal(ok.isSuccess && ok.isCompleted, true);
  assert.equal(ok.description, '0000H Success');
  const pending = new DimseStatus(0xff00, { service: 'C-MOVE' });
  assert.equal(pending.isPending, true);
  assert.equal(pending.description, 'FF00H Pending: Sub-operations are continuing');
  const warn = new DimseStatus(0x0107, { detail: { attributeIdentifierList: [0x00100010], errorId: 4 } });
  assert.equal(warn.isWarning && warn.isCompleted, true);
  assert.equal(warn.description, '0107H Warning: Attribute list error (error ID 4; attributes (0010,0010))');
});

test('ServiceError carries the status and detail the dispatcher puts in the response', () => {
  const e = new ServiceError(Status.RefusedOutOfResources, 'disk full', { offendingElement: [0x7fe00010], errorId: 2 });
  assert.ok(e instanceof Error);
  assert.equal(e.name, 'ServiceError');
  assert.equal(e.message, 'A700H Refused: Out of Resources: disk full');
  assert.deepEqual(e.responseFields(), { status: 0xa700, errorComment: 'disk full', offendingElement: [0x7fe00010], errorId: 2 });
  const rsp = decodeCommand(encodeCommand({ type: 'C-STORE-RSP', messageIdBeingRespondedTo: 1, ...e.responseFields() }));
  assert.deepEqual(rsp, { type: 'C-STORE-RSP', messageIdBeingRespondedTo: 1, status: 0xa700, errorComment: 'disk full', offendingElement: [0x7fe00010], errorId: 2, commandDataSetType: 0x0101 });

  assert.deepEqual(new ServiceError(Status.Cancel).responseFields(), { status: 0xfe00 });
  assert.deepEqual(new ServiceError(Status.WarningCoercionOfDataElements).responseFields(), { status: 0xb000 });
  for (const bad of [0x0000, 0xff00, 0xff01, -1, 0x10000]) {
    assert.throws(() => new ServiceError(bad), (x: unknown) => x instanceof DicomError && x.code === 'ERR_DICOM_INVALID_ARGUMENT');
  }
});

test('ServiceError.from maps what a handler threw to the service\'s generic failure, hiding its message unless asked', () => {
  const own = new ServiceError(Status.DuplicateSOPInstance);
  assert.equal(ServiceError.from(own, 'C-STORE'), own);
  const boom = new Error('ENOENT: /var/lib/secret/x.dcm');
  const store = ServiceError.from(boom, 'C-STORE');
  assert.equal(store.status, Status.ProcessingFailure);
  assert.equal(store.cause, boom);
  assert.equal(store.errorComment, undefined);
  assert.equal(ServiceError.from(boom, 'C-FIND').status, 0xc000);
  assert.equal(ServiceError.from(boom, 'C-MOVE').status, 0xc000);
  assert.equal(ServiceError.from(boom, 'C-GET').status, 0xc000);
  assert.equal(ServiceError.from(boom, 'N-ACTION').status, 0x0110);
  assert.equal(ServiceError.from(boom, 'C-STORE', { exposeMessage: true }).errorComment, boom.message);
  assert.equal(ServiceError.from('a string', 'C-ECHO').status, 0x0110);
});
