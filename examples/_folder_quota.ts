// Used by examples/file_server.ts: --max-total bounds what --dir holds.

/** Temporary files of uploads in progress: their final size is reserved instead. */
const PART_FILE = /^\..*\.part$/;

/**
 * The bytes a folder may hold: the files in it plus the uploads in progress
 * (each reserves its declared size before its first byte is written).
 * `--max-size` bounds one file; this bounds them all.
 */
export class FolderQuota {
  readonly folder: string;
  readonly limit: number;
  #reserved = 0;

  constructor(folder: string, limit: number) {
    this.folder = folder;
    this.limit = limit;
  }

  /**
   * Reserves `size` bytes until the returned handle is disposed.
   *
   * @returns The reservation, or why there is no room.
   */
  async reserve(size: number): Promise<Disposable | string> {
    // Reserved before the folder is measured: two uploads measuring at once
    // each count the other, so together they never pass the limit.
    this.#reserved += size;
    const release = { [Symbol.dispose]: () => void (this.#reserved -= size) };
    const total = await this.#stored() + this.#reserved;
    if (total <= this.limit) return release;
    release[Symbol.dispose]();
    return `no room: ${size} more bytes would bring ${this.folder} to ${total}, ` +
      `over --max-total ${this.limit}`;
  }

  async #stored(): Promise<number> {
    let bytes = 0;
    for await (const entry of Deno.readDir(this.folder)) {
      if (!entry.isFile || PART_FILE.test(entry.name)) continue;
      bytes += await Deno.lstat(`${this.folder}/${entry.name}`).then((info) => info.size, () => 0);
    }
    return bytes;
  }
}
