// Internal: the listen settings TCPServer and TLSServer share (backlog,
// SO_REUSEADDR, SO_REUSEPORT), checked in one place.

import { assertUnstableNet } from "./_unstable_net.ts";

/** The listen settings, as static defaults and in force. */
export const TCP_LISTEN_SETTINGS = [
  "requestQueueSize",
  "allowReuseAddress",
  "allowReusePort",
] as const;

/** The listen settings in force. */
export interface TcpListenSettings {
  requestQueueSize: number;
  allowReuseAddress: boolean;
  allowReusePort: boolean;
}

/** What `Deno.listen` and `Deno.listenTls` take for a TCP socket. */
export interface TcpListenOptions {
  hostname: string;
  port: number;
  tcpBacklog: number;
  reusePort?: true;
}

/**
 * Refuses what Deno cannot honour and returns the listen options.
 *
 * @throws {TypeError} `allowReuseAddress` is false, or `allowReusePort`
 * without `--unstable-net`.
 */
export function tcpListenOptions(
  address: { hostname?: string; port: number },
  settings: TcpListenSettings,
): TcpListenOptions {
  if (!settings.allowReuseAddress) {
    throw new TypeError(
      "Cannot honour allowReuseAddress false: Deno always sets SO_REUSEADDR on TCP listeners",
    );
  }
  // Without --unstable-net, Deno exits the process on reusePort instead of throwing.
  if (settings.allowReusePort) assertUnstableNet("allowReusePort (SO_REUSEPORT)");
  return {
    hostname: address.hostname ?? "0.0.0.0",
    port: address.port,
    tcpBacklog: settings.requestQueueSize,
    ...(settings.allowReusePort ? { reusePort: true } : {}),
  };
}
