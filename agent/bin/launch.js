// Starts an entry point from dist/ (compiled by `npm ci` through the prepare script, or `npm run build`)
// when it is at least as new as the TypeScript sources; otherwise runs the sources through tsx, so an
// edited checkout never runs stale code. Compiled, the agent needs ~40 MB less memory and starts faster.
import { existsSync, readdirSync, statSync } from "node:fs";

const root = new URL("../../", import.meta.url);
const SOURCE_DIRS = ["agent", "controlplane", "dataplane", "proto"];

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function compiledIsFresh() {
  const stamp = new URL("dist/.built", root);
  if (!existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  return SOURCE_DIRS.every((dir) => newestMtime(new URL(dir, root).pathname) <= built);
}

/** entry: a path below the repository without extension, e.g. "agent/weftd". */
export async function launch(entry) {
  if (compiledIsFresh()) {
    await import(new URL(`dist/${entry}.js`, root).href);
    return;
  }
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL(`${entry}.ts`, root).href);
}
