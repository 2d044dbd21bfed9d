/**
 * Unit tests of `conduit serve`'s configuration (src/server/config.ts) as a user writes it: a
 * config file that is not a JSON object, and peers (C-MOVE destinations) whose AE title, host or
 * port cannot work, are refused at start with the setting named, not at the first C-MOVE.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parsePeer } from '../../src/server/config.js';

function withConfigFile(text: string, fn: (file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-config-'));
  try {
    const file = join(dir, 'conduit.json');
    writeFileSync(file, text);
    fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a config file that is not a JSON object is refused, naming the file', () => {
  for (const text of ['null', '[]', '42', '"peers"']) {
    withConfigFile(text, (file) => {
      assert.throws(() => loadConfig({ configFile: file, env: {} }), (e: Error) => {
        assert.match(e.message, /configuration: config file: .*conduit\.json: not a JSON object/, `${text}: ${e.message}`);
        return true;
      });
    });
  }
  withConfigFile('{"aeTitle":"FILE"}', (file) => assert.equal(loadConfig({ configFile: file, env: {} }).aeTitle, 'FILE'));
});

test('peers given as objects in a file are checked like --peer: AE title, host, port', () => {
  const bad: [unknown, RegExp][] = [
    [{ name: 'a', aeTitle: 'A', host: 'h', port: 0 }, /port 0 is not 1 to 65535/],
    [{ name: 'a', aeTitle: 'A', host: 'h', port: 70000 }, /port 70000 is not 1 to 65535/],
    [{ name: 'a', aeTitle: 'A', host: 'h', port: 104.5 }, /port 104.5 is not 1 to 65535/],
    [{ name: 'a', aeTitle: 'AN AE TITLE TOO LONG', host: 'h', port: 104 }, /"AN AE TITLE TOO LONG" is not an AE title/],
    [{ name: 'a', aeTitle: '   ', host: 'h', port: 104 }, /is not an AE title/],
    [{ name: 'a', aeTitle: 'A\\B', host: 'h', port: 104 }, /is not an AE title/],
    [{ name: 'a', aeTitle: 'A', host: '', port: 104 }, /no host/],
  ];
  for (const [peer, message] of bad) {
    withConfigFile(JSON.stringify({ peers: [peer] }), (file) => {
      assert.throws(() => loadConfig({ configFile: file, env: {} }), (e: Error) => {
        assert.match(e.message, /configuration: peers \(in .*conduit\.json\): /, e.message);
        assert.match(e.message, message, e.message);
        return true;
      });
    });
  }
  withConfigFile(JSON.stringify({ peers: [{ name: 'v', aeTitle: 'VIEWER', host: '10.0.0.7', port: 104 }] }), (file) => {
    assert.deepEqual(loadConfig({ configFile: file, env: {} }).peers, [{ name: 'v', aeTitle: 'VIEWER', host: '10.0.0.7', port: 104 }]);
  });
});

test('--peer: an AE title too long is named as such; an IPv6 address in brackets is taken without them', () => {
  assert.throws(() => parsePeer('x=AN_AE_TITLE_TOO_LONG@host:104'), /"AN_AE_TITLE_TOO_LONG" is not an AE title/);
  assert.throws(() => parsePeer('x=AET@host'), /is not NAME=AET@HOST:PORT/);
  assert.deepEqual(parsePeer('pacs=PACS@[::1]:11112'), { name: 'pacs', aeTitle: 'PACS', host: '::1', port: 11112 });
});

test('sopClasses and transferSyntaxes in a file: UIDs of their kind, or the server stops naming the value; maxAssociations at least 1', () => {
  const bad: [string, RegExp][] = [
    ['{"sopClasses": ["CT"]}', /configuration: sopClasses: "CT" is not a UID/],
    ['{"sopClasses": ["1.2.840.10008.5.1.4.1.1.2 "]}', /sopClasses: "1\.2\.840\.10008\.5\.1\.4\.1\.1\.2 " is not a UID/],
    ['{"sopClasses": ["1.2.840.10008.5.1.4.1.2.2.1"]}', /sopClasses: 1\.2\.840\.10008\.5\.1\.4\.1\.2\.2\.1 \(Study Root Query\/Retrieve Information Model - FIND\) is not a Storage SOP Class/],
    ['{"transferSyntaxes": ["1.2.840.10008.5.1.4.1.1.2"]}', /transferSyntaxes: 1\.2\.840\.10008\.5\.1\.4\.1\.1\.2 \(CT Image Storage\) is not a Transfer Syntax/],
    ['{"transferSyntaxes": "ExplicitVRLittleEndian"}', /transferSyntaxes: "ExplicitVRLittleEndian" is not a UID/],
    ['{"maxAssociations": 0}', /maxAssociations: 0: at least 1/],
  ];
  for (const [text, message] of bad) {
    withConfigFile(text, (file) => assert.throws(() => loadConfig({ configFile: file, env: {} }), message, text));
  }
  withConfigFile('{"sopClasses": ["1.2.840.10008.5.1.4.1.1.2", "1.2.826.0.1.3680043.8.498.1"], "transferSyntaxes": "1.2.840.10008.1.2.1,1.2.840.10008.1.2"}', (file) => {
    const c = loadConfig({ configFile: file, env: {} });
    assert.deepEqual(c.sopClasses, ['1.2.840.10008.5.1.4.1.1.2', '1.2.826.0.1.3680043.8.498.1'], 'a private SOP Class UID is taken');
    assert.deepEqual(c.transferSyntaxes, ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2']);
  });
});

test('a peer reached over TLS: "+tls" after the port, or "tls": true in a file; anything else near it is refused in words', () => {
  assert.deepEqual(parsePeer('dest=STORESCP@pacs.example.org:2762+tls'), { name: 'dest', aeTitle: 'STORESCP', host: 'pacs.example.org', port: 2762, tls: true });
  assert.deepEqual(parsePeer('v6=PACS@[fd00::7]:104+tls'), { name: 'v6', aeTitle: 'PACS', host: 'fd00::7', port: 104, tls: true });
  assert.equal(parsePeer('plain=PACS@host:104').tls, undefined, 'no suffix: plain TCP');
  assert.throws(() => parsePeer('x=PACS@host:104+TLS'), /configuration: peer: "\+TLS" in "x=PACS@host:104\+TLS" is not \+tls, the one suffix a peer takes/);
  assert.throws(() => parsePeer('x=PACS@host:104+ssl'), /"\+ssl" .* is not \+tls/);
  assert.throws(() => parsePeer('x=PACS@host:104 tls'), /is not NAME=AET@HOST:PORT \(or NAME=AET@HOST:PORT\+tls\)/);
  const env = { CONDUIT_PEERS: 'a=A@h1:104+tls,b=B@h2:105' };
  assert.deepEqual(loadConfig({ env }).peers.map((p) => p.tls === true), [true, false], 'CONDUIT_PEERS takes the suffix too');

  withConfigFile(JSON.stringify({ peers: [{ name: 'd', aeTitle: 'DEST', host: 'h', port: 104, tls: true }, 'e=E@h:105+tls'] }), (file) => {
    assert.deepEqual(loadConfig({ configFile: file, env: {} }).peers, [
      { name: 'd', aeTitle: 'DEST', host: 'h', port: 104, tls: true },
      { name: 'e', aeTitle: 'E', host: 'h', port: 105, tls: true },
    ]);
  });
  const bad: [unknown, RegExp][] = [
    [{ name: 'd', aeTitle: 'DEST', host: 'h', port: 104, tls: 'yes' }, /configuration: peers \(in .*conduit\.json\): d: tls is "yes", not true or false/],
    [{ name: 'd', aeTitle: 'DEST', host: 'h', port: 104, TLS: true }, /configuration: peers \(in .*conduit\.json\): d: unknown key "TLS" \(a peer has name, aeTitle, host, port, tls\)/],
    [{ name: 'd', aeTitle: 'DEST', host: 'h', port: 104, ssl: true }, /unknown key "ssl"/],
  ];
  for (const [peer, message] of bad) {
    withConfigFile(JSON.stringify({ peers: [peer] }), (file) => assert.throws(() => loadConfig({ configFile: file, env: {} }), message));
  }
});

test('tlsCa and tlsNoVerify serve TLS peers without a TLS DIMSE port; httpTlsKey and httpTlsCert go together', () => {
  const tlsPeer = ['d=DEST@h:104+tls'];
  assert.deepEqual(loadConfig({ flags: { peers: tlsPeer, tlsCa: ['/ca.pem'] }, env: {} }).tlsCa, ['/ca.pem']);
  assert.equal(loadConfig({ flags: { peers: tlsPeer, tlsNoVerify: true }, env: {} }).tlsNoVerify, true);
  assert.throws(() => loadConfig({ flags: { peers: ['d=DEST@h:104'], tlsCa: ['/ca.pem'] }, env: {} }),
    /configuration: tlsCa: needs tlsKey and tlsCert \(the DIMSE port speaks TLS only with them\) or a peer reached over TLS \(\+tls\)/);
  assert.throws(() => loadConfig({ flags: { httpTlsKey: '/k.pem' }, env: {} }), /configuration: httpTlsCert: missing: httpTlsKey and httpTlsCert go together/);
  assert.throws(() => loadConfig({ env: { CONDUIT_HTTP_TLS_CERT: '/c.pem' } }), /configuration: httpTlsKey: missing: httpTlsKey and httpTlsCert go together/);
  const c = loadConfig({ env: { CONDUIT_HTTP_TLS_KEY: '/k.pem', CONDUIT_HTTP_TLS_CERT: '/c.pem' } });
  assert.deepEqual([c.httpTlsKey, c.httpTlsCert, c.tlsKey], ['/k.pem', '/c.pem', ''], 'HTTPS alone: the DIMSE port stays plain');
});

test('two peers with one AE title are refused: a C-MOVE names its destination by AE title only (PS3.4 C.4.2.1.3)', () => {
  assert.throws(() => loadConfig({ flags: { peers: ['a=VIEWER@10.0.0.7:104', 'b=VIEWER@10.0.0.8:104'] }, env: {} }), (e: Error) => {
    assert.match(e.message, /configuration: peers: AE title "VIEWER" is given to two peers \(a and b\)/);
    return true;
  });
  assert.throws(() => loadConfig({ flags: { peers: ['a=VIEWER@10.0.0.7:104', 'b=VIEWER @10.0.0.8:104'] }, env: {} }), /AE title "VIEWER"/,
    'trailing spaces of an AE title are padding (PS3.5 Table 6.2-1)');
  assert.equal(loadConfig({ flags: { peers: ['a=VIEWER@10.0.0.7:104', 'b=VIEWER2@10.0.0.7:104'] }, env: {} }).peers.length, 2);
});

test('a bad value names where it came from: the environment variable, the config file; a misspelt setting gets its likely name', () => {
  assert.throws(() => loadConfig({ env: { CONDUIT_DIMSE_PORT: 'abc' } }), (e: Error) => {
    assert.equal(e.message, 'configuration: dimsePort (from CONDUIT_DIMSE_PORT): "abc" is not a non-negative integer');
    return true;
  });
  withConfigFile('{"duplicatePolicy": "sometimes", "dimsePort": "x"}', (file) => {
    assert.throws(() => loadConfig({ configFile: file, env: {} }), (e: Error) => {
      assert.equal(e.message, `configuration: dimsePort (in ${file}): "x" is not a non-negative integer`);
      return true;
    });
  });
  withConfigFile('{"dimseport": 104}', (file) => {
    assert.throws(() => loadConfig({ configFile: file, env: {} }), (e: Error) => {
      assert.equal(e.message, `configuration: dimseport: unknown setting in ${file} (dimsePort?)`);
      return true;
    });
  });
});
