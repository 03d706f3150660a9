// Internal: the listen settings TCPServer and TLSServer share (backlog,
// SO_REUSEADDR, SO_REUSEPORT), resolved and checked in one place.

import { setting } from "./_settings.ts";
import { assertUnstableNet } from "./_unstable_net.ts";

/** The listen settings in force; also the shape of a server class's static defaults. */
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
 * Resolves each setting (the option when given, else the class default),
 * refuses what Deno cannot honour, and returns the listen options.
 */
export function tcpListenSettings(
  address: { hostname?: string; port: number },
  options: Partial<TcpListenSettings>,
  defaults: TcpListenSettings,
): { settings: TcpListenSettings; listenOptions: TcpListenOptions } {
  const settings = {
    requestQueueSize: setting(options.requestQueueSize, defaults.requestQueueSize),
    allowReuseAddress: setting(options.allowReuseAddress, defaults.allowReuseAddress),
    allowReusePort: setting(options.allowReusePort, defaults.allowReusePort),
  };
  if (!settings.allowReuseAddress) {
    throw new TypeError(
      "Cannot honour allowReuseAddress false: Deno always sets SO_REUSEADDR on TCP listeners",
    );
  }
  // Without --unstable-net, Deno exits the process on reusePort instead of throwing.
  if (settings.allowReusePort) assertUnstableNet("allowReusePort (SO_REUSEPORT)");
  return {
    settings,
    listenOptions: {
      hostname: address.hostname ?? "0.0.0.0",
      port: address.port,
      tcpBacklog: settings.requestQueueSize,
      ...(settings.allowReusePort ? { reusePort: true } : {}),
    },
  };
}
