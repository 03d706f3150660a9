# A UDP chat client: each line typed is sent as "NAME : line"; the server's
# answer is printed.
#
#     python3 examples/python/udp_chat_client.py [PORT] [NAME]
import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 9998
name = sys.argv[2] if len(sys.argv) > 2 else "python"

client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
client.settimeout(30)  # the operator may take a while to type
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    client.sendto(f"{name} : {line}\n".encode(), ("127.0.0.1", port))
    try:
        print(client.recvfrom(65536)[0].decode(), end="")
    except socket.timeout:
        print("(no answer)")
client.close()
