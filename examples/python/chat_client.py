# The classic chat client: the first line sent is the name, then every line
# typed goes to the room; what the room says is printed as it comes.
#
#     python3 examples/python/chat_client.py NAME [PORT]
#
# Lines come from standard input; at its end the client stops sending, prints
# what the server still sends, and exits when the server closes.
import socket
import sys
import threading

name = sys.argv[1] if len(sys.argv) > 1 else "python"
port = int(sys.argv[2]) if len(sys.argv) > 2 else 9004

try:
    client = socket.create_connection(("127.0.0.1", port))
except OSError as error:
    sys.exit("chat_client.py: cannot connect to 127.0.0.1:%d: %s" % (port, error.strerror))
client.sendall((name + "\n").encode("utf-8"))


def receive():
    while True:
        data = client.recv(4096)
        if not data:
            break
        sys.stdout.write(data.decode("utf-8", errors="replace"))
        sys.stdout.flush()


receiver = threading.Thread(target=receive)
receiver.start()
for line in sys.stdin:
    client.sendall(line.encode("utf-8"))
client.shutdown(socket.SHUT_WR)  # "I am done": the server closes once it has read everything.
receiver.join()
client.close()
