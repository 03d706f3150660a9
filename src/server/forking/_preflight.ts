// Internal: what ForkingTCPServer checks before it binds, so a mistake fails
// in the constructor with a message that says how to fix it rather than
// later, inside a worker; and loading the handler class, which the main
// thread does first for the same reason.

import type { RequestHandlerClass } from "../../handlers/base_request_handler.ts";

/** Where the workers find the handler class (see `HandlerModule`). */
export interface HandlerReference {
  module: string | URL;
  export?: string;
}

/**
 * The handler module's URL and export name, or a TypeError that says how to
 * pass them.
 *
 * @throws {TypeError} A class was passed, or the module is not an absolute
 * URL, or it is the main module, or the export is not a name.
 */
export function handlerModule(handler: HandlerReference): { module: URL; export: string } {
  if (typeof handler === "function") {
    const name = (handler as { name?: string }).name || "Handler";
    throw new TypeError(
      `Cannot fork class ${name}: a class cannot cross into a worker; export it from its own module and pass { module: new URL("./handlers.ts", import.meta.url), export: "${name}" }`,
    );
  }
  if (typeof handler !== "object" || handler === null || !("module" in handler)) {
    throw new TypeError(
      `Cannot fork handler: expected { module, export }, got ${String(handler)}`,
    );
  }
  let url: URL;
  try {
    url = new URL(handler.module);
  } catch {
    throw new TypeError(
      `Cannot fork handler: module must be an absolute URL such as new URL("./handlers.ts", import.meta.url), got ${
        String(handler.module)
      }`,
    );
  }
  if (url.href === Deno.mainModule) {
    throw new TypeError(
      `Cannot fork a handler from the main module ${url.href}: each worker would run the program again; move the handler to a module of its own`,
    );
  }
  const exportName = handler.export ?? "default";
  if (typeof exportName !== "string" || exportName === "") {
    throw new TypeError(`Cannot fork handler: export must be a name, got ${String(exportName)}`);
  }
  return { module: url, export: exportName };
}

/**
 * Imports the handler module and returns the named class: the same check in
 * the main thread (first, so a mistake surfaces from `serveForever()`) and in
 * each worker.
 *
 * @throws {TypeError} The export is missing or not a class.
 */
export async function loadHandlerClass(
  module: string,
  exportName: string,
): Promise<RequestHandlerClass<Deno.Conn, Deno.Addr>> {
  const namespace: Record<string, unknown> = await import(module);
  const Handler = namespace[exportName];
  if (typeof Handler !== "function") {
    const exports = Object.keys(namespace).join(", ") || "none";
    throw new TypeError(
      `Cannot load handler: ${module} has no class exported as "${exportName}" (its exports: ${exports})`,
    );
  }
  return Handler as RequestHandlerClass<Deno.Conn, Deno.Addr>;
}

/**
 * Throws where SO_REUSEPORT does not spread connections over listeners.
 * Deno sets `reusePort` on Linux only and silently ignores it elsewhere, so
 * the workers' binds would fail or one listener would get every connection.
 *
 * @throws {Deno.errors.NotSupported} Not Linux.
 */
export function assertReusePortBalancing(os: string): void {
  if (os !== "linux") {
    throw new Deno.errors.NotSupported(
      `Cannot use ForkingTCPServer on ${os}: it needs SO_REUSEPORT load balancing, which Deno offers on Linux only (use ThreadingTCPServer)`,
    );
  }
}

/**
 * Throws unless Deno may read `url` when it is a local file: a Worker's
 * module and a dynamically imported handler module both need `--allow-read`,
 * and without it the failure would come later, from inside a worker.
 *
 * @throws {Deno.errors.NotCapable} Read access is not granted.
 */
export function assertReadable(url: URL, what: string): void {
  if (url.protocol !== "file:") return;
  const path = decodeURIComponent(url.pathname);
  if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") {
    throw new Deno.errors.NotCapable(
      `Cannot start ForkingTCPServer: loading ${what} ${path} in each worker needs read access (run with --allow-read)`,
    );
  }
}
