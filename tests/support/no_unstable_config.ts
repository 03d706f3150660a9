// Runs Deno in a subprocess without the project's "unstable": ["net"], to
// prove the error a user sees without --unstable-net. `--no-config` alone
// would drop the import map too, and the library's own `@std/...` imports
// would no longer resolve.

const projectConfig = new URL("../../deno.json", import.meta.url);

/**
 * Writes a config with the project's import map and nothing else into
 * `dir`, and returns the flags that make `deno run` use it.
 */
export async function noUnstableConfigArgs(dir: string): Promise<string[]> {
  const { imports } = JSON.parse(await Deno.readTextFile(projectConfig));
  const path = `${dir}/deno.json`;
  await Deno.writeTextFile(path, JSON.stringify({ imports, lock: false }));
  return ["--config", path];
}
