/**
 * Interop with DCMTK (Debian package dcmtk): its echoscu and storescu as requestors against this
 * acceptor, and its storescp (run in --inetd mode on a connection handed over by the test, so no
 * port race) as acceptor for this requestor. DIMSE commands are hand-built byte strings here (the
 * Upper Layer carries bytes; the command codec is src/dimse's). Outside CI a missing DCMTK skips.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { AssociationListener, openAssociation } from '../../src/upper-layer/index.js';
import type { AcceptancePolicy, Association, PresentationDataValue } from '../../src/upper-layer/index.js';
import { peer, PYDICOM_DATA } from '../helpers/peers.js';
import { CT_IMAGE_STORAGE, EXPLICIT_LE, IMPLEMENTATION_UID, IMPLICIT_LE, VERIFICATION } from './fixtures.js';
import { deferred, withTimeout } from './wire-helpers.js';

const skip = peer('dcmtk');
const CT_SMALL = `${PYDICOM_DATA}/test_files/CT_small.dcm`;
const TIMEOUT = 15_000;

// --- a minimal command set codec for the test: Implicit VR Little Endian, group 0000 (PS3.7 §E.1) ---

type CommandValue = string | number;

function command(elements: Array<[number, CommandValue]>): Uint8Array {
  const parts: Buffer[] = [];
  for (const [element, value] of elements) {
    let v: Buffer;
    if (typeof value === 'string') {
      v = Buffer.from(value.length % 2 ? `${value}\0` : value, 'latin1');
    } else {
      v = Buffer.alloc(2);
      v.writeUInt16LE(value);
    }
    const h = Buffer.alloc(8);
    h.writeUInt16LE(0x0000, 0);
    h.writeUInt16LE(element, 2);
    h.writeUInt32LE(v.length, 4);
    parts.push(h, v);
  }
  const body = Buffer.concat(parts);
  const groupLength = Buffer.alloc(12);
  groupLength.writeUInt32LE(0x00000000, 0);
  groupLength.writeUInt32LE(4, 4);
  groupLength.writeUInt32LE(body.length, 8);
  return Buffer.concat([groupLength, body]);
}

function parseCommand(bytes: Uint8Array): Map<number, Buffer> {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<number, Buffer>();
  for (let at = 0; at + 8 <= b.length;) {
    const element = b.readUInt16LE(at + 2);
    const length = b.readUInt32LE(at + 4);
    out.set(element, b.subarray(at + 8, at + 8 + length));
    at += 8 + length;
  }
  return out;
}

const uidOf = (v: Buffer | undefined): string => (v ?? Buffer.alloc(0)).toString('latin1').replace(/\0+$/, '');

/** Answers C-ECHO-RQ and C-STORE-RQ on an association, as a bare-bones SCP. */
function serve(a: Association, stored: { bytes: number }): void {
  let pending: Map<number, Buffer> | undefined;
  a.on('pdata', (pdvs: PresentationDataValue[]) => {
    for (const p of pdvs) {
      if (p.isCommand) {
        assert.ok(p.isLast, 'commands here fit one PDV');
        const cmd = parseCommand(p.data);
        const field = cmd.get(0x0100)!.readUInt16LE();
        const messageId = cmd.get(0x0110)!.readUInt16LE();
        if (field === 0x0030) {
          void a.sendPData([{ presentationContextId: p.presentationContextId, isCommand: true, isLast: true, data: command([
            [0x0002, uidOf(cmd.get(0x0002))], [0x0100, 0x8030], [0x0120, messageId], [0x0800, 0x0101], [0x0900, 0x0000],
          ]) }]);
        } else if (field === 0x0001) {
          pending = cmd;
        }
      } else {
        stored.bytes += p.data.length;
        if (p.isLast && pending !== undefined) {
          const cmd = pending;
          pending = undefined;
          void a.sendPData([{ presentationContextId: p.presentationContextId, isCommand: true, isLast: true, data: command([
            [0x0002, uidOf(cmd.get(0x0002))], [0x0100, 0x8001], [0x0120, cmd.get(0x0110)!.readUInt16LE()], [0x0800, 0x0101], [0x0900, 0x0000],
            [0x1000, uidOf(cmd.get(0x1000))],
          ]) }]);
        }
      }
    }
  });
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    child.on('close', (code) => resolve({ code, output }));
  });
}

const POLICY: AcceptancePolicy = {
  abstractSyntaxes: {
    [VERIFICATION]: { transferSyntaxes: [EXPLICIT_LE, IMPLICIT_LE] },
    [CT_IMAGE_STORAGE]: { transferSyntaxes: [EXPLICIT_LE, IMPLICIT_LE] },
  },
  calledAeTitle: (t) => t === 'CONDUIT',
  maximumLength: 65536,
  implementationClassUid: IMPLEMENTATION_UID,
};

async function withListener(body: (port: number, released: Promise<void>, stored: { bytes: number }) => Promise<void>): Promise<void> {
  const listener = await AssociationListener.listen({ host: '127.0.0.1', policy: POLICY });
  const released = deferred<void>();
  const stored = { bytes: 0 };
  listener.on('association', (a) => {
    serve(a, stored);
    a.on('released', () => released.resolve());
    a.on('aborted', (e) => released.reject(e));
  });
  try {
    await body(listener.address().port, released.promise, stored);
  } finally {
    await listener.close({ abort: true });
  }
}

test('DCMTK echoscu -> this acceptor: C-ECHO and release', { skip }, async () => {
  await withListener(async (port, released) => {
    const r = await run('echoscu', ['-aec', 'CONDUIT', '-aet', 'ECHOSCU', '127.0.0.1', String(port)]);
    assert.equal(r.code, 0, r.output);
    await withTimeout(released, TIMEOUT, 'release');
  });
});

test('DCMTK echoscu proposing 128 presentation contexts of 38 transfer syntaxes each', { skip }, async () => {
  await withListener(async (port, released) => {
    const r = await run('echoscu', ['-aec', 'CONDUIT', '-ppc', '128', '-pts', '38', '127.0.0.1', String(port)]);
    assert.equal(r.code, 0, r.output);
    await withTimeout(released, TIMEOUT, 'release');
  });
});

test('DCMTK echoscu to an unknown called AE title is rejected (1/1/7)', { skip }, async () => {
  await withListener(async (port) => {
    const r = await run('echoscu', ['-v', '-aec', 'SOMEONE', '127.0.0.1', String(port)]);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /Called AE Title Not Recognized/i);
  });
});

test('DCMTK storescu -> this acceptor: a CT image in 16 KiB PDUs', { skip: skip ?? (existsSync(CT_SMALL) ? undefined : 'pydicom test files not installed') }, async () => {
  await withListener(async (port, released, stored) => {
    const r = await run('storescu', ['-aec', 'CONDUIT', '-pdu', '16384', '127.0.0.1', String(port), CT_SMALL]);
    assert.equal(r.code, 0, r.output);
    await withTimeout(released, TIMEOUT, 'release');
    assert.ok(stored.bytes > 30_000, `${stored.bytes} data set bytes received`);
  });
});

test('this requestor -> DCMTK storescp (--inetd): negotiation, C-ECHO, release', { skip }, async () => {
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    const child = spawn('storescp', ['--inetd', '-aet', 'STORESCP', '-od', '/tmp'], { stdio: [socket, socket, 'ignore'] });
    child.on('error', () => undefined);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const a = await openAssociation({
      host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, callingAeTitle: 'CONDUIT', calledAeTitle: 'STORESCP',
      presentationContexts: [
        { abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] },
        { abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [EXPLICIT_LE, IMPLICIT_LE] },
        { abstractSyntax: '1.2.3.4.5.6', transferSyntaxes: [IMPLICIT_LE] },
      ],
      roleSelections: [{ sopClassUid: CT_IMAGE_STORAGE, scuRole: true, scpRole: false }],
      implementationClassUid: IMPLEMENTATION_UID, implementationVersionName: 'CONDUIT_TEST',
    });
    assert.equal(a.accept.userInformation.implementationVersionName?.startsWith('OFFIS_DCMTK'), true);
    assert.equal(a.peerMaximumLength > 0, true);
    assert.deepEqual([...a.presentationContexts.values()].map((p) => p.result), [0, 0, 3]);
    const response = deferred<Map<number, Buffer>>();
    a.on('pdata', (pdvs) => response.resolve(parseCommand(pdvs[0]!.data)));
    await a.sendPData([{ presentationContextId: 1, isCommand: true, isLast: true, data: command([
      [0x0002, VERIFICATION], [0x0100, 0x0030], [0x0110, 7], [0x0800, 0x0101],
    ]) }]);
    const rsp = await withTimeout(response.promise, TIMEOUT, 'C-ECHO-RSP');
    assert.equal(rsp.get(0x0100)!.readUInt16LE(), 0x8030);
    assert.equal(rsp.get(0x0120)!.readUInt16LE(), 7);
    assert.equal(rsp.get(0x0900)!.readUInt16LE(), 0);
    await a.release();
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
