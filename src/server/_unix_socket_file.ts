// Internal: binding a Unix socket path when a crashed process left its file.

/**
 * Binds with `bind(path)`; when the path is taken by a socket file that no
 * live socket holds (a crashed server's leftover), removes it and binds
 * again. A live server's socket, or a file that is not a socket, is never
 * removed: the original `AddrInUse` is thrown with the reason.
 */
export function bindUnixPath<T>(path: string, bind: () => T): T {
  try {
    return bind();
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    const reason = staleSocketCheck(path);
    if (reason !== undefined) {
      throw new Deno.errors.AddrInUse(`Cannot bind ${path}: ${reason}`);
    }
    Deno.removeSync(path);
    return bind();
  }
}

/** Removes the socket file at `path` if it is still the one with inode `ino`. */
export function removeSocketFile(path: string, ino: number | null): void {
  try {
    const info = Deno.lstatSync(path);
    if (info.isSocket && info.ino === ino) Deno.removeSync(path);
  } catch {
    // Already gone, or not ours to remove.
  }
}

/** The inode of the socket file at `path`, to recognise it when closing. */
export function socketFileInode(path: string): number | null {
  try {
    return Deno.lstatSync(path).ino;
  } catch {
    return null;
  }
}

/** `undefined` when `path` is a stale socket file; otherwise why it must stay. */
function staleSocketCheck(path: string): string | undefined {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch {
    return "address in use";
  }
  if (!info.isSocket) return "the path exists and is not a socket";
  let table: string;
  try {
    // Linux lists every bound Unix socket with its path; other systems cannot tell.
    table = Deno.readTextFileSync("/proc/net/unix");
  } catch {
    // Deno lets /proc/net/unix be read only with --allow-all (even a read grant
    // for that path is not enough); a connect() would tell, but it is async.
    return "a socket file exists, and telling a stale one from a live server's needs /proc/net/unix, which Deno reads only with --allow-all: remove the file if no server uses it";
  }
  const absolute = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  for (const line of table.split("\n")) {
    const bound = line.split(/\s+/)[7];
    if (bound === path || bound === absolute) return "a running server is bound to it";
  }
  return undefined;
}
