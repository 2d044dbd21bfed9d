#!/usr/bin/python3
"""Per-cycle timing of window-1 C-STORE traffic on the loopback interface (a benchmark aid, not a test).

    sudo /usr/bin/python3 bench/net/cycles.py PORT_LO PORT_HI [PORT=LABEL ...]   # SIGINT or SIGTERM to stop

Captures TCP on `lo` whose source or destination port lies in PORT_LO..PORT_HI (an AF_PACKET socket
with a classic BPF filter: no tcpdump needed; root), follows the PDU stream of each direction (PS3.8
Section 9.3: PDU type, length; P-DATA-TF items: length, context id, message control header) without
copying the data PDVs, reads the Command Field of each command set, and for every connection that
carries C-STORE-RQs prints, per cycle, in microseconds (median, 90th percentile):

  turn    C-STORE-RSP seen on the wire -> the first byte of the next C-STORE-RQ (the sender's turnaround)
  write   first -> last byte of that C-STORE-RQ (command + data set) on the wire
  recv    last byte of the C-STORE-RQ -> the C-STORE-RSP (the receiver's turn)
  cycle   C-STORE-RSP -> next C-STORE-RSP

The timestamps are the kernel's, taken when a segment leaves the sender's socket (outgoing copies
only, PACKET_OUTGOING), so the three steps sum to the cycle. A connection is named by the LABEL of
its server port when given; at the end a table gives, per label, the median over its connections
of each step's median.
"""
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26
SO_TIMESTAMPNS = 35
PACKET_OUTGOING = 4


def bpf(lo, hi):
    """Outgoing copies only (on lo each packet is seen twice), IPv4, TCP, source or destination port in lo..hi."""
    SKF_AD_PKTTYPE = 0xfffff000 + 4
    ins = [
        (0x20, 0, 0, SKF_AD_PKTTYPE), (0x15, 0, 12, PACKET_OUTGOING),  # 0-1: ld pkttype; jeq OUTGOING else drop
        (0x28, 0, 0, 12), (0x15, 0, 10, 0x0800),                       # 2-3: ldh [12]; jeq IPv4 else drop
        (0x30, 0, 0, 23), (0x15, 0, 8, 6),                             # 4-5: ldb [23]; jeq TCP else drop
        (0xb1, 0, 0, 14),                                              # 6: ldxb 4*([14]&0xf)
        (0x48, 0, 0, 14), (0x35, 0, 1, lo), (0x25, 0, 3, hi),          # 7-9: ldh [x+14] (source port); in lo..hi: accept
        (0x48, 0, 0, 16), (0x35, 0, 2, lo), (0x25, 1, 0, hi),          # 10-12: ldh [x+16] (destination port); in lo..hi: accept
        (0x06, 0, 0, 0x40000),                                         # 13: accept (256 KiB)
        (0x06, 0, 0, 0),                                               # 14: drop
    ]
    return b''.join(struct.pack('HBBI', *i) for i in ins), len(ins)


class Direction:
    """The PDU stream of one direction; events appended as (time, kind, detail)."""

    def __init__(self, events):
        self.events = events
        self.need = 6          # bytes wanted into hdr
        self.hdr = bytearray()
        self.state = 'pdu'     # pdu | item | body | skip | cmd
        self.pdu_left = 0
        self.item_left = 0
        self.cmd = bytearray()
        self.mch = 0
        self.pdu_start = None
        self.next_seq = None
        self.gaps = 0

    def feed(self, t, data):
        i, n = 0, len(data)
        while i < n:
            if self.state in ('pdu', 'item'):
                take = min(self.need - len(self.hdr), n - i)
                if self.state == 'pdu' and not self.hdr:
                    self.pdu_start = t
                self.hdr += data[i:i + take]
                i += take
                if len(self.hdr) < self.need:
                    continue
                if self.state == 'pdu':
                    ptype, length = self.hdr[0], struct.unpack('>I', self.hdr[2:6])[0]
                    self.hdr = bytearray()
                    if ptype == 4:
                        self.pdu_left = length
                        self.events.append((self.pdu_start, 'pdu', 4))
                        self.state, self.need = 'item', 6
                    else:
                        self.events.append((self.pdu_start, 'pdu', ptype))
                        self.state, self.skip = 'skip', length
                else:
                    length = struct.unpack('>I', self.hdr[0:4])[0]
                    self.mch = self.hdr[5]
                    self.hdr = bytearray()
                    self.pdu_left -= 6
                    self.item_left = length - 2
                    self.state = 'cmd' if self.mch & 1 else 'body'
                    if self.item_left == 0:
                        self._item_end(t)
            elif self.state == 'skip':
                take = min(self.skip, n - i)
                self.skip -= take
                i += take
                if self.skip == 0:
                    self.state, self.need = 'pdu', 6
            else:
                take = min(self.item_left, n - i)
                if self.state == 'cmd':
                    self.cmd += data[i:i + take]
                i += take
                self.item_left -= take
                self.pdu_left -= take
                if self.item_left == 0:
                    self._item_end(t)

    def _item_end(self, t):
        if self.mch & 2:  # last fragment
            if self.mch & 1:
                self.events.append((t, 'cmd', command_field(bytes(self.cmd))))
                self.cmd = bytearray()
            else:
                self.events.append((t, 'data', 0))
        if self.pdu_left <= 0:
            self.state, self.need = 'pdu', 6
        else:
            self.state, self.need = 'item', 6


def command_field(cmd):
    i = 0
    while i + 8 <= len(cmd):
        group, element, length = struct.unpack('<HHI', cmd[i:i + 8])
        if group == 0 and element == 0x0100:
            return struct.unpack('<H', cmd[i + 8:i + 10])[0]
        i += 8 + length
    return -1


def pct(xs, p):
    if not xs:
        return float('nan')
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


LABELS = {}
SUMMARY = {}


def report(key, conn):
    a, b = conn['dirs']
    # The sender is the side whose stream holds C-STORE-RQs (0x0001).
    for snd, rcv, sname in ((a, b, key[0]), (b, a, key[1])):
        rqs = [e for e in snd.events if e[1] == 'cmd' and e[2] == 0x0001]
        if len(rqs) < 3:
            continue
        # Walk the sender's events: C-STORE-RQ first byte = the start of the PDU that begins it.
        sev, rev = snd.events, rcv.events
        rq_first, rq_last, cur_first, in_rq = [], [], None, False
        msg_first = None
        for t, kind, d in sev:
            if kind == 'pdu' and d != 4:
                msg_first = None
                continue
            if kind == 'pdu' and msg_first is None:
                msg_first = t
            if kind == 'cmd':
                if d == 0x0001:
                    cur_first = msg_first
                    in_rq = True
                else:
                    msg_first = None
                    continue
            if kind == 'data' and in_rq:
                rq_first.append(cur_first)
                rq_last.append(t)
                in_rq = False
                msg_first = None
        rsps = [t for t, kind, d in rev if kind == 'cmd' and d == 0x8001]
        turn, write, recv, cycle = [], [], [], []
        j = 0
        for k in range(len(rq_first)):
            write.append(rq_last[k] - rq_first[k])
            while j < len(rsps) and rsps[j] < rq_last[k]:
                j += 1
            if j < len(rsps):
                recv.append(rsps[j] - rq_last[k])
                if k + 1 < len(rq_first):
                    turn.append(rq_first[k + 1] - rsps[j])
                    cycle.append(rsps[j + 1] - rsps[j] if j + 1 < len(rsps) else float('nan'))
        cycle = [c for c in cycle if c == c]
        span = (rsps[-1] - rq_first[0]) if rsps else float('nan')
        other = sorted({d for t, kind, d in sev if kind == 'cmd' and d != 0x0001})
        us = lambda xs, p: pct(xs, p) * 1e6
        print(f'{sname} -> {key[1] if sname == key[0] else key[0]}: {len(rq_first)} C-STORE-RQ, {len(rsps)} RSP, '
              f'first RQ -> last RSP {span:.3f} s; other commands sent: {[hex(x) for x in other]}'
              + (f'; bytes missed (capture drops) {snd.gaps} / {rcv.gaps} times' if snd.gaps or rcv.gaps else ''))
        label = LABELS.get(key[0]) or LABELS.get(key[1]) or 'other'
        if len(rsps) == len(rq_first):
            SUMMARY.setdefault(label, []).append([us(xs, 0.5) for xs in (turn, write, recv, cycle)])
        print(f'  [{label}]')
        for name, xs in (('turn', turn), ('write', write), ('recv', recv), ('cycle', cycle)):
            print(f'  {name:5s} median {us(xs, 0.5):8.0f} us  p90 {us(xs, 0.9):8.0f} us  mean {sum(xs) / max(1, len(xs)) * 1e6:8.0f} us  n={len(xs)}')
        sys.stdout.flush()


def main():
    lo, hi = int(sys.argv[1]), int(sys.argv[2])
    for arg in sys.argv[3:]:
        port, label = arg.split('=', 1)
        LABELS[int(port)] = label
    duration = 1e9
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, 33, 256 << 20)  # SO_RCVBUFFORCE (root): no drops while parsing
    prog, count = bpf(lo, hi)
    import ctypes
    buf = ctypes.create_string_buffer(prog)
    fprog = struct.pack('HL', count, ctypes.addressof(buf))
    s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind(('lo', 0))
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    signal.signal(signal.SIGINT, lambda *_: stop.__setitem__(0, True))
    s.settimeout(0.5)
    conns = {}
    end = time.time() + duration
    print(f'capturing ports {lo}-{hi}', file=sys.stderr)
    sys.stderr.flush()
    while not stop[0] and time.time() < end:
        try:
            data, anc, _flags, addr = s.recvmsg(0x40000, 64)
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        if addr[2] != PACKET_OUTGOING:
            continue
        t = None
        for level, typ, val in anc:
            if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                sec, ns = struct.unpack('qq', val[:16])
                t = sec + ns / 1e9
        ihl = (data[14] & 0xf) * 4
        tcp = 14 + ihl
        sport, dport = struct.unpack('>HH', data[tcp:tcp + 4])
        off = ((data[tcp + 12] >> 4) * 4)
        payload = memoryview(data)[tcp + off:]
        tot = struct.unpack('>H', data[16:18])[0]
        payload = payload[:tot - ihl - off]
        key = (min(sport, dport), max(sport, dport))
        flags = data[tcp + 13]
        if flags & 0x02 and not flags & 0x10:  # SYN: a new connection on these ports
            if key in conns:
                report((conns[key]['a'], conns[key]['b']), conns.pop(key))
            conns[key] = {'a': sport, 'b': dport, 'dirs': (Direction([]), Direction([]))}
            continue
        conn = conns.get(key)
        if conn is None or not len(payload):
            continue
        d = conn['dirs'][0] if sport == conn['a'] else conn['dirs'][1]
        # Retransmissions (a tail loss probe resends the last segment when the ACK is late, as on a
        # loaded machine) carry bytes already parsed: only new bytes are fed.
        seq = struct.unpack('>I', data[tcp + 4:tcp + 8])[0]
        if d.next_seq is not None:
            behind = (d.next_seq - seq) & 0xffffffff
            if behind < 0x80000000:
                if behind >= len(payload):
                    continue
                payload = payload[behind:]
                seq = d.next_seq
            else:
                d.gaps += 1
        d.next_seq = (seq + len(payload)) & 0xffffffff
        d.feed(t, payload)
    for key, conn in conns.items():
        report((conn['a'], conn['b']), conn)
    print('\n| sender -> receiver | connections | turn us | write us | receiver us | cycle us |')
    print('| --- | ---: | ---: | ---: | ---: | ---: |')
    for label, rows in SUMMARY.items():
        med = [sorted(r[i] for r in rows)[len(rows) // 2] for i in range(4)]
        print(f'| {label} | {len(rows)} | ' + ' | '.join(f'{m:.0f}' for m in med) + ' |')


if __name__ == '__main__':
    main()
