"""A hostile S3 server for tests/s3/hostile.t, on 127.0.0.1 over TLS.

    hostile.py certs DIR
        makes DIR/ca.pem (the CA the client trusts), a server certificate
        for 127.0.0.1 signed by it, one that expired, and a self-signed one.
    hostile.py serve MODE DIR PORTFILE LOGFILE
        serves MODE (every answer misbehaves the same way) until killed;
        writes the port to PORTFILE once it listens, and one line per
        connection and request to LOGFILE.

Modes: headers (an endless response header), chunked (an endless chunked
body), xml (malformed XML), marker (a part listing whose
NextPartNumberMarker is past 2^32), interim (1xx answers without end),
slowloris (a header trickled a byte at a time), stall (a part's body never
read: the server takes no data), redirect (307 to another
host), selfsigned and expired (their certificates), tls10 (TLS 1.0 only),
other (a plain server that counts the connections it gets: the other host
of redirect).
"""
import datetime
import socket
import ssl
import sys
import threading
import time

BIG = 64 << 20  # what an endless answer sends at most before giving up


def certs(d):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    now = datetime.datetime.utcnow()

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write(path, key, cert):
        with open(path + ".key", "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        with open(path + ".pem", "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))

    def make(cn, issuer, issuer_key, before, after, ca=False):
        key = ec.generate_private_key(ec.SECP256R1())
        b = (x509.CertificateBuilder().subject_name(name(cn))
             .issuer_name(name(issuer) if issuer else name(cn))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(before).not_valid_after(after))
        if ca:
            b = b.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        else:
            b = b.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return key, b.sign(issuer_key or key, hashes.SHA256())

    day = datetime.timedelta(days=1)
    ca_key, ca = make("Ferry hostile test CA", None, None, now - day, now + 30 * day, ca=True)
    write(d + "/ca", ca_key, ca)
    write(d + "/good", *make("127.0.0.1", "Ferry hostile test CA", ca_key, now - day, now + 30 * day))
    write(d + "/expired", *make("127.0.0.1", "Ferry hostile test CA", ca_key,
                                now - 30 * day, now - 2 * day))
    write(d + "/selfsigned", *make("127.0.0.1", None, None, now - day, now + 30 * day))


def read_request(c, mode):
    """The request line and header; the body is read and dropped (but
    for stall: a PUT's body is never read)."""
    data = b""
    while b"\r\n\r\n" not in data:
        got = c.recv(65536)
        if not got:
            return None
        data += got
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    if mode == "stall" and lines[0].startswith("PUT "):
        time.sleep(3600)
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    while len(rest) < length:
        got = c.recv(65536)
        if not got:
            break
        rest += got
    return lines[0]


def send_forever(c, first, each):
    c.sendall(first)
    sent = 0
    while sent < BIG:
        c.sendall(each)
        sent += len(each)


def answer(mode, c, line, d):
    if mode == "headers":
        send_forever(c, b"HTTP/1.1 200 OK\r\n", b"X-Filler: " + b"a" * 100 + b"\r\n")
    elif mode == "chunked":
        send_forever(c, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                     b"1000\r\n" + b"<" * 4096 + b"\r\n")
    elif mode == "xml":
        body = b"<?xml version='1.0'?><ListMultipartUploadsResult><Upload><Key>k</Ke<<&&;\x00"
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        return True
    elif mode == "marker":
        if "uploadId=" in line:
            body = (b"<?xml version='1.0'?><ListPartsResult><IsTruncated>true</IsTruncated>"
                    b"<NextPartNumberMarker>4294967297</NextPartNumberMarker>"
                    b"<Part><PartNumber>1</PartNumber><ETag>\"0123456789abcdef0123456789abcdef\""
                    b"</ETag><Size>5242880</Size></Part></ListPartsResult>")
        else:
            body = (b"<?xml version='1.0'?><ListMultipartUploadsResult><Upload><Key>img.raw</Key>"
                    b"<UploadId>u1</UploadId><Initiated>2026-01-01T00:00:00.000Z</Initiated>"
                    b"</Upload><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>")
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        return True
    elif mode == "stall":
        if line.startswith("POST "):
            body = (b"<?xml version='1.0'?><InitiateMultipartUploadResult><Bucket>bucket</Bucket>"
                    b"<Key>img.raw</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>")
        else:
            body = (b"<?xml version='1.0'?><ListMultipartUploadsResult>"
                    b"<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>")
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        return True
    elif mode == "interim":
        send_forever(c, b"", b"HTTP/1.1 102 Processing\r\n\r\n")
    elif mode == "slowloris":
        c.sendall(b"HTTP/1.1 200 OK\r\n")
        for b in b"X-Slow: " + b"a" * 100000:
            c.sendall(bytes([b]))
            time.sleep(0.2)
    elif mode == "redirect":
        with open(d + "/other.port") as f:
            other = f.read().strip()
        c.sendall(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: https://127.0.0.1:%s/ferry/img.raw"
                  b"\r\nContent-Length: 0\r\n\r\n" % other.encode())
        return True
    else:
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        return True
    return False


def serve(mode, d, portfile, logfile):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert = {"expired": "expired", "selfsigned": "selfsigned"}.get(mode, "good")
    ctx.load_cert_chain(d + "/" + cert + ".pem", d + "/" + cert + ".key")
    if mode == "tls10":
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    log = open(logfile, "a", buffering=1)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    import os
    os.rename(portfile + ".tmp", portfile)

    def one(raw):
        log.write("connection\n")
        try:
            c = ctx.wrap_socket(raw, server_side=True)
            while True:
                line = read_request(c, mode)
                if line is None:
                    break
                log.write("request %s\n" % line)
                if not answer(mode, c, line, d):
                    break
        except (OSError, ssl.SSLError) as e:
            log.write("ended: %s\n" % e.__class__.__name__)
        finally:
            raw.close()

    while True:
        raw, _ = s.accept()
        threading.Thread(target=one, args=(raw,), daemon=True).start()


if __name__ == "__main__":
    if sys.argv[1] == "certs":
        certs(sys.argv[2])
    else:
        serve(*sys.argv[2:6])
