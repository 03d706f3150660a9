# The classic file-transfer client for examples/file_server.ts.
#
#     python3 examples/python/file_client.py put FILE [FILE...] [--port 9003] [--ack]
#     python3 examples/python/file_client.py get [--port 9003] [--dir downloads]
#
# put: per file, struct.pack('i', len(h)) + h (JSON), then the bytes; the
# server answers OK, the client sends the md5 hex digest, the server answers
# 203 (match) or 204. With --ack, the acknowledged protocol: the header goes
# bare, the client waits for 200, sends the bytes, and that is all.
# get: the server sends struct.pack('i', len(h)) + h, then h["file_size"] bytes,
# which go to --dir (created if needed).
# A server that says nothing for --timeout seconds (one in the other mode
# waits for the client too) is given up on, with a message saying so.
import argparse
import hashlib
import json
import os
import socket
import struct
import sys

parser = argparse.ArgumentParser(description="The client of examples/file_server.ts.")
parser.add_argument("command", choices=["put", "get"])
parser.add_argument("files", nargs="*", metavar="FILE")
parser.add_argument("--port", type=int, default=9003)
parser.add_argument("--dir", default=".", help="get: where the file goes (default .)")
parser.add_argument("--ack", action="store_true", help="put to a server run with --ack")
parser.add_argument("--timeout", type=float, default=10, help="seconds to wait for the server")
args = parser.parse_args()
if (args.command == "put") != bool(args.files):
    parser.error("put takes one or more files, get none")

MODES = "put needs an upload server, without --ack; get needs one run with --serve-file"


def fail(message):
    sys.exit("file_client.py: " + message)


def answer(sock, waiting_for):
    """The server's next answer; a silent server is given up on after --timeout."""
    try:
        return sock.recv(1024).decode("utf-8", errors="replace")
    except ConnectionResetError:
        return ""
    except socket.timeout:
        mode = "--ack: it must run with --ack" if args.ack else MODES
        fail("no %s from the server within %g s (is it in this mode? %s)"
             % (waiting_for, args.timeout, mode))


def refused(path, text):
    if not text:
        fail("%s: the server closed the connection (%s)" % (path, MODES))
    if text.startswith("ERROR"):
        fail("%s: refused: %s" % (path, text))
    fail("%s: unexpected answer %r (%s)" % (path, text[:40], MODES))


def recv_exactly(sock, n):
    """A TCP stream has no boundaries: loop until n bytes have come."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(min(n - len(data), 65536))
        if not chunk:
            raise ConnectionError("server closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def put(sock, path):
    size = os.path.getsize(path)
    header = {"action": "put", "filename": os.path.basename(path), "filesize": size}
    header_bytes = json.dumps(header).encode("utf-8")
    if args.ack:
        sock.send(header_bytes)
        text = answer(sock, "200")
        if text != "200":
            refused(path, text)
    else:
        sock.send(struct.pack("i", len(header_bytes)))
        sock.send(header_bytes)
    md5 = hashlib.md5()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(65536), b""):
                sock.sendall(chunk)
                md5.update(chunk)
    except (BrokenPipeError, ConnectionResetError):
        refused(path, answer(sock, "answer"))  # The server refused the file and closed.
    if args.ack:
        print("%s: sent %d bytes, md5 %s" % (path, size, md5.hexdigest()))
        return True
    text = answer(sock, "OK")
    if text != "OK":
        refused(path, text)
    sock.send(md5.hexdigest().encode())
    verdict = answer(sock, "verdict")
    print("%s: %s %s" % (path, verdict, md5.hexdigest()))
    return verdict == "203"


def get(sock):
    try:
        header_size = struct.unpack("i", recv_exactly(sock, 4))[0]
        header = json.loads(recv_exactly(sock, header_size).decode("utf-8"))
    except socket.timeout:
        fail("no file from the server within %g s (is it in this mode? %s)" % (args.timeout, MODES))
    except (ValueError, struct.error) as error:
        fail("not a file header: %s (%s)" % (error, MODES))
    name = os.path.basename(header["file_name"]).lstrip(".") or "download"
    os.makedirs(args.dir, exist_ok=True)
    path = os.path.join(args.dir, name)
    size, received, md5 = header["file_size"], 0, hashlib.md5()
    with open(path, "wb") as f:
        while received < size:
            chunk = sock.recv(min(65536, size - received))
            if not chunk:
                raise ConnectionError("server closed after %d of %d bytes" % (received, size))
            f.write(chunk)
            md5.update(chunk)
            received += len(chunk)
    print("%s: %d bytes, md5 %s" % (path, size, md5.hexdigest()))
    print(header.get("file_desc", ""))
    return True


try:
    client = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
except OSError as error:
    fail("cannot connect to 127.0.0.1:%d: %s" % (args.port, error.strerror or error))
if args.command == "put":
    ok = all(put(client, path) for path in args.files)
    if ok and args.ack:
        # No answer in the acknowledged protocol: the server closes once all is stored.
        client.shutdown(socket.SHUT_WR)
        text = answer(client, "close")
        if text:
            refused(args.files[-1], text)
else:
    ok = get(client)
client.close()
sys.exit(0 if ok else 1)
