/**
 * Maximum Length 0 means no limit (PS3.8 Annex D.1): an SCP that announces it takes a P-DATA-TF of
 * any PDU-length, the way pynetdicom sends to such a peer (a whole data set in one PDV). A DIMSE
 * association streams the P-DATA-TF body, so no buffer of that size is made; the Upper Layer
 * gathers at most UNLIMITED_PDU_LENGTH_BOUND bytes of a P-DATA-TF it is not streaming.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DATA_SET_PRESENT, encodeCommand, type DimseMessage } from '../../src/dimse/index.js';
import { PduFramer, PduError, PduType, UNLIMITED_PDU_LENGTH_BOUND, encodePdu } from '../../src/upper-layer/index.js';
import { CT_IMAGE_STORAGE, IMPLICIT_LE, pdv, sampleRq } from '../upper-layer/fixtures.js';
import { RawPeer, withTimeout } from '../upper-layer/wire-helpers.js';
import { startServer } from './helpers.js';

test('an SCP announcing Maximum Length 0 takes a P-DATA-TF longer than the gathering bound, streamed to its handler', async (t) => {
  let received = 0;
  const { port, close } = await startServer({
    aeTitle: 'SCP',
    maxPduLength: 0,
    handlers: {
      store: async (req) => {
        for await (const chunk of req.dataSet) received += chunk.length;
      },
    },
  });
  t.after(close);
  const p = await RawPeer.connect(port);
  t.after(() => p.destroy());
  p.send(encodePdu(sampleRq({ presentationContexts: [{ id: 1, abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [IMPLICIT_LE] }] })));
  const ac = await p.nextPdu();
  assert.equal(ac.type, PduType.AAssociateAc);
  // One data set fragment past the bound: (7FE0,0010) OW of the rest, in one PDV of one P-DATA-TF.
  const size = UNLIMITED_PDU_LENGTH_BOUND + 1024;
  const data = Buffer.alloc(size);
  data.writeUInt16LE(0x7fe0, 0);
  data.writeUInt16LE(0x0010, 2);
  data.writeUInt32LE(size - 8, 4);
  const command = encodeCommand({ type: 'C-STORE-RQ', messageId: 1, affectedSopClassUid: CT_IMAGE_STORAGE, affectedSopInstanceUid: '1.2.3.4.5', priority: 0, commandDataSetType: DATA_SET_PRESENT } as unknown as DimseMessage);
  p.send(encodePdu({ type: PduType.PDataTf, presentationDataValues: [pdv(1, command)] }));
  const header = Buffer.alloc(12);
  header[0] = PduType.PDataTf;
  header.writeUInt32BE(6 + size, 2);
  header.writeUInt32BE(2 + size, 6);
  header[10] = 1;
  header[11] = 0x02; // data set, last fragment
  p.send(header);
  p.send(data);
  const rsp = await withTimeout(p.nextPdu(20_000), 20_000, 'the C-STORE-RSP');
  assert.equal(rsp.type, PduType.PDataTf, `PDU type ${rsp.type} (${[...rsp.body].join(',')})`);
  assert.equal(received, size);
});

test('a framer announcing no limit streams a P-DATA-TF of any length, and gathers one only up to the bound', () => {
  const length = UNLIMITED_PDU_LENGTH_BOUND + 6;
  const header = Buffer.alloc(12);
  header[0] = PduType.PDataTf;
  header.writeUInt32BE(length, 2);
  header.writeUInt32BE(length - 4, 6);
  header[10] = 1;
  header[11] = 0x02;
  const streaming = new PduFramer({ maxPduLength: 0 });
  let bytes = 0;
  streaming.push(header, () => assert.fail('not gathered'), (pieces) => {
    for (const piece of pieces) bytes += piece.data.length;
  });
  const chunk = Buffer.alloc(1 << 20);
  for (let left = length - 6; left > 0; left -= chunk.length) {
    streaming.push(chunk.subarray(0, Math.min(left, chunk.length)), () => assert.fail('not gathered'), (pieces) => {
      for (const piece of pieces) bytes += piece.data.length;
    });
  }
  assert.equal(bytes, length - 6);
  const gathering = new PduFramer({ maxPduLength: 0 });
  assert.throws(() => gathering.push(header, () => assert.fail('not delivered')), (e: unknown) => e instanceof PduError && e.abortReason === 6 && e.code === 'ERR_DICOM_PDU_TOO_LARGE');
});
