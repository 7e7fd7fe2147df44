// The directory holding weft's package.json, found by walking up from a module's own location, so
// that paths into the repository (agent/bin/weftd.js) are the same whether the code runs from its
// TypeScript sources or compiled under dist/.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function packageRoot(fromModule: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(fromModule));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(fromModule)}`);
    dir = parent;
  }
}
