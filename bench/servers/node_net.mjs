/**
 * A length-prefixed echo server written the way Node users write one: `net`,
 * a `data` handler that accumulates chunks, slices out complete frames and
 * writes each reply (header + payload) with `socket.write`, corked per chunk
 * so the replies to one chunk leave together.
 *
 * Usage: `node bench/servers/node_net.mjs --port N`. Prints
 * `listening on 127.0.0.1:PORT` once ready; SIGTERM's default action ends it.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import net from "node:net";
import process from "node:process";

const HEADER_LENGTH = 4;
/** Larger frames close the connection, as the framework's default does. */
const MAX_FRAME_LENGTH = 8 * 1024 * 1024;

function parsePort(args) {
  const at = args.indexOf("--port");
  const port = Number(at >= 0 ? args[at + 1] : Number.NaN);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error("usage: node_net.mjs --port N");
    process.exit(2);
  }
  return port;
}

function serveConnection(socket) {
  socket.setNoDelay(true);
  let chunks = [];
  let buffered = 0;
  let needed = HEADER_LENGTH; // bytes the next frame needs

  socket.on("data", (chunk) => {
    chunks.push(chunk);
    buffered += chunk.length;
    if (buffered < needed) return;
    // Concatenate only once a frame is complete, so a large frame arriving in
    // many chunks is copied once, not once per chunk.
    const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, buffered);
    let offset = 0;
    let flowing = true;
    socket.cork();
    while (data.length - offset >= HEADER_LENGTH) {
      const length = data.readUInt32BE(offset);
      if (length > MAX_FRAME_LENGTH) {
        socket.destroy();
        return;
      }
      if (data.length - offset - HEADER_LENGTH < length) break;
      const header = Buffer.allocUnsafe(HEADER_LENGTH);
      header.writeUInt32BE(length);
      socket.write(header);
      flowing = socket.write(
        data.subarray(offset + HEADER_LENGTH, offset + HEADER_LENGTH + length),
      );
      offset += HEADER_LENGTH + length;
    }
    socket.uncork();
    chunks = offset < data.length ? [data.subarray(offset)] : [];
    buffered = data.length - offset;
    needed = buffered >= HEADER_LENGTH ? HEADER_LENGTH + data.readUInt32BE(offset) : HEADER_LENGTH;
    // Backpressure: stop reading until the peer has taken our replies.
    if (!flowing) {
      socket.pause();
      socket.once("drain", () => socket.resume());
    }
  });
  // A reset costs this connection only.
  socket.on("error", () => socket.destroy());
}

const server = net.createServer(serveConnection);
server.listen(parsePort(process.argv.slice(2)), "127.0.0.1", () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
