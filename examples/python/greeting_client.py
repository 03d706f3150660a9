# The classic greeting client: read the server's welcome, send one message.
#
#     python3 examples/python/greeting_client.py [PORT] [MESSAGE]
import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 9001
message = sys.argv[2] if len(sys.argv) > 2 else "hello from python"

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(("127.0.0.1", port))
print(client.recv(1024).decode())
client.send(message.encode())
client.close()
