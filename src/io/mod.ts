/**
 * The hot path: a buffered reader (`rfile`) that reads with `conn.read()`
 * into a buffer it reuses and decodes every frame already buffered before it
 * reads again; a coalescing writer (`wfile`) that sends the replies to a
 * batch in one `write`; and the framed connection that joins them with a
 * codec ({@linkcode FramedConnection}, as tokio-util's `Framed`): the reader
 * flushes the writer each time it is about to wait. Stream handlers,
 * datagram handlers and the framed client ({@linkcode connect}) are each one
 * of these.
 *
 * ```
 * socket ──read()──> BufferedReader ──decode()──> frames ──> handleFrame / for await
 * handler ──sendFrame() / writeFrame()──> BufferedWriter ──one write() per batch──> socket
 * ```
 *
 * Timeouts end a connection that stalls: {@linkcode IdleTimeoutError}
 * (no byte for `idleTimeout`), {@linkcode FrameTimeoutError} (a frame not
 * whole within `frameTimeout`) and {@linkcode WriteTimeoutError} (a peer
 * that does not read for `writeTimeout`) close it; Python's per-read
 * `timeout` fails one read with {@linkcode ReadTimeoutError} and leaves it
 * usable. All are `Deno.errors.TimedOut`, and none arms a timer: one
 * process-wide watchdog keeps every deadline. A {@linkcode FrameMemoryBudget}
 * bounds the memory all connections' large frames hold at once
 * ({@linkcode FrameMemoryError}). {@linkcode isPeerGone} tells a peer that
 * reset or vanished from a real fault.
 *
 * @example A framed request and reply with the client
 * ```ts
 * import { connect } from "@socketserver/core/io";
 * import { LinesCodec } from "@socketserver/core/framing";
 * import { assertEquals } from "@std/assert";
 *
 * // A one-shot line server made with nothing but Deno, for the client to talk to.
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const served = (async () => {
 *   using conn = await listener.accept();
 *   const buffer = new Uint8Array(64);
 *   const count = await conn.read(buffer);
 *   await conn.write(new TextEncoder().encode(
 *     new TextDecoder().decode(buffer.subarray(0, count!)).toUpperCase(),
 *   ));
 * })();
 *
 * await using client = await connect(listener.addr, { codec: new LinesCodec() });
 * assertEquals(await client.request("hello"), "HELLO");
 * await served;
 * listener.close();
 * ```
 *
 * @module
 */

export * from "./buffered_reader.ts";
export * from "./buffered_writer.ts";
export * from "./errors.ts";
export * from "./frame_memory_budget.ts";
export * from "./is_peer_gone.ts";
export * from "./framed_connection.ts";
export * from "./framed_client.ts";
