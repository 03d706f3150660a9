# The classic UDP time client: send a strftime format, print the time that
# comes back.
#
#     python3 examples/python/udp_time_client.py [PORT] [FORMAT]
import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 9999
time_format = sys.argv[2] if len(sys.argv) > 2 else "%Y/%m/%d %H:%M:%S"

client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
client.settimeout(2)  # UDP may drop a datagram; nothing resends it
client.sendto(time_format.encode(), ("127.0.0.1", port))
try:
    print(client.recvfrom(1024)[0].decode())
except socket.timeout:
    sys.exit("no reply within 2 s")
finally:
    client.close()
