"""dig/kdig and raw packets against the embedded authoritative server (fc-dns-fixture)."""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ=="
c = peers.Checks()
records = [("www.fleet.test.", "A", 60, "192.0.2.1"),
           ("alias.fleet.test.", "CNAME", 60, "www.fleet.test."),
           ("a.b.c.fleet.test.", "TXT", 60, '"deep"'),
           ("fleet.test.", "CAA", 300, '0 issue "letsencrypt.org"')]
records += [("big.fleet.test.", "TXT", 60, '"%s-%03d"' % ("x" * 180, i)) for i in range(40)]
records += [("ws%04d.fleet.test." % i, "A", 60, "10.%d.%d.1" % (i // 250, i % 250)) for i in range(3000)]
fx = peers.Fixture(peers.zone(records=records), ["--axfr-allow", "127.0.0.2/32",
                                                  "--tsig", "hmac-sha256:xfr-key:" + SECRET,
                                                  "--tcp-idle-ms", "1500"])
P = fx.port

out = peers.dig(P, "www.fleet.test", "A")
c.check(peers.status(out) == "NOERROR" and "aa" in peers.flags(out), "A answer is authoritative", out)
c.check("ra" not in peers.flags(out) and "rd" in peers.flags(out), "RD echoed, RA clear (never recursing)", out)
c.check(peers.answers(out) == [("www.fleet.test.", 60, "A", "192.0.2.1")], "A record content", out)

out = peers.dig(P, "nope.fleet.test", "A")
auth = out.split("AUTHORITY SECTION:")[-1] if "AUTHORITY SECTION:" in out else ""
c.check(peers.status(out) == "NXDOMAIN" and "SOA" in auth and "\t30\tIN\tSOA" in auth,
        "NXDOMAIN with SOA, negative TTL = min(minimum, SOA TTL)", out)
out = peers.dig(P, "www.fleet.test", "AAAA")
c.check(peers.status(out) == "NOERROR" and not peers.answers(out) and "AUTHORITY SECTION" in out,
        "NODATA with SOA", out)
out = peers.dig(P, "b.c.fleet.test", "TXT")
c.check(peers.status(out) == "NOERROR" and "AUTHORITY SECTION" in out, "empty non-terminal is NODATA", out)
out = peers.dig(P, "example.com", "A")
c.check(peers.status(out) == "REFUSED" and "aa" not in peers.flags(out), "REFUSED outside the zone", out)
out = peers.dig(P, "alias.fleet.test", "A")
c.check([a[2] for a in peers.answers(out)] == ["CNAME", "A"], "CNAME chased inside the zone", out)
out = peers.dig(P, "WWW.FLEET.TEST", "A")
c.check(len(peers.answers(out)) == 1, "names are case-insensitive", out)

# Size limits: 512 without EDNS, the EDNS buffer size honoured, TC then TCP.
out = peers.dig(P, "big.fleet.test", "TXT", "+ignore", "+noedns")
c.check("tc" in peers.flags(out) and not peers.answers(out), "TC over UDP without EDNS", out)
out = peers.dig(P, "big.fleet.test", "TXT", "+ignore", "+bufsize=4096")
c.check("tc" in peers.flags(out), "TC when the answer exceeds our 1232-byte ceiling", out)
out = peers.dig(P, "big.fleet.test", "TXT", "+tcp")
c.check(len(peers.answers(out)) == 40 and "tc" not in peers.flags(out), "full answer over TCP", out)
out = peers.dig(P, "big.fleet.test", "TXT")
c.check(len(peers.answers(out)) == 40, "dig retries over TCP after TC", out)
out = peers.dig(P, "fleet.test", "NS", "+bufsize=512")
c.check("udp: 1232" in out and "ns1.fleet.test." in out.split("ADDITIONAL SECTION:")[-1],
        "OPT echoed with our size; glue for the in-zone NS", out)
resp = peers.udp_exchange(P, peers.raw_query("big.fleet.test", 16, edns=600))
c.check(resp is not None and len(resp) <= 600 and resp[2] & 0x02, "EDNS buffer 600 → answer ≤ 600 bytes with TC")

out = peers.dig(P, "www.fleet.test", "ANY")
c.check(peers.status(out) == "NOERROR" and len(peers.answers(out)) == 1, "ANY is minimal (RFC 8482)", out)
out = peers.kdig(P, "fleet.test", "ANY")
c.check("NOERROR" in out and out.count("\tIN\t") <= 3, "kdig ANY minimal", out)

# Opcodes and malformed packets.
out = peers.dig(P, "+opcode=2", "fleet.test", "SOA")
c.check(peers.status(out) == "NOTIMP", "NOTIMP for opcode STATUS (dig +opcode)", out)
resp = peers.udp_exchange(P, peers.raw_query("fleet.test", 6, opcode=5))
c.check(resp is not None and peers.rcode_of(resp) == 4, "NOTIMP for UPDATE (raw)")
resp = peers.udp_exchange(P, b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01")
c.check(resp is not None and peers.rcode_of(resp) == 1 and resp[:2] == b"\x12\x34", "FORMERR on a pointer loop")
resp = peers.udp_exchange(P, b"\x12\x34\x00\x00\x00\x01" + b"\x00" * 6 + b"\xffgarbage")
c.check(resp is not None and peers.rcode_of(resp) == 1, "FORMERR on garbage")
c.check(peers.udp_exchange(P, b"\x01\x02\x03", timeout=0.5) is None, "packet shorter than a header dropped")

# Transfers.
out = peers.dig(P, "fleet.test", "AXFR")
c.check("Transfer failed" in out, "AXFR refused to a client outside the allow-list", out)
out = peers.dig(P, "fleet.test", "AXFR", "-b", "127.0.0.2")
lines = [l for l in out.splitlines() if l and not l.startswith(";")]
c.check(len(lines) == 3000 + 40 + 4 + 2 + 2 and "SOA" in lines[0] and "SOA" in lines[-1],
        "AXFR from an allowed address: SOA first and last", out[-500:])
msgs = [l for l in out.splitlines() if "XFR size" in l]
c.check(msgs and int(msgs[0].split("messages")[1].split(",")[0]) > 1, "large AXFR spans several messages", msgs)
out = peers.dig(P, "fleet.test", "AXFR", "-y", "hmac-sha256:xfr-key:" + SECRET)
c.check("XFR size: 3048 records" in out and "Transfer failed" not in out, "TSIG-signed AXFR verified by dig", out[-400:])
out = peers.kdig(P, "fleet.test", "AXFR", "-y", "hmac-sha256:xfr-key:" + SECRET)
c.check("3048 records" in out and ";; WARNING" not in out, "TSIG-signed AXFR verified by kdig", out[-400:])
out = peers.dig(P, "fleet.test", "AXFR", "-y", "hmac-sha256:xfr-key:d3Jvbmctd3Jvbmctd3Jvbmc=")
c.check("BADSIG" in out or "Transfer failed" in out, "wrong TSIG secret refused", out[-400:])
out = peers.kdig(P, "fleet.test", "IXFR=0", "-b", "127.0.0.2")
c.check("3048 records" in out, "IXFR answered with a full AXFR-style transfer (kdig)", out[-300:])
out = peers.dig(P, "fleet.test", "IXFR=1", "-b", "127.0.0.2")
lines = [l for l in out.splitlines() if l and not l.startswith(";")]
c.check(len(lines) == 1 and "SOA" in lines[0], "IXFR with the current serial: just the SOA (RFC 1995 §2)", out[-300:])
resp = peers.udp_exchange(P, peers.raw_query("fleet.test", 252))
c.check(resp is not None and peers.rcode_of(resp) in (1, 5), "AXFR over UDP refused")

# TCP: several queries on one connection, then the idle timeout closes it.
s = socket.create_connection(("127.0.0.1", P), timeout=5)
got = []
for i in range(3):
    peers.tcp_send(s, peers.raw_query("www.fleet.test", 1, qid=100 + i))
for i in range(3):
    r = peers.tcp_recv(s)
    got.append(struct.unpack(">H", r[:2])[0] if r else None)
c.check(got == [100, 101, 102], "three pipelined queries on one TCP connection", got)
t0 = time.monotonic()
s.settimeout(10)
closed = peers.tcp_recv(s) is None
c.check(closed and time.monotonic() - t0 < 6, "idle TCP connection closed by the server")
s.close()
peers.stop(fx.proc)

# Connection cap and response rate limiting on a second instance.
fx2 = peers.Fixture(peers.zone(records=records[:4]), ["--rrl", "5", "--max-tcp", "2", "--tcp-idle-ms", "3000"])
conns = [socket.create_connection(("127.0.0.1", fx2.port), timeout=3) for _ in range(3)]
time.sleep(0.3)
third = conns[2]
peers.tcp_send(third, peers.raw_query("www.fleet.test", 1))
try:
    r = peers.tcp_recv(third)
except (ConnectionResetError, socket.timeout):
    r = None
peers.tcp_send(conns[0], peers.raw_query("www.fleet.test", 1))
c.check(r is None and peers.tcp_recv(conns[0]) is not None, "TCP connection cap sheds the third connection")
for x in conns:
    x.close()
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(0.3)
t_start = time.monotonic()
for i in range(40):
    sock.sendto(peers.raw_query("www.fleet.test", 1, qid=i), ("127.0.0.1", fx2.port))
send_time = time.monotonic() - t_start
full = tc = 0
try:
    while True:
        r = sock.recv(4096)
        if r[2] & 0x02:
            tc += 1
        else:
            full += 1
except socket.timeout:
    pass
budget = 5 + int(send_time * 5) + 1  # burst + refill while we were sending
c.check(5 <= full <= budget and tc >= (40 - budget) // 2 - 1,
        "RRL 5/s: ~5 answers, every 2nd dropped one slips with TC (full=%d tc=%d, sent in %.2fs)" % (full, tc, send_time))
c.done()
