// Shared by the UDP examples' --client modes: a socket of the server's
// address family, and a receive that gives up after a while (UDP may drop).

/** A UDP socket on an ephemeral port, IPv6 when the server's host is. */
export function openClientSocket(hostname: string): Deno.DatagramConn {
  return Deno.listenDatagram({
    transport: "udp",
    hostname: hostname.includes(":") ? "::" : "0.0.0.0",
    port: 0,
  });
}

/** The server's address as `DatagramConn.send()` takes it. */
export function serverAddress(hostname: string, port: number): Deno.NetAddr {
  return { transport: "udp", hostname, port };
}

/**
 * The next datagram, or `null` when none came within `seconds`. A receive
 * cannot be cancelled, so on timeout the socket is closed (the caller is done
 * with it then).
 */
export async function receiveWithin(
  socket: Deno.DatagramConn,
  seconds: number,
): Promise<Uint8Array | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<null>((resolve) => timer = setTimeout(resolve, seconds * 1000, null));
  const receiving = socket.receive().then(([data]) => data);
  try {
    const data = await Promise.race([receiving, expired]);
    if (data === null) {
      socket.close();
      await receiving.catch(() => {});
    }
    return data;
  } finally {
    clearTimeout(timer);
  }
}
