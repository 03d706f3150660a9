/**
 * What UDP and Unix datagram servers share: one socket, each datagram a
 * request `[data, socket]`, and replies sent back on the same socket.
 *
 * @module
 */

import type { RequestHandlerClass } from "../handlers/base_request_handler.ts";
import type { DatagramRequest } from "../handlers/datagram_request_handler.ts";
import { BaseServer, type BaseServerOptions } from "./base_server.ts";
import { AmplificationLimitError, DatagramTooLongError, ReflectedReplyError } from "./errors.ts";
import { formatAddress } from "./format_address.ts";
import { GuardedSocket, type SendCheck } from "./_guarded_socket.ts";
import { isLoopback, ReplyGuard } from "./_reply_guard.ts";
import { resolveSettings } from "./_settings.ts";

/**
 * What a datagram server does with a datagram larger than `maxPacketSize`:
 * `"error"` reports {@linkcode DatagramTooLongError} to `handleError()` and
 * does not run the handler; `"discard"` drops it silently; `"truncate"` runs
 * the handler on the first `maxPacketSize` bytes (Python's behaviour).
 */
export type DatagramTooLongPolicy = "error" | "discard" | "truncate";

/** Options every datagram server accepts. Each overrides the static default of the same name. */
export interface DatagramServerOptions<Address extends Deno.Addr>
  extends BaseServerOptions<Address> {
  /**
   * The largest datagram handled, in bytes (Python's `max_packet_size`,
   * 8192 there). The default is larger than any UDP payload (65507 bytes
   * over IPv4, 65527 over IPv6), so no UDP datagram is cut; only Unix
   * datagrams can exceed it. Deno's `receive()` truncates silently like
   * `recvfrom()`, so the server reads one byte more to tell, and applies
   * `onTooLong`. One buffer of this size is reused for every receive; each
   * datagram is copied out at its own size.
   *
   * @default {65535}
   */
  maxPacketSize?: number;
  /**
   * What to do with a datagram larger than `maxPacketSize`.
   *
   * @default {"error"}
   */
  onTooLong?: DatagramTooLongPolicy;
  /**
   * The most datagrams handled at once by a threading server. Past it the
   * server stops receiving until a handler finishes: datagrams then queue in
   * the kernel's receive buffer, and the kernel drops what overflows it
   * (UDP has no delivery guarantee; a Unix datagram sender blocks instead).
   * Sequential servers handle one at a time regardless.
   *
   * @default {1000}
   */
  maxConcurrentHandlers?: number;
  /**
   * The most bytes a reply may send an unverified peer (see
   * `verifyPeer()`) per byte received from it, counted per peer address:
   * QUIC's limit before an address is validated. A forged source address
   * then gets at most this many times what the forger sent; a reply over
   * it is dropped (its send resolves with 0) and reported as an
   * {@linkcode AmplificationLimitError}. `Infinity` turns the limit off.
   *
   * @default {3}
   */
  amplificationFactor?: number;
}

/** The settings every datagram server has; see {@linkcode DatagramServerOptions}. */
const DATAGRAM_SETTINGS = [
  "maxPacketSize",
  "onTooLong",
  "maxConcurrentHandlers",
  "amplificationFactor",
] as const;

/** The settings in force, resolved and checked before anything is bound. */
export type DatagramSettings = Pick<typeof DatagramServer, typeof DATAGRAM_SETTINGS[number]>;

const POLICIES: readonly DatagramTooLongPolicy[] = ["error", "discard", "truncate"];

/**
 * Resolves the datagram settings of a server class and its options, and
 * checks them, so a subclass can refuse bad options before it binds.
 *
 * @param Class The class being constructed (`new.target`), whose static
 * fields are the defaults.
 * @param options The constructor options.
 * @returns The settings in force.
 * @throws {RangeError} A size or count is not a positive integer, or the
 * policy is unknown.
 */
export function datagramSettings(
  Class: DatagramSettings,
  options: Partial<DatagramSettings>,
): DatagramSettings {
  const settings = resolveSettings(Class, options, DATAGRAM_SETTINGS);
  for (const name of ["maxPacketSize", "maxConcurrentHandlers"] as const) {
    const value = settings[name];
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`Cannot create server: ${name} ${value} is not a positive integer`);
    }
  }
  if (!(settings.amplificationFactor >= 0)) {
    throw new RangeError(
      `Cannot create server: amplificationFactor ${settings.amplificationFactor} is not a number of 0 or more`,
    );
  }
  if (!POLICIES.includes(settings.onTooLong)) {
    throw new RangeError(
      `Cannot create server: onTooLong ${
        JSON.stringify(settings.onTooLong)
      } is not "error", "discard" or "truncate"`,
    );
  }
  return settings;
}

/**
 * A server whose requests are datagrams received on one `Deno.DatagramConn`.
 * Use {@linkcode UDPServer}, {@linkcode UnixDatagramServer} or their
 * threading kinds; subclass this only for a new kind of datagram socket.
 *
 * Unlike a stream server's listener, the socket is shared by every request:
 * `closeRequest()` does nothing, and on `serverClose()` the socket stops
 * receiving at once but closes only after running handlers have finished
 * (or `drainTimeout` passed), so their replies still go out. With
 * `blockOnClose: false` it closes at once, and replies still being sent
 * fail.
 *
 * **Replies are guarded** against the two abuses of a UDP service whose
 * source addresses can be forged. The socket handlers get as `request[1]`
 * (and callers as `server.socket`; `DatagramRequestHandler.reply()` sends
 * on it) checks each send to a peer that `verifyPeer()` does not vouch for
 * (by default, any peer not on this host's loopback address):
 * 1. it may not bring the bytes sent to that peer over
 *    `amplificationFactor` (3) times the bytes received from it, so a
 *    forged small request cannot aim a large reply at a victim;
 * 2. a reply byte-identical to the last datagram received from that peer
 *    goes out once per peer, not again, so two echo-like services cannot
 *    bounce a forged datagram between them forever.
 *
 * A refused reply is dropped (its send resolves with 0) and reported to
 * `handleError()` as an {@linkcode AmplificationLimitError} or a
 * {@linkcode ReflectedReplyError}, at most once per 10 s (with the count of
 * drops since). The counts live in a table of the 4096 most recently seen
 * peers, so a flood of forged sources costs no memory beyond it. A protocol
 * that validates its peers (a cookie, a handshake, an allow-list) overrides
 * `verifyPeer()` to lift both limits for them; an echo service must, to
 * echo a peer more than once.
 *
 * @typeParam Address The socket's address type.
 *
 * @example Every datagram server is a DatagramServer
 * ```ts
 * import { DatagramRequestHandler, DatagramServer, UDPServer } from "@socketserver/core/server";
 * import { assert, assertEquals } from "@std/assert";
 *
 * await using server = new UDPServer({ hostname: "127.0.0.1", port: 0 }, DatagramRequestHandler);
 * assert(server instanceof DatagramServer);
 * assertEquals(server.maxPacketSize, 65535);
 * assertEquals(server.maxConcurrentHandlers, 1000);
 * ```
 */
export abstract class DatagramServer<Address extends Deno.Addr>
  extends BaseServer<DatagramRequest, Deno.Addr, Address> {
  /** Default for {@linkcode DatagramServerOptions.maxPacketSize}. */
  static maxPacketSize: number = 65535;
  /** Default for {@linkcode DatagramServerOptions.onTooLong}. */
  static onTooLong: DatagramTooLongPolicy = "error";
  /** Default for {@linkcode DatagramServerOptions.maxConcurrentHandlers}. */
  static maxConcurrentHandlers: number = 1000;
  /** Default for {@linkcode DatagramServerOptions.amplificationFactor}. */
  static amplificationFactor: number = 3;

  /** The largest datagram handled, in bytes. */
  declare maxPacketSize: number;
  /** What is done with a larger datagram. */
  declare onTooLong: DatagramTooLongPolicy;
  /** The most datagrams a threading server handles at once. */
  declare maxConcurrentHandlers: number;
  /** The most bytes sent to an unverified peer per byte received from it. */
  declare amplificationFactor: number;

  /** The socket itself: the server receives on it and closes it. */
  readonly #socket: Deno.DatagramConn;
  /** The same socket with guarded sends: what handlers and callers get. */
  readonly #guarded: GuardedSocket;
  /** Reused for every receive; one byte longer than the limit, to see a datagram over it. */
  #buffer = new Uint8Array(0);
  /** A receive still in flight, and the limit it was started with. */
  #receiving: { promise: Promise<[Uint8Array, Deno.Addr]>; limit: number } | undefined;
  #stopped = false;
  readonly #stop: PromiseWithResolvers<null> = Promise.withResolvers();
  /** Requests cut by the receive buffer with `onTooLong: "error"`: refused in finishRequest. */
  readonly #tooLong = new WeakSet<DatagramRequest>();
  /** Bytes received from and sent to each unverified peer. */
  readonly #guard = new ReplyGuard();
  /** What the socket handlers send on asks before each send. */
  readonly #mayReply: SendCheck = (destination, bytes) => {
    if (this.verifyPeer(destination)) return true;
    const refusal = this.#guard.admit(formatAddress(destination), bytes, this.amplificationFactor);
    if (refusal === undefined) return true;
    const dropped = this.#guard.dropped();
    if (dropped !== undefined) {
      const error = refusal.reason === "reflection"
        ? new ReflectedReplyError(destination, bytes.length, dropped)
        : new AmplificationLimitError(
          destination,
          bytes.length,
          refusal.sent,
          refusal.received,
          this.amplificationFactor,
          dropped,
        );
      void this.reportError(error, null, destination);
    }
    return false;
  };

  /**
   * Creates the server on a bound socket.
   *
   * @param socket The bound socket; the server owns it from here on (it is
   * closed if the options are refused).
   * @param RequestHandlerClass The handler class.
   * @param options Settings for this instance.
   * @throws {RangeError} A setting is out of range.
   */
  constructor(
    socket: Deno.DatagramConn,
    RequestHandlerClass: RequestHandlerClass<DatagramRequest, Deno.Addr>,
    options: DatagramServerOptions<Address> = {},
  ) {
    let settings: DatagramSettings;
    try {
      settings = datagramSettings(new.target, options);
    } catch (error) {
      socket.close();
      throw error;
    }
    super(RequestHandlerClass, options);
    Object.assign(this, settings);
    this.#socket = socket;
    this.#guarded = new GuardedSocket(socket, this.#mayReply);
  }

  /** The bound address. */
  get address(): Address {
    return this.#socket.addr as Address;
  }

  /**
   * The server's socket (Python's `server.socket`); handlers get it as
   * `request[1]`. Its sends pass the reply guard (see the class doc).
   *
   * @returns The socket.
   */
  get socket(): Deno.DatagramConn {
    return this.#guarded;
  }

  /**
   * Whether a peer is known to be who its address says, so replies to it
   * are not guarded (see the class doc): override it for a protocol that
   * validates its peers (a cookie echoed back, a handshake, an allow-list of
   * networks). It is asked on every guarded send and every datagram
   * received, so keep it cheap. Default: `true` for a loopback address
   * (127.0.0.0/8, ::1), which the kernel never accepts from the network, so
   * only a program on this host can claim it; `false` for any other (a UDP
   * source address can be forged). A Unix datagram server returns `true`
   * for every peer: the kernel vouches for a Unix socket's path.
   *
   * @param peer The peer's address.
   * @returns `true` to lift the reply limits for it.
   */
  verifyPeer(peer: Deno.Addr): boolean {
    return isLoopback(peer);
  }

  /**
   * Runs the handler, after refusing a datagram that was cut by the receive
   * buffer (with `onTooLong: "error"`).
   *
   * @param request The datagram and the socket.
   * @param clientAddress The sender.
   * @throws {DatagramTooLongError} The datagram exceeded `maxPacketSize`.
   */
  override async finishRequest(request: DatagramRequest, clientAddress: Deno.Addr): Promise<void> {
    if (this.#tooLong.has(request)) throw new DatagramTooLongError(this.maxPacketSize);
    await super.finishRequest(request, clientAddress);
  }

  /**
   * Receives the next datagram and copies it out of the shared buffer.
   *
   * @returns The request `[data, socket]` and the sender, or `null` once closed.
   */
  protected async getRequest(): Promise<[DatagramRequest, Deno.Addr] | null> {
    for (;;) {
      if (this.#stopped) return null;
      if (this.#receiving === undefined) {
        const limit = this.maxPacketSize;
        if (this.#buffer.length !== limit + 1) this.#buffer = new Uint8Array(limit + 1);
        this.#receiving = { promise: this.#socket.receive(this.#buffer), limit };
      }
      const { promise, limit } = this.#receiving;
      let received: [Uint8Array, Deno.Addr] | null;
      try {
        // The socket stays open for replies while handlers drain, so a
        // receive cannot be cancelled by closing it: stopping wins the race.
        received = await Promise.race([promise, this.#stop.promise]);
      } catch (error) {
        this.#receiving = undefined;
        if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
          return null;
        }
        throw error;
      }
      if (received === null) return null;
      this.#receiving = undefined;
      const [view, from] = received;
      const sender = unnamedToEmptyPath(from);
      if (!this.verifyPeer(sender)) this.#guard.received(formatAddress(sender), view);
      if (view.length > limit && this.onTooLong === "discard") continue;
      // Copied at its own size: the next receive reuses the buffer.
      const request: DatagramRequest = [view.slice(0, limit), this.#guarded];
      if (view.length > limit && this.onTooLong === "error") this.#tooLong.add(request);
      return [request, sender];
    }
  }

  /**
   * Stops receiving; the socket itself closes in `afterDrain()`, once
   * running handlers have sent their replies.
   */
  protected closeSocket(): void {
    this.#stopped = true;
    this.#stop.resolve(null);
  }

  /** Closes the socket and waits for its last receive to settle. */
  protected override async afterDrain(): Promise<void> {
    try {
      this.#socket.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
    await this.#receiving?.promise.catch(() => {});
    this.#receiving = undefined;
  }
}

/**
 * Deno reports an unbound Unix datagram sender with `path: null`; the type
 * says string, and `formatAddress()` prints `""` as an unnamed socket.
 */
function unnamedToEmptyPath(address: Deno.Addr): Deno.Addr {
  if ("path" in address && address.path === null) return { ...address, path: "" };
  return address;
}
