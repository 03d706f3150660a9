// Internal: a datagram server's socket as handlers see it (`request[1]` and
// `server.socket`): each send asks the server's reply guard first (the
// amplification limit and the reflection rule). Everything else goes
// straight through; the server itself receives on the socket underneath.

/** Decides whether a send may go out; reports it when not. */
export type SendCheck = (destination: Deno.Addr, bytes: Uint8Array) => boolean;

/** A datagram socket whose sends pass a check. */
export class GuardedSocket implements Deno.DatagramConn {
  readonly #socket: Deno.DatagramConn;
  readonly #check: SendCheck;

  constructor(socket: Deno.DatagramConn, check: SendCheck) {
    this.#socket = socket;
    this.#check = check;
  }

  get addr(): Deno.Addr {
    return this.#socket.addr;
  }

  /** Sends, unless the check refuses: then nothing is sent and this resolves to 0. */
  send(p: Uint8Array, addr: Deno.Addr): Promise<number> {
    if (!this.#check(addr, p)) return Promise.resolve(0);
    return this.#socket.send(p, addr);
  }

  receive(p?: Uint8Array): Promise<[Uint8Array<ArrayBuffer>, Deno.Addr]> {
    return this.#socket.receive(p);
  }

  close(): void {
    this.#socket.close();
  }

  joinMulticastV4(address: string, networkInterface: string): Promise<Deno.MulticastV4Membership> {
    return this.#socket.joinMulticastV4(address, networkInterface);
  }

  joinMulticastV6(address: string, networkInterface: number): Promise<Deno.MulticastV6Membership> {
    return this.#socket.joinMulticastV6(address, networkInterface);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<[Uint8Array<ArrayBuffer>, Deno.Addr]> {
    return this.#socket[Symbol.asyncIterator]();
  }
}
