# The classic remote-command client: send a command, read its framed output.
#
#     python3 examples/python/remote_command_client.py [PORT] [--handshake]
#
# Commands come from standard input, one a line; `exit` or end of input quits.
# The reply is struct.pack('i', n) then n bytes; with --handshake the server
# sends b"Ready|<n>", the client answers b"Start", then the n bytes come.
import socket
import struct
import sys

args = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
port = int(args[0]) if args else 9002
handshake = "--handshake" in sys.argv


def recv_exactly(sock, n):
    """A TCP stream has no boundaries: loop until n bytes have come."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(min(n - len(data), 8192))
        if not chunk:
            raise ConnectionError("server closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(("127.0.0.1", port))
prompt = ">> " if sys.stdin.isatty() else ""
while True:
    try:
        cmd = input(prompt).strip()
    except EOFError:
        break
    if not cmd:
        continue
    client.send(cmd.encode("utf-8"))
    if cmd == "exit":
        break
    if handshake:
        ready = client.recv(1024).decode()  # "Ready|<n>"
        size = int(ready.split("|")[1])
        client.send(b"Start")
    else:
        size = struct.unpack("i", recv_exactly(client, 4))[0]
    print(recv_exactly(client, size).decode("utf-8", errors="replace"), end="")
client.close()
