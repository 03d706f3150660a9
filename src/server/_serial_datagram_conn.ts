// Internal: a Unix datagram socket that a pending receive does not lock.
//
// Deno's "unixpacket" socket allows one operation at a time: a send while a
// receive is pending (or two sends at once) fails with `Busy: Socket already
// in use` (denoland/deno#6290), and a pending receive cannot be cancelled
// short of closing the socket. A server is always receiving, yet its
// handlers must reply on the same socket (a reply from another socket has
// another source address, which a client that connect()ed refuses).
//
// So operations take turns: sends queue and go out one at a time whenever no
// receive is pending; a send that finds a receive pending wakes it with a
// token datagram from an internal unbound socket, and the receive, seeing the
// token, lets the queued sends out before it receives again.

/** A queued send and whoever awaits it. */
interface QueuedSend {
  bytes: Uint8Array;
  address: Deno.Addr;
  done: PromiseWithResolvers<number>;
}

const TOKEN_LENGTH = 16;

/**
 * Wraps a bound `"unixpacket"` socket so that sends and receives may be
 * called at any time; they run one at a time on the socket.
 */
export class SerialDatagramConn implements Deno.DatagramConn {
  readonly #socket: Deno.DatagramConn;
  readonly #path: string;
  /** Unguessable: only this process sends it, from an unbound socket. */
  readonly #token = crypto.getRandomValues(new Uint8Array(TOKEN_LENGTH));
  /** The unbound socket that sends the token; made on the first wake. */
  #waker: Deno.DatagramConn | undefined;
  /** A token sent and not yet received: one at a time is enough. */
  #woken = false;
  #receiving = false;
  #draining: Promise<void> | undefined;
  #queue: QueuedSend[] = [];
  #closed = false;

  /**
   * @param socket A bound "unixpacket" socket; this object owns it.
   * @param path The socket's path, which the token is sent to.
   */
  constructor(socket: Deno.DatagramConn, path: string) {
    this.#socket = socket;
    this.#path = path;
  }

  get addr(): Deno.Addr {
    return this.#socket.addr;
  }

  /** Sends once the socket is free; wakes a pending receive to free it. */
  send(p: Uint8Array, addr: Deno.Addr): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("Socket has been closed"));
    const done = Promise.withResolvers<number>();
    // Copied: the caller may reuse its buffer once send() returns, as with Deno's.
    this.#queue.push({ bytes: p.slice(), address: addr, done });
    if (this.#receiving) this.#wake();
    else void this.#drain();
    return done.promise;
  }

  /** Receives the next datagram that is not a token, letting queued sends out first. */
  async receive(p?: Uint8Array): Promise<[Uint8Array<ArrayBuffer>, Deno.Addr]> {
    for (;;) {
      // Checked and started in one synchronous step, so no send slips in between.
      while (this.#draining !== undefined || this.#queue.length > 0) await this.#drain();
      this.#receiving = true;
      let received: [Uint8Array<ArrayBuffer>, Deno.Addr];
      try {
        received = await this.#socket.receive(p);
      } finally {
        this.#receiving = false;
      }
      if (this.#isToken(received, Math.min(TOKEN_LENGTH, p?.length ?? TOKEN_LENGTH))) {
        this.#woken = false;
        continue;
      }
      return received;
    }
  }

  close(): void {
    this.#closed = true;
    this.#waker?.close();
    this.#waker = undefined;
    const queued = this.#queue;
    this.#queue = [];
    for (const send of queued) {
      send.done.reject(new Deno.errors.BadResource("Socket has been closed"));
    }
    this.#socket.close();
  }

  joinMulticastV4(address: string, networkInterface: string): Promise<Deno.MulticastV4Membership> {
    return this.#socket.joinMulticastV4(address, networkInterface);
  }

  joinMulticastV6(address: string, networkInterface: number): Promise<Deno.MulticastV6Membership> {
    return this.#socket.joinMulticastV6(address, networkInterface);
  }

  async *[Symbol.asyncIterator](): AsyncIterableIterator<[Uint8Array<ArrayBuffer>, Deno.Addr]> {
    for (;;) {
      try {
        yield await this.receive();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return;
        throw error;
      }
    }
  }

  /** Sends the queued datagrams one after another; one drain at a time. */
  #drain(): Promise<void> {
    return this.#draining ??= (async () => {
      try {
        for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
          try {
            next.done.resolve(await this.#socket.send(next.bytes, next.address));
          } catch (error) {
            next.done.reject(error);
          }
        }
      } finally {
        this.#draining = undefined;
      }
    })();
  }

  /** Sends the token to our own path, so the pending receive returns. */
  #wake(): void {
    if (this.#woken) return;
    this.#woken = true;
    try {
      this.#waker ??= Deno.listenDatagram({ transport: "unixpacket" });
    } catch (error) {
      this.#woken = false;
      this.#failQueued(error);
      return;
    }
    this.#waker.send(this.#token, { transport: "unixpacket", path: this.#path }).catch((error) => {
      // No token on its way: the queued sends wait for the next datagram, or fail here.
      this.#woken = false;
      this.#failQueued(error);
    });
  }

  #failQueued(error: unknown): void {
    const queued = this.#queue;
    this.#queue = [];
    for (const send of queued) send.done.reject(error);
  }

  /**
   * Whether a datagram is our token: from an unbound socket, and equal to it
   * in the `kept` bytes a receive buffer smaller than the token holds.
   */
  #isToken([data, from]: [Uint8Array, Deno.Addr], kept: number): boolean {
    if (!this.#woken || !("path" in from) || from.path || data.length !== kept) return false;
    for (let i = 0; i < kept; i++) if (data[i] !== this.#token[i]) return false;
    return true;
  }
}
