"""A length-prefixed echo server written the way Python users write one.

socketserver.ThreadingTCPServer with a StreamRequestHandler: one thread per
connection, `struct.unpack('!I', rfile.read(4))` for the header, then
`rfile.read(length)` for the payload, and one `wfile.write` of header + payload
per frame. This is the model the project follows, so it is the row to beat.

Usage: python3 bench/servers/python_socketserver.py --port N
Prints `listening on 127.0.0.1:PORT` once ready; SIGTERM's default action ends
it (connection threads are daemon threads, so nothing waits for them).
"""

import socketserver
import struct
import sys

MAX_FRAME_LENGTH = 8 * 1024 * 1024  # larger frames close the connection


class LengthPrefixedEcho(socketserver.StreamRequestHandler):
    # Every server in the benchmark sets TCP_NODELAY; without it, the second of
    # two back-to-back replies waits for the peer's delayed ACK.
    disable_nagle_algorithm = True

    def handle(self):
        while True:
            header = self.rfile.read(4)
            if len(header) < 4:
                return  # EOF
            (length,) = struct.unpack("!I", header)
            if length > MAX_FRAME_LENGTH:
                return
            payload = self.rfile.read(length)
            if len(payload) < length:
                return  # EOF mid-frame
            self.wfile.write(struct.pack("!I", len(payload)) + payload)


class EchoServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    # As http.server's ThreadingHTTPServer does: daemon threads are not tracked
    # (non-daemon ones go into a list scanned on every accept and joined at
    # close), and nothing waits for them when the server is stopped.
    daemon_threads = True


def parse_port(args):
    try:
        port = int(args[args.index("--port") + 1])
        if not 0 <= port <= 65535:
            raise ValueError(port)
        return port
    except (ValueError, IndexError):
        print("usage: python_socketserver.py --port N", file=sys.stderr)
        sys.exit(2)


def main():
    with EchoServer(("127.0.0.1", parse_port(sys.argv[1:])), LengthPrefixedEcho) as server:
        print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
