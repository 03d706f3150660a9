# The classic remote-command client: send a command, read its framed output.
#
#     python3 examples/python/remote_command_client.py [PORT] [--handshake] [--timeout 10]
#
# Commands come from standard input, one a line; `exit` or end of input quits.
# Each is sent with one send() and a newline (a server that reads one recv()
# per command sees the same command; examples/remote_command.ts ends it at
# the newline instead of waiting for a pause). The reply is
# struct.pack('i', n) then n bytes; with --handshake the server sends
# b"Ready|<n>", the client answers b"Start", then the n bytes come. A server
# in the other mode is told apart, and a silent one given up on.
import argparse
import socket
import struct
import sys

parser = argparse.ArgumentParser(description="The client of examples/remote_command.ts.")
parser.add_argument("port", type=int, nargs="?", default=9002)
parser.add_argument("--handshake", action="store_true", help="speak Ready|<n>, Start")
parser.add_argument("--timeout", type=float, default=10, help="seconds to wait for a reply")
args = parser.parse_args()


def fail(message):
    sys.exit("remote_command_client.py: " + message)


def recv_exactly(sock, n):
    """A TCP stream has no boundaries: loop until n bytes have come."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(min(n - len(data), 8192))
        if not chunk:
            fail("the server closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def reply_size(sock):
    if args.handshake:
        ready = sock.recv(1024).decode("utf-8", errors="replace")  # "Ready|<n>"
        if not ready.startswith("Ready|"):
            fail("no Ready|<n> from the server: is it running without --handshake?")
        sock.send(b"Start")
        return int(ready.split("|")[1])
    head = recv_exactly(sock, 4)
    if head == b"Read":
        fail("the server speaks --handshake: run this client with --handshake too")
    return struct.unpack("i", head)[0]


try:
    client = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
except OSError as error:
    fail("cannot connect to 127.0.0.1:%d: %s" % (args.port, error.strerror or error))
prompt = ">> " if sys.stdin.isatty() else ""
while True:
    try:
        cmd = input(prompt).strip()
    except EOFError:
        break
    if not cmd:
        continue
    client.send((cmd + "\n").encode("utf-8"))
    if cmd == "exit":
        break
    try:
        size = reply_size(client)
        print(recv_exactly(client, size).decode("utf-8", errors="replace"), end="")
    except socket.timeout:
        fail("no reply within %g s" % args.timeout)
client.close()
