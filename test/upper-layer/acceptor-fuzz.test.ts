/**
 * Byte-level fuzzing, with a bounded run time, of the PDU framer and of a live association acceptor.
 * The inputs are random bytes and mutations of a valid A-ASSOCIATE-RQ (bytes changed, cut, inserted,
 * with the PDU-length left as it was or fixed up so that the item decoder is reached). What must
 * hold whatever comes (PS3.8 §9.2, Table 9-10; §9.3):
 * - the framer throws nothing but PduErrors, buffers no more than a PDU header and its limits allow,
 *   and drops all input after an error;
 * - the acceptor answers with an A-ASSOCIATE-AC, an A-ASSOCIATE-RJ whose result and source are
 *   values of Table 9-21, or an A-ABORT with source 2 and a reason of Table 9-26, or says nothing;
 *   without an association it closes the connection by itself (ARTIM, §9.1.5), keeps no connection
 *   afterwards, and goes on serving normal associations.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AssociationListener, PduError, PduFramer, PduType, encodePdu, openAssociation } from '../../src/upper-layer/index.js';
import type { AcceptancePolicy, Association } from '../../src/upper-layer/index.js';
import { CT_IMAGE_STORAGE, EXPLICIT_LE, IMPLEMENTATION_UID, IMPLICIT_LE, VERIFICATION, fullRq, sampleRq } from './fixtures.js';
import { RawPeer, withTimeout } from './wire-helpers.js';

const ARTIM_MS = 250;
const MAX_PDU = 4096;
const MAX_ASSOCIATE_PDU = 8192;

const POLICY: AcceptancePolicy = {
  abstractSyntaxes: {
    [VERIFICATION]: { transferSyntaxes: [IMPLICIT_LE] },
    [CT_IMAGE_STORAGE]: { transferSyntaxes: [EXPLICIT_LE, IMPLICIT_LE], roles: { scu: true, scp: true } },
  },
  maximumLength: MAX_PDU,
  implementationClassUid: IMPLEMENTATION_UID,
  asynchronousOperationsWindow: { maximumNumberOperationsInvoked: 4, maximumNumberOperationsPerformed: 1 },
  sopClassExtendedNegotiation: () => Uint8Array.of(1),
  userIdentity: (identity) => ({ accept: identity.primaryField.length > 0 }),
};

const VALID_RQS = [encodePdu(sampleRq()), encodePdu(fullRq())];

/** A mutation of a valid A-ASSOCIATE-RQ: [kind, position (modulo the length), value]. */
const mutation = fc.tuple(fc.constantFrom('set', 'cut', 'insert', 'drop'), fc.integer({ min: 0, max: 1 << 16 }), fc.integer({ min: 0, max: 255 }));

/** Random bytes, or a mutated valid A-ASSOCIATE-RQ (its PDU-length fixed up or not). */
const input = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 600 }),
  fc.tuple(fc.constantFrom(...VALID_RQS), fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.boolean()).map(([rq, mutations, fixLength]) => {
    let bytes = Array.from(rq);
    for (const [kind, where, value] of mutations) {
      const at = where % bytes.length;
      if (kind === 'set') bytes[at] = value;
      else if (kind === 'cut') bytes = bytes.slice(0, Math.max(1, at));
      else if (kind === 'insert') bytes.splice(at, 0, value, value ^ 0x55);
      else bytes.splice(at, 1 + (value % 8));
    }
    const out = Uint8Array.from(bytes.length > 0 ? bytes : [1]);
    if (fixLength && out.length >= 6) new DataView(out.buffer).setUint32(2, out.length - 6);
    return out;
  }),
);

test('framer: arbitrary bytes in arbitrary chunks: only PduErrors, bounded buffering, and nothing after an error', () => {
  fc.assert(fc.property(input, fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 20 }), (bytes, sizes) => {
    const framer = new PduFramer({ maxPduLength: MAX_PDU, maxAssociatePduLength: MAX_ASSOCIATE_PDU });
    let failed = false;
    let at = 0;
    for (let i = 0; at < bytes.length; i++) {
      const n = sizes.length > 0 ? sizes[i % sizes.length]! : bytes.length;
      const chunk = bytes.subarray(at, at + n);
      at += n;
      let delivered = 0;
      try {
        framer.push(chunk, () => {
          delivered++;
        });
      } catch (e) {
        assert.ok(e instanceof PduError, `threw ${String(e)}`);
        failed = true;
      }
      if (failed && !framer.isFailed) assert.fail('an error left the framer working');
      if (failed) {
        // Dropped: nothing more is delivered, nothing buffered, nothing thrown.
        framer.push(Uint8Array.of(5, 0, 0, 0, 0, 4, 0, 0, 0, 0), () => assert.fail('a PDU delivered after an error'));
        assert.equal(framer.buffered, 0);
        break;
      }
      assert.ok(framer.buffered <= 6 + MAX_ASSOCIATE_PDU, `${framer.buffered} bytes buffered`);
      assert.ok(delivered >= 0);
    }
  }), { numRuns: 3000, interruptAfterTimeLimit: 8000 });
});

let listener: AssociationListener;

before(async () => {
  listener = await AssociationListener.listen({
    host: '127.0.0.1', policy: POLICY, maxPduLength: MAX_PDU, maxAssociatePduLength: MAX_ASSOCIATE_PDU, timeouts: { artim: ARTIM_MS },
  });
  listener.on('association', (a: Association) => {
    a.on('aborted', () => undefined);
  });
});
after(() => listener.close({ abort: true }));

async function waitForNoConnections(): Promise<void> {
  await withTimeout((async () => {
    while (listener.connectionCount > 0) await new Promise((r) => setTimeout(r, 10));
  })(), 3000, `the listener to hold no connection (${listener.connectionCount} left)`);
}

test('acceptor: arbitrary and mutated A-ASSOCIATE-RQs get a PS3.8 answer or none, the connection is closed by ARTIM, and the listener goes on', async () => {
  let runs = 0;
  const answers = new Map<string, number>();
  const one = async (bytes: Uint8Array): Promise<void> => {
    runs++;
    const p = await RawPeer.connect(listener.address().port);
    p.send(bytes);
    let answer = 'none';
    try {
      const pdu = await p.nextPdu(ARTIM_MS + 2000);
      if (pdu.type === PduType.AAssociateAc) {
        answer = 'AC';
      } else if (pdu.type === PduType.AAssociateRj) {
        answer = 'RJ';
        // PS3.8 Table 9-21: result 1 or 2, source 1-3.
        assert.equal(pdu.body.length, 4);
        assert.ok([1, 2].includes(pdu.body[1]!) && [1, 2, 3].includes(pdu.body[2]!), `A-ASSOCIATE-RJ ${[...pdu.body].join('/')}`);
      } else if (pdu.type === PduType.AAbort) {
        answer = `A-ABORT 2/${pdu.body[3]}`;
        // PS3.8 Table 9-26: the provider aborts with source 2 and a reason it defines.
        assert.equal(pdu.body.length, 4);
        assert.equal(pdu.body[2], 2);
        assert.ok([0, 1, 2, 4, 5, 6].includes(pdu.body[3]!), `A-ABORT reason ${pdu.body[3]}`);
      } else {
        assert.fail(`answered with PDU type ${pdu.type}`);
      }
    } catch (e) {
      if (!p.closedYet) throw e;
    }
    answers.set(answer, (answers.get(answer) ?? 0) + 1);
    // An established association waits for its requestor; anything else is the acceptor's to close.
    if (answer === 'AC') p.destroy();
    await p.waitClosed(ARTIM_MS + 2000);
  };
  // Several connections at once per run: the ARTIM waits overlap.
  await fc.assert(fc.asyncProperty(fc.array(input, { minLength: 1, maxLength: 8 }), async (inputs) => {
    await Promise.all(inputs.map(one));
  }), { numRuns: 100, interruptAfterTimeLimit: 10_000 });
  await waitForNoConnections();
  const a = await openAssociation({
    host: '127.0.0.1', port: listener.address().port, callingAeTitle: 'GOOD', calledAeTitle: 'ANY-SCP',
    presentationContexts: [{ abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }], implementationClassUid: IMPLEMENTATION_UID,
  });
  assert.equal(a.findPresentationContext(VERIFICATION)?.transferSyntax, IMPLICIT_LE);
  await a.release();
  if (process.env.FUZZ_VERBOSE) console.log(runs, [...answers]);
  assert.ok(runs >= 10, `only ${runs} inputs tried`);
  // The inputs reached more than one answer (not all refused at the first byte, say).
  assert.ok(answers.size >= 2, `answers: ${JSON.stringify([...answers])}`);
});
