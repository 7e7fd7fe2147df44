// Fails when proto/gen is stale: regenerates into a temporary directory and compares.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const root = new URL("../..", import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), "weft-gen-"));
const template = join(out, "buf.gen.yaml");
writeFileSync(
  template,
  readFileSync(join(root, "buf.gen.yaml"), "utf8")
    .replace("out: proto/gen", `out: ${join(out, "gen")}`)
    .replace("local: node_modules/.bin/protoc-gen-es", `local: ${join(root, "node_modules/.bin/protoc-gen-es")}`),
);
execFileSync(join(root, "node_modules/.bin/buf"), ["generate", "--template", template], { cwd: root, stdio: "inherit" });
const files = (dir) =>
  readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : [join(dir, name)]));
const fresh = new Map(files(join(out, "gen")).map((f) => [relative(join(out, "gen"), f), readFileSync(f, "utf8")]));
const committed = new Map(files(join(root, "proto/gen")).map((f) => [relative(join(root, "proto/gen"), f), readFileSync(f, "utf8")]));
rmSync(out, { recursive: true, force: true });
const stale = [...new Set([...fresh.keys(), ...committed.keys()])].filter((f) => fresh.get(f) !== committed.get(f));
if (stale.length > 0) {
  console.error(`proto/gen is stale (${stale.join(", ")}): run 'npm run generate' and commit the result`);
  process.exit(1);
}
