#!/usr/bin/env python3
"""Write compose/pcap/sample.pcap, the capture the compose profile "arkime" imports.

Deterministic (fixed times and addresses; tests/compose/check_compose.py regenerates it and
compares bytes). The campus is 131.206.0.0/16, as in detector/rules.example.ini. Contents:
  - benign: 6 clients with complete TCP conversations to 2 servers (HTTPS, SSH);
  - address sweep: 131.206.5.66 sends one SYN to port 445 of 40 hosts (address_sweep,
    address_sweep_port at the default threshold 25);
  - port scan: 131.206.5.77 sends one SYN to 30 ports of 131.206.2.20 (port_scan, threshold 15);
  - the misconfigured router: single-packet TCP sessions between private addresses outside the
    campus (rule private_leak of detector/rules.example.ini).
Probes get no answer, as in a real scan. Usage: make_sample_pcap.py [OUTPUT]
"""
import os
import struct
import sys

T0 = 1716026400  # 2024-05-18T10:00:00Z


def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _ip(a):
    return bytes(int(x) for x in a.split("."))


def tcp_frame(src, dst, sport, dport, flags, seq=0, ack=0, payload=b""):
    s, d = _ip(src), _ip(dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0) + payload
    pseudo = s + d + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", _csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, s, d)
    ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    eth = bytes.fromhex("020000000002" "020000000001") + struct.pack("!H", 0x0800)
    return eth + ip + tcp


SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


def packets():
    out = []  # (time in microseconds, frame)

    def add(t, frame):
        out.append((int(round(t * 1e6)), frame))

    # benign conversations: handshake, request, response, FIN both ways
    t = T0
    for i, (client, server, port) in enumerate([
            ("131.206.1.10", "131.206.2.20", 443), ("131.206.1.11", "131.206.2.20", 443),
            ("131.206.1.12", "131.206.2.21", 22), ("131.206.1.13", "131.206.2.20", 443),
            ("131.206.1.14", "131.206.2.21", 22), ("131.206.1.15", "131.206.2.20", 443)]):
        sp = 40000 + i
        t = T0 + 5 * i
        add(t, tcp_frame(client, server, sp, port, SYN, seq=1000))
        add(t + 0.001, tcp_frame(server, client, port, sp, SYN | ACK, seq=5000, ack=1001))
        add(t + 0.002, tcp_frame(client, server, sp, port, ACK, seq=1001, ack=5001))
        add(t + 0.010, tcp_frame(client, server, sp, port, PSH | ACK, 1001, 5001, b"x" * 120))
        add(t + 0.020, tcp_frame(server, client, port, sp, PSH | ACK, 5001, 1121, b"y" * 900))
        add(t + 0.030, tcp_frame(client, server, sp, port, FIN | ACK, 1121, 5901))
        add(t + 0.031, tcp_frame(server, client, port, sp, FIN | ACK, 5901, 1122))
        add(t + 0.032, tcp_frame(client, server, sp, port, ACK, 1122, 5902))
    # address sweep on 445
    for i in range(40):
        add(T0 + 40 + 0.5 * i, tcp_frame("131.206.5.66", "131.206.3.%d" % (i + 1), 50000 + i, 445, SYN))
    # port scan of one host
    for i in range(30):
        add(T0 + 70 + 0.3 * i, tcp_frame("131.206.5.77", "131.206.2.20", 51000 + i, 20 + i, SYN))
    # leaked private traffic (neither end in 131.206.0.0/16), one packet each
    for i in range(3):
        add(T0 + 90 + i, tcp_frame("192.168.7.%d" % (10 + i), "10.20.30.40", 52000 + i, 8080, SYN))
    out.sort(key=lambda p: p[0])
    return out


def pcap_bytes():
    buf = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]  # LINKTYPE_ETHERNET
    for us, frame in packets():
        buf.append(struct.pack("<IIII", us // 1000000, us % 1000000, len(frame), len(frame)))
        buf.append(frame)
    return b"".join(buf)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "pcap", "sample.pcap")
    with open(path, "wb") as f:
        f.write(pcap_bytes())
    print(path)


if __name__ == "__main__":
    main()
