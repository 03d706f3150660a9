// Run as a subprocess with --v8-flags=--expose-gc: serves 2 × N short
// connections and prints the heap growth of the second batch, after GC, in
// bytes. A server that keeps something per accepted connection grows with N.

// The module under test is passed by URL, so an older tree can be probed too.
const { ThreadingTCPServer, StreamRequestHandler }: typeof import("../../mod.ts") = await import(
  Deno.args[0]
);
const N = Number(Deno.args[1] ?? 3000);

class Ping extends StreamRequestHandler {
  override async handle(): Promise<void> {
    await this.wfile.write("p");
  }
}

const server = new ThreadingTCPServer({ hostname: "127.0.0.1", port: 0 }, Ping);
const serving = server.serveForever();
const gc = (globalThis as unknown as { gc: () => void }).gc;

async function batch(): Promise<number> {
  for (let i = 0; i < N; i++) {
    const conn = await Deno.connect(server.address);
    await conn.read(new Uint8Array(1));
    conn.close();
  }
  while (server.activeRequests > 0) await new Promise((resolve) => setTimeout(resolve, 1));
  gc();
  return Deno.memoryUsage().heapUsed;
}

await batch(); // Warm up: code, caches and pools settle.
const before = await batch();
const after = await batch();
console.log(after - before);
await server.shutdown();
await serving;
await server.serverClose();
