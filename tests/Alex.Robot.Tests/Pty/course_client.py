#!/usr/bin/env python3
"""An independent serial client for `alex sim --pty`: standard library only, nothing from AlexLink.

Opens the device as the course's Pi server would (raw, 9600 8N1), writes the frames the course
server sent in the recorded session (uninitialised bytes included, as the Arduino received them),
some split over several writes and one after a stray noise byte, and checks that the replies are
byte for byte the Arduino's recorded replies (../shared/vectors/alex_vectors.json, PROTOCOL.md §2-3).

usage: course_client.py DEVICE VECTORS_JSON      exit 0: all replies matched; 1: a mismatch (printed)
"""
import json
import os
import select
import struct
import sys
import termios
import time

REPLY_TIMEOUT = 5.0


def raw_9600(fd):
    # cfmakeraw by hand, then 9600 baud 8N1, no flow control.
    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = termios.tcgetattr(fd)
    iflag &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP
               | termios.INLCR | termios.IGNCR | termios.ICRNL | termios.IXON | termios.IXOFF)
    oflag &= ~termios.OPOST
    lflag &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    cflag &= ~(termios.CSIZE | termios.PARENB | termios.CSTOPB | termios.CRTSCTS)
    cflag |= termios.CS8 | termios.CREAD | termios.CLOCAL
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, [iflag, oflag, cflag, lflag, termios.B9600, termios.B9600, cc])


def frame(packet_type, command, p0=0, p1=0):
    """A course frame built from PROTOCOL.md §1-2 alone: magic, size 100, packet, padding, XOR."""
    packet = struct.pack("<BBxx32s16I", packet_type, command, b"", p0, p1, *([0] * 14))
    checksum = 0
    for b in packet:
        checksum ^= b
    return struct.pack("<II", 0xFCFDFEFF, 100) + packet + bytes(28) + bytes([checksum]) + bytes(3)


def read_exactly(fd, n):
    out = b""
    deadline = time.monotonic() + REPLY_TIMEOUT
    while len(out) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            out += os.read(fd, n - len(out))
    return out


def main():
    device, vectors_path = sys.argv[1], sys.argv[2]
    with open(vectors_path) as f:
        v = json.load(f)
    hexof = lambda i: bytes.fromhex(v[i]["hex"])

    fd = os.open(device, os.O_RDWR | os.O_NOCTTY)
    raw_9600(fd)
    failures = []

    def exchange(name, chunks, expected):
        for i, chunk in enumerate(chunks):
            os.write(fd, chunk)
            if i + 1 < len(chunks):
                time.sleep(0.02)  # a split write: the pieces arrive separately
        want = b"".join(expected)
        got = read_exactly(fd, len(want))
        if got != want:
            failures.append(f"{name}: expected {want.hex()} got {got.hex()}")
        print(f"{'ok  ' if got == want else 'FAIL'} {name}")

    # Our own frames must be what the course server sends, canonically (garbage zeroed).
    assert frame(0, 0, 50, 75).hex() == v[66]["hex"], "frame() disagrees with vector 66"

    exchange("HELLO (no reply)", [hexof(0)], [])
    exchange("f 50 75", [hexof(2)], [hexof(3)])
    exchange("b 30 60, split in two", [hexof(6)[:70], hexof(6)[70:]], [hexof(7)])
    exchange("l 90 80, split in three", [hexof(10)[:3], hexof(10)[3:100], hexof(10)[100:]], [hexof(11)])
    exchange("r 45 70", [hexof(14)], [hexof(15)])
    exchange("s", [hexof(18)], [hexof(19)])
    exchange("c", [hexof(28)], [hexof(29)])
    exchange("g after clear: OK then STATUS of zeros", [hexof(32)], [hexof(33), hexof(35)])
    exchange("F 10 100", [hexof(38)], [hexof(39)])
    exchange("bad magic", [hexof(45)], [hexof(46)])
    exchange("bad checksum", [hexof(50)], [hexof(51)])
    exchange("unknown command 99", [hexof(55)], [hexof(56)])
    exchange("stray byte, then s", [b"\x55" + frame(0, 4)], [hexof(76), hexof(19)])
    exchange("s 1 byte at a time", [bytes([b]) for b in frame(0, 4)[:10]] + [frame(0, 4)[10:]], [hexof(19)])

    # Nothing more may follow.
    extra = read_exactly(fd, 1) if select.select([fd], [], [], 0.3)[0] else b""
    if extra:
        failures.append(f"unexpected extra bytes: {extra.hex()}")
    os.close(fd)

    for f in failures:
        print(f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
