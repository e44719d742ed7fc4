"""An honest but particular S3 server for tests/s3/tls.t, on 127.0.0.1 over
TLS 1.2 with exactly one cipher suite. It decrypts with Python's ssl
(OpenSSL), so what it stores is what an independent TLS stack read.

    strict.py serve CIPHER MODE DIR PORTFILE LOGFILE

CIPHER is an OpenSSL cipher name; DIR holds good.pem and good.key (from
hostile.py certs). MODE is plain, or md5: every part must carry a
Content-MD5 (as AWS asks of a bucket with Object Lock), and one that does
not is refused with HTTP 400 InvalidRequest. An object completed, or PUT
whole, is written to DIR/stored/KEY. The log gets one line per connection
(the cipher negotiated) and per request (method, path, Content-MD5 yes/no,
and the status answered).
"""
import base64
import hashlib
import os
import re
import socket
import ssl
import sys
import threading


def read_request(c, buf):
    """(request line, headers, body, rest of buf) or None at the end."""
    while b"\r\n\r\n" not in buf:
        got = c.recv(65536)
        if not got:
            return None
        buf += got
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        got = c.recv(1 << 20)
        if not got:
            return None
        rest += got
    return lines[0], headers, rest[:length], rest[length:]


def serve(cipher, mode, d, portfile, logfile):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d + "/good.pem", d + "/good.key")
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(cipher)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    log = open(logfile, "a", buffering=1)
    lock = threading.Lock()
    parts = {}
    os.makedirs(d + "/stored", exist_ok=True)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)

    def store(key, data):
        path = d + "/stored/" + key.replace("/", "_")
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.rename(path + ".tmp", path)

    def answer(line, h, body):
        """(status, extra headers, body)"""
        method, target, _ = line.split(" ", 2)
        path, _, query = target.partition("?")
        key = path.split("/", 2)[2] if path.count("/") >= 2 else ""
        md5 = h.get("content-md5")
        if method == "GET" and "uploads" in query.split("&"):
            return 200, "", (b"<?xml version='1.0'?><ListMultipartUploadsResult>"
                             b"<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>")
        if method == "POST" and query == "uploads":
            return 200, "", (b"<?xml version='1.0'?><InitiateMultipartUploadResult>"
                             b"<Bucket>bucket</Bucket><Key>%s</Key><UploadId>u1</UploadId>"
                             b"</InitiateMultipartUploadResult>" % key.encode())
        if md5 is not None and base64.b64encode(hashlib.md5(body).digest()).decode() != md5:
            return 400, "", (b"<Error><Code>BadDigest</Code><Message>The Content-MD5 you "
                             b"specified did not match what we received.</Message></Error>")
        m = re.match(r"partNumber=(\d+)&uploadId=u1$", query)
        if method == "PUT" and m:
            if mode == "md5" and md5 is None:
                return 400, "", (b"<Error><Code>InvalidRequest</Code><Message>Content-MD5 "
                                 b"OR x-amz-checksum- HTTP header is required for Put Part "
                                 b"requests with Object Lock parameters</Message></Error>")
            with lock:
                parts[int(m.group(1))] = body
            return 200, 'ETag: "%s"\r\n' % hashlib.md5(body).hexdigest(), b""
        if method == "POST" and query == "uploadId=u1":
            numbers = [int(n) for n in re.findall(rb"<PartNumber>(\d+)</PartNumber>", body)]
            with lock:
                store(key, b"".join(parts[n] for n in numbers))
            return 200, "", (b"<?xml version='1.0'?><CompleteMultipartUploadResult><Key>%s"
                             b"</Key></CompleteMultipartUploadResult>" % key.encode())
        if method == "PUT":
            store(key, body)
            return 200, 'ETag: "%s"\r\n' % hashlib.md5(body).hexdigest(), b""
        return 501, "", b"<Error><Code>NotImplemented</Code></Error>"

    def one(raw):
        try:
            c = ctx.wrap_socket(raw, server_side=True)
            log.write("connection %s %s\n" % (c.cipher()[0], c.version()))
            buf = b""
            while True:
                got = read_request(c, buf)
                if got is None:
                    break
                line, h, body, buf = got
                status, extra, out = answer(line, h, body)
                log.write("request %s md5=%s %d\n" % (line.rsplit(" ", 1)[0],
                                                       "yes" if "content-md5" in h else "no",
                                                       status))
                c.sendall(b"HTTP/1.1 %d X\r\n%sContent-Length: %d\r\n\r\n"
                          % (status, extra.encode(), len(out)) + out)
        except (OSError, ssl.SSLError) as e:
            log.write("ended: %s %s\n" % (e.__class__.__name__, e))
        finally:
            raw.close()

    while True:
        raw, _ = s.accept()
        threading.Thread(target=one, args=(raw,), daemon=True).start()


if __name__ == "__main__":
    serve(*sys.argv[2:7])
