# The classic file-transfer client for examples/file_server.ts.
#
#     python3 examples/python/file_client.py put FILE [FILE...] [--port 9003] [--ack]
#     python3 examples/python/file_client.py get [--port 9003] [--dir .]
#
# put: per file, struct.pack('i', len(h)) + h (JSON), then the bytes; the
# server answers OK, the client sends the md5 hex digest, the server answers
# 203 (match) or 204. With --ack the header goes bare, and the client waits
# for 200 before it sends the bytes.
# get: the server sends struct.pack('i', len(h)) + h, then h["file_size"] bytes.
import hashlib
import json
import os
import socket
import struct
import sys

args = sys.argv[1:]
port, folder, ack, positional = 9003, ".", False, []
while args:
    arg = args.pop(0)
    if arg == "--port":
        port = int(args.pop(0))
    elif arg == "--dir":
        folder = args.pop(0)
    elif arg == "--ack":
        ack = True
    else:
        positional.append(arg)


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
    if ack:
        sock.send(header_bytes)
        answer = sock.recv(1024).decode()
        if answer != "200":
            print("%s: refused: %s" % (path, answer))
            return False
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
        pass  # The server refused the file and closed: its answer says why.
    answer = sock.recv(1024).decode()
    if answer != "OK":
        print("%s: refused: %s" % (path, answer))
        return False
    sock.send(md5.hexdigest().encode())
    verdict = sock.recv(1024).decode()
    print("%s: %s %s" % (path, verdict, md5.hexdigest()))
    return verdict == "203"


def get(sock):
    header_size = struct.unpack("i", recv_exactly(sock, 4))[0]
    header = json.loads(recv_exactly(sock, header_size).decode("utf-8"))
    name = os.path.basename(header["file_name"]).lstrip(".") or "download"
    path = os.path.join(folder, name)
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


client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(("127.0.0.1", port))
if positional[:1] == ["put"] and len(positional) > 1:
    ok = True
    for path in positional[1:]:
        ok = put(client, path)
        if not ok:
            break  # A refused upload closes the connection.
elif positional == ["get"]:
    ok = get(client)
else:
    sys.exit("usage: file_client.py put FILE... | get  [--port N] [--ack] [--dir D]")
client.close()
sys.exit(0 if ok else 1)
