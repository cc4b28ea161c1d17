#!/usr/bin/env python3
"""Dead-man, silent driver: time from a driver's last frame to the STOP frame on the serial line.

Independent of our client code (python3 ssl, AlexLink/1 frames written by hand from docs/protocol.md).
Needs `alex sim --pty --link TTY --baud 115200 2> SIMLOG` and
`alex serve --pki DIR --allow laptop --serial TTY --baud 115200 --lease-ms 1500 --listen 127.0.0.1:PORT`.
Usage: python3 bench/silent-driver.py PKI_DIR PORT SIMLOG [RUNS]
The driver heartbeats once (so the dead-man applies), takes the lease, sends `f 0 50` (until stopped)
and then sends nothing, keeping the connection open (Wi-Fi gone, no FIN, no RST).
"""
import datetime, socket, ssl, statistics, struct, sys, time

pki, port, simlog = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 6
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(pki + "/signing.pem")
ctx.load_cert_chain(pki + "/laptop.crt", pki + "/laptop.key")
ctx.set_alpn_protocols(["alexlink/1"])


def frame(kind, request_id, payload=b""):
    return struct.pack("<HBBI", len(payload), kind, 0, request_id) + payload


def stops():
    with open(simlog) as f:
        return [line for line in f if "COMMAND Stop" in line]


results = []
for run in range(runs):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
    before = len(stops())
    s.sendall(frame(0x22, 1, struct.pack("<q", 1)))                  # Heartbeat
    s.sendall(frame(0x24, 2))                                        # TakeLease
    s.sendall(frame(0x20, 3, struct.pack("<B3xII", 0, 0, 50)))       # Command FORWARD 0 50
    last = datetime.datetime.now()
    deadline = time.time() + 6
    while len(stops()) == before and time.time() < deadline:
        time.sleep(0.005)
    new = stops()[before:]
    if not new:
        print(f"run {run}: no STOP within 6 s")
        s.close()
        continue
    at = datetime.datetime.combine(last.date(), datetime.datetime.strptime(new[0][:12], "%H:%M:%S.%f").time())
    ms = (at - last).total_seconds() * 1000
    results.append(ms)
    print(f"run {run}: STOP on the line {ms:.0f} ms after the driver's last frame", flush=True)
    s.close()
    time.sleep(0.5)

if results:
    print(f"runs {len(results)}, median {statistics.median(results):.0f} ms, max {max(results):.0f} ms (goal: lease 1500 + 50 ms)")
sys.exit(0 if len(results) == runs else 1)
