# The classic greeting client: read the server's welcome, send one message.
#
#     python3 examples/python/greeting_client.py [PORT] [MESSAGE]
import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 9001
message = sys.argv[2] if len(sys.argv) > 2 else "hello from python"

try:
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    print(client.recv(1024).decode())
except socket.timeout:
    sys.exit("greeting_client.py: no welcome from the server within 10 s")
except OSError as error:
    sys.exit("greeting_client.py: cannot connect to 127.0.0.1:%d: %s" % (port, error.strerror))
client.send(message.encode())
client.close()
