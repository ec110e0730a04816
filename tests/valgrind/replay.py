#!/usr/bin/env python3
"""Replay fuzz_qnetd sessions (tests/fuzz/corpus-qnetd, regress inputs)
against a running qnetd over TCP, so the daemon under valgrind sees the
same protocol abuse as the fuzzer: bad messages, messages out of order,
STARTTLS followed by plaintext, clients leaving mid-session.

usage: replay.py PORT FILE...

Records of the fuzzer's input (see tests/fuzz/fuzz_qnetd.c): after two
configuration bytes (ignored: the daemon has its own), [op][len][bytes]
for client op & 3 when op < 0xa0, else a one-byte event: 0xa0|k closes
client k; time and pause events are ignored.  Replies are read and
dropped.  Exits 1 if the daemon stops accepting connections.
"""
import select
import socket
import sys


def drain(socks, wait):
    live = [s for s in socks if s is not None]
    while live:
        r, _, _ = select.select(live, [], [], wait)
        if not r:
            return
        for s in r:
            try:
                if not s.recv(65536):
                    live.remove(s)
            except OSError:
                live.remove(s)
        wait = 0


def replay(port, data):
    socks = [None] * 4
    off = 2
    while off < len(data):
        op = data[off]
        off += 1
        k = op & 3
        if op < 0xa0:
            if off >= len(data):
                break
            n = data[off]
            off += 1
            chunk = data[off:off + n]
            off += n
            if socks[k] is None:
                socks[k] = socket.create_connection(("127.0.0.1", port),
                                                    timeout=30)
            try:
                socks[k].sendall(chunk)
            except OSError:
                # The server dropped it: the next bytes reconnect.
                socks[k].close()
                socks[k] = None
            drain(socks, 0.002)
        elif op < 0xc0 and socks[k] is not None:
            socks[k].close()
            socks[k] = None
    drain(socks, 0.05)
    for s in socks:
        if s is not None:
            s.close()


def main():
    port = int(sys.argv[1])
    for name in sys.argv[2:]:
        with open(name, "rb") as f:
            data = f.read()
        try:
            replay(port, data)
        except (ConnectionRefusedError, socket.timeout) as e:
            sys.exit("replay.py: %s: %s" % (name, e))


if __name__ == "__main__":
    main()
