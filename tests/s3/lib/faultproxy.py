#!/usr/bin/python3
# An HTTP CONNECT proxy for the upload tests that can cut tunnels on purpose
# (after N bytes client-to-server, or server-to-client, with an RST) and
# records what it relayed.
#
# usage: faultproxy.py --listen PORT [--port-file F] [--map HOST=IP]...
#          [--drop-after N | --drop-down-after N] [--drops K] [--stats F]
#          [--require-auth USER:PASS]
# TLS inside a tunnel is relayed as bytes: the proxy never sees plaintext.
# Standard library only; run it with /usr/bin/python3. SIGTERM ends it.
import argparse
import base64
import fcntl
import json
import os
import select
import signal
import socket
import struct
import sys
import termios
import threading
import time

HEAD_MAX = 64 * 1024
CHUNK = 256 * 1024
CONNECT_TIMEOUT = 10


class Stats:
    """Counters shared by the tunnel threads, written to --stats as JSON
    (temp file + rename) after every change, before the change has any
    effect a client could see, so a test never reads a stale file."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.data = {"tunnels": 0, "dropped": 0, "bytes_up": 0, "bytes_down": 0,
                     "connects": [], "open": 0, "rejected": 0}
        with self.lock:
            self._write()

    def _write(self):
        if not self.path:
            return
        tmp = "%s.tmp.%d" % (self.path, os.getpid())
        with open(tmp, "w") as f:
            json.dump(self.data, f)
            f.write("\n")
        os.replace(tmp, self.path)

    def add(self, key, n=1):
        with self.lock:
            self.data[key] += n
            self._write()

    def opened(self, target):
        with self.lock:
            self.data["tunnels"] += 1
            self.data["open"] += 1
            self.data["connects"].append(target)
            self._write()

    def claim_drop(self, budget):
        """One of the --drops budget, or False when all are used."""
        with self.lock:
            if self.data["dropped"] >= budget:
                return False
            self.data["dropped"] += 1
            self._write()
            return True


def parse_args(argv):
    p = argparse.ArgumentParser(prog="faultproxy.py",
                                description="HTTP CONNECT proxy that cuts tunnels on purpose")
    p.add_argument("--listen", type=int, required=True, help="port on 127.0.0.1 (0: any free one)")
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--map", action="append", default=[], metavar="HOST=IP",
                   help="connect to IP when a client asks for HOST")
    p.add_argument("--drop-after", type=int, metavar="N",
                   help="cut a tunnel once N bytes went client-to-server")
    p.add_argument("--drop-down-after", type=int, metavar="N",
                   help="cut a tunnel once N bytes went server-to-client")
    p.add_argument("--drops", type=int, default=1, metavar="K",
                   help="how many tunnels to cut (default 1)")
    p.add_argument("--stats", help="JSON counters, rewritten on every change")
    p.add_argument("--require-auth", metavar="USER:PASS",
                   help="answer 407 unless Proxy-Authorization: Basic matches")
    p.add_argument("--verbose", action="store_true", help="one line per event on stderr")
    a = p.parse_args(argv)
    hosts = {}
    for m in a.map:
        host, sep, ip = m.partition("=")
        if not sep or not host or not ip:
            p.error("--map wants HOST=IP, not %r" % m)
        hosts[host.lower()] = ip
    a.hosts = hosts
    if a.drop_after is not None and a.drop_after < 0:
        p.error("--drop-after must be >= 0")
    if a.drop_down_after is not None and a.drop_down_after < 0:
        p.error("--drop-down-after must be >= 0")
    if a.require_auth is not None and ":" not in a.require_auth:
        p.error("--require-auth wants USER:PASS")
    return a


def log(args, msg):
    if args.verbose:
        sys.stderr.write("faultproxy: %s\n" % msg)
        sys.stderr.flush()


def reply(sock, code, reason, extra=()):
    head = ["HTTP/1.1 %d %s" % (code, reason)] + list(extra)
    head += ["Content-Length: 0", "Connection: close", "", ""]
    try:
        sock.sendall("\r\n".join(head).encode("latin-1"))
    except OSError:
        pass


def read_head(sock):
    """The request head (up to the blank line) and whatever came after it,
    or (None, b"") when the client closed or sent too much."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        if len(buf) > HEAD_MAX:
            return None, b""
        data = sock.recv(8192)
        if not data:
            return None, b""
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def split_target(target):
    """host, port of "host:port" or "[v6]:port"; ValueError if malformed."""
    if target.startswith("["):
        host, sep, port = target[1:].partition("]:")
    else:
        host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(target)
    return host, int(port)


def authorized(args, headers):
    if args.require_auth is None:
        return True
    value = headers.get("proxy-authorization", "")
    scheme, _, cred = value.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        got = base64.b64decode(cred.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return False
    return got == args.require_auth


def abort(*socks):
    """Close with SO_LINGER 0: the peer gets an RST, not a FIN."""
    for s in socks:
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        s.close()


class Tunnel:
    """Relays one established tunnel both ways in its own thread with
    non-blocking sockets: each direction reads only once what it read
    before has been written, so a slow side slows its peer down instead of
    filling memory, and neither direction can wait on the other."""

    def __init__(self, args, stats, client, upstream, pending_up):
        self.args, self.stats = args, stats
        self.c, self.u = client, upstream
        self.sent_up = self.sent_down = 0
        # Per direction: bytes waiting to be written, and whether the
        # reading side reached EOF (then the writing side gets a FIN).
        self.buf = {"up": pending_up, "down": b""}
        self.eof = {"up": False, "down": False}
        self.shut = {"up": False, "down": False}

    def run(self):
        c, u = self.c, self.u
        c.setblocking(False)
        u.setblocking(False)
        if self.buf["up"]:
            data, self.buf["up"] = self.buf["up"], b""
            if not self.take_up(data):
                return "dropped"
        poller = select.poll()
        fds = {c.fileno(): c, u.fileno(): u}
        while True:
            want = {c.fileno(): 0, u.fileno(): 0}
            for d, src, dst in (("up", c, u), ("down", u, c)):
                if self.buf[d]:
                    want[dst.fileno()] |= select.POLLOUT
                elif not self.eof[d]:
                    want[src.fileno()] |= select.POLLIN
                elif not self.shut[d]:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    self.shut[d] = True
            if self.shut["up"] and self.shut["down"]:
                return "closed"
            events = self.poll(poller, want)
            for fd, ev in events:
                s = fds[fd]
                if ev & (select.POLLERR | select.POLLNVAL):
                    return "error"
                if ev & (select.POLLIN | select.POLLHUP) and want[fd] & select.POLLIN:
                    d = "up" if s is c else "down"
                    try:
                        data = s.recv(CHUNK)
                    except BlockingIOError:
                        continue
                    except OSError:
                        return "reset"
                    if not data:
                        self.eof[d] = True
                    elif d == "up":
                        if not self.take_up(data):
                            return "dropped"
                    elif not self.take_down(data):
                        return "dropped"
                    else:
                        # Counted (and written out) before the client can
                        # see it: a client that got the reply sees the file.
                        self.stats.add("bytes_down", len(data))
                        self.buf["down"] = data
                if ev & select.POLLOUT:
                    d = "up" if s is u else "down"
                    try:
                        n = s.send(self.buf[d])
                    except BlockingIOError:
                        continue
                    except OSError:
                        return "reset"
                    self.buf[d] = self.buf[d][n:]

    @staticmethod
    def poll(poller, want):
        # A fresh registration each round keeps the masks simple.
        for fd in want:
            try:
                poller.unregister(fd)
            except KeyError:
                pass
            if want[fd]:
                poller.register(fd, want[fd])
        return poller.poll()

    def take_up(self, data):
        """Queue client bytes for upstream; False once the tunnel is cut.
        Only a tunnel that carries more than --drop-after bytes is cut, and
        then exactly that many went upstream."""
        limit = self.args.drop_after
        if limit is not None and self.sent_up + len(data) > limit:
            head = data[:limit - self.sent_up]
            if self.stats.claim_drop(self.args.drops):
                self.flush_blocking(head)
                return False
            # The budget is spent: relayed in full.
        self.stats.add("bytes_up", len(data))
        self.sent_up += len(data)
        self.buf["up"] = data
        return True

    def take_down(self, data):
        """False once the tunnel is cut: one that carried more than
        --drop-down-after bytes to the client. What came before the limit
        is dropped with it (the client sees an answer cut off)."""
        limit = self.args.drop_down_after
        if limit is not None and self.sent_down + len(data) > limit:
            if self.stats.claim_drop(self.args.drops):
                return False
        self.sent_down += len(data)
        return True

    def flush_blocking(self, data):
        """Send the last bytes before a cut (counted) and wait until the
        server has acknowledged them all: the RST that follows would
        discard whatever is still in the send queue."""
        self.u.settimeout(CONNECT_TIMEOUT)
        self.stats.add("bytes_up", len(data))
        self.sent_up += len(data)
        try:
            self.u.sendall(data)
            end = time.monotonic() + CONNECT_TIMEOUT
            while time.monotonic() < end:
                # TIOCOUTQ (SIOCOUTQ): bytes sent but not yet acknowledged.
                queued = fcntl.ioctl(self.u.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
                if struct.unpack("i", queued)[0] == 0:
                    break
                time.sleep(0.002)
        except OSError:
            pass


def handle(args, stats, client, peer):
    upstream = None
    is_open = False
    try:
        client.settimeout(30)
        head, rest = read_head(client)
        if head is None:
            return
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            stats.add("rejected")
            reply(client, 400, "Bad Request")
            return
        method, target = parts[0], parts[1]
        if method != "CONNECT":
            stats.add("rejected")
            log(args, "%s %s from %s: 405" % (method, target, peer))
            reply(client, 405, "Method Not Allowed", ["Allow: CONNECT"])
            return
        if not authorized(args, headers):
            stats.add("rejected")
            log(args, "CONNECT %s from %s: 407" % (target, peer))
            reply(client, 407, "Proxy Authentication Required",
                  ['Proxy-Authenticate: Basic realm="faultproxy"'])
            return
        try:
            host, port = split_target(target)
        except ValueError:
            stats.add("rejected")
            reply(client, 400, "Bad Request")
            return
        addr = args.hosts.get(host.lower(), host)
        try:
            upstream = socket.create_connection((addr, port), timeout=CONNECT_TIMEOUT)
        except OSError as e:
            stats.add("rejected")
            log(args, "CONNECT %s (%s): 502, %s" % (target, addr, e))
            reply(client, 502, "Bad Gateway")
            return
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stats.opened(target)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        log(args, "CONNECT %s (%s) from %s: open" % (target, addr, peer))
        is_open = True
        how = Tunnel(args, stats, client, upstream, rest).run()
        log(args, "tunnel to %s: %s" % (target, how))
        if how == "dropped":
            abort(client, upstream)
            client = upstream = None
    except OSError as e:
        log(args, "client %s: %s" % (peer, e))
    finally:
        if is_open:
            stats.add("open", -1)
        for s in (client, upstream):
            if s is not None:
                s.close()


def main(argv):
    args = parse_args(argv)
    stats = Stats(args.stats)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.listen))
    srv.listen(64)
    port = srv.getsockname()[1]
    # SIGTERM ends the proxy at once: the tunnels die with the process and
    # the stats file already holds everything.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    log(args, "listening on 127.0.0.1:%d" % port)
    while True:
        client, peer = srv.accept()
        t = threading.Thread(target=handle, args=(args, stats, client, "%s:%d" % peer),
                             daemon=True)
        t.start()


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:
        sys.exit(130)
