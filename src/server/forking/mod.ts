/**
 * `ForkingTCPServer`: a pre-fork pool of Deno workers that share one port
 * with SO_REUSEPORT, as nginx does, so a server can use every core. Python
 * forks a process per connection; a pool of workers started once costs
 * less and serves the same handlers.
 *
 * ```
 *            ┌──────── main thread: binds the port, supervises ────────┐
 *   clients ─┤ worker 0: ThreadingTCPServer-like loop on the shared port│
 *            │ worker 1: …                                              │
 *            └──────────────────────────────────────────────────────────┘
 * ```
 *
 * The handler is passed as a module URL and an export name, since a class
 * cannot cross into a worker. Needs Linux and `--unstable-net`.
 *
 * @example Echo on a pool of two workers
 * ```ts
 * import { ForkingTCPServer } from "@socketserver/core/forking";
 * import { assertEquals } from "@std/assert";
 *
 * const source = `
 *   import { StreamRequestHandler } from "${import.meta.resolve("@socketserver/core/server")}";
 *   export class Echo extends StreamRequestHandler {
 *     override async handle() {
 *       for await (const chunk of this.rfile) await this.wfile.write(chunk);
 *     }
 *   }`;
 * const module = `data:application/typescript,${encodeURIComponent(source)}`;
 *
 * await using server = new ForkingTCPServer(
 *   { hostname: "127.0.0.1", port: 0 },
 *   { module, export: "Echo" },
 *   { workers: 2 },
 * );
 * const serving = server.serveForever();
 * using conn = await Deno.connect(server.address);
 * await conn.write(new TextEncoder().encode("ping"));
 * const reply = new Uint8Array(4);
 * assertEquals(await conn.read(reply), 4);
 * await server.shutdown();
 * await serving;
 * ```
 *
 * @module
 */

export * from "./forking_tcp_server.ts";
export * from "./errors.ts";
