// Shared by examples/file_server.ts and examples/file_client.ts: a file
// that takes its name only once it has all arrived.

/**
 * A file being received: written to a temporary name in the target folder
 * (`.NAME.<random>.part`), and given its final name only by `commit()`.
 * `discard()` removes it; after a commit it does nothing.
 */
export class PartFile {
  readonly path: string;
  readonly finalPath: string;
  #file: Deno.FsFile | undefined;

  private constructor(path: string, finalPath: string, file: Deno.FsFile) {
    this.path = path;
    this.finalPath = finalPath;
    this.#file = file;
  }

  static async create(folder: string, name: string): Promise<PartFile> {
    const path = `${folder}/.${name}.${crypto.randomUUID().slice(0, 8)}.part`;
    const file = await Deno.open(path, { write: true, createNew: true });
    return new PartFile(path, `${folder}/${name}`, file);
  }

  async write(chunk: Uint8Array): Promise<void> {
    for (let offset = 0; offset < chunk.length;) {
      offset += await this.#file!.write(chunk.subarray(offset));
    }
  }

  /**
   * Closes the file and gives it its final name. Without `replace`, a file
   * already there is kept and `Deno.errors.AlreadyExists` thrown.
   */
  async commit(replace: boolean): Promise<void> {
    this.#close();
    if (replace) {
      await Deno.rename(this.path, this.finalPath);
    } else {
      // link() fails if the name exists: no window in which another file is overwritten.
      await Deno.link(this.path, this.finalPath);
      await Deno.remove(this.path);
    }
  }

  /** Removes the temporary file, if it is still there. */
  async discard(): Promise<void> {
    this.#close();
    await Deno.remove(this.path).catch(() => {});
  }

  #close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}
