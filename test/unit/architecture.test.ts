// The layer rules that `npm run check:deps` (dependency-cruiser) cannot see, plus proof that its
// configuration still catches each rule it states: a tree that breaks every rule once must fail.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|js|mjs|cjs)$/.test(entry.name) ? [path] : [];
  });
}

// process.env, process.argv, process["env"], and env/argv imported from (node:)process.
const READS_ENVIRONMENT = /\bprocess\s*(\.\s*|\[\s*["'`])(env|argv)\b|import\s*\{[^}]*\b(env|argv)\b[^}]*\}\s*from\s*["'](node:)?process["']/;

describe("only agent/ reads the environment and the command line", () => {
  for (const layer of ["controlplane", "dataplane", "proto"]) {
    it(`${layer}/ never reads process.env or process.argv`, () => {
      const offenders = sourceFiles(join(root, layer)).flatMap((file) =>
        readFileSync(file, "utf8")
          .split("\n")
          .flatMap((line, index) => (READS_ENVIRONMENT.test(line) ? [`${relative(root, file)}:${index + 1}: ${line.trim()}`] : [])),
      );
      expect(offenders, "configuration reaches these layers as arguments from agent/").toEqual([]);
    });
  }

  it("the pattern recognises each way of reading them", () => {
    for (const line of ['const x = process.env.HOME;', 'process.argv.slice(2)', 'process["env"]', 'import { env } from "node:process";']) {
      expect(READS_ENVIRONMENT.test(line), line).toBe(true);
    }
    expect(READS_ENVIRONMENT.test("const environment = options.env;")).toBe(false);
  });
});

describe("the dependency-cruiser rules catch what they state", () => {
  const fixture = mkdtempSync(join(tmpdir(), "weft-architecture-"));
  afterAll(() => rmSync(fixture, { recursive: true, force: true }));

  it("fails a tree that breaks every rule once, naming each rule", async () => {
    const files: Record<string, string> = {
      "tsconfig.json": JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext" } }),
      "package.json": JSON.stringify({ type: "module" }),
      "agent/main.ts": 'import "../dataplane/fake-kernel.js";\nimport "../test/helpers/thing.js";\n',
      "controlplane/a.ts": 'import "../dataplane/b.js";\nimport "../agent/main.js";\n',
      "controlplane/cycle-one.ts": 'import "./cycle-two.js";\n',
      "controlplane/cycle-two.ts": 'import type {} from "./cycle-one.js";\n',
      "controlplane/gossip/index.ts": 'export * from "./memory-network.js";\n',
      "controlplane/gossip/memory-network.ts": "export const memory = 1;\n",
      "dataplane/b.ts": 'import "../controlplane/gossip/index.js";\n',
      "dataplane/fake-kernel.ts": "export const fake = 1;\n",
      "proto/p.ts": 'import "../controlplane/gossip/index.js";\n',
      "test/helpers/thing.ts": "export const thing = 1;\n",
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(fixture, path)), { recursive: true });
      writeFileSync(join(fixture, path), text);
    }
    const depcruise = join(root, "node_modules/.bin/depcruise");
    const config = join(root, ".dependency-cruiser.cjs");
    const result = await promisify(execFile)(depcruise, ["--config", config, "agent", "controlplane", "dataplane", "proto", "test"], {
      cwd: fixture,
    }).then(
      () => ({ failed: false, output: "" }),
      (error: { stdout: string; stderr: string }) => ({ failed: true, output: error.stdout + error.stderr }),
    );
    expect(result.failed).toBe(true);
    const expected = [
      "controlplane-not-dataplane: controlplane/a.ts → dataplane/b.ts",
      "dataplane-not-controlplane: dataplane/b.ts → controlplane/gossip/index.ts",
      "layers-not-agent: controlplane/a.ts → agent/main.ts",
      "proto-is-the-bottom: proto/p.ts → controlplane/gossip/index.ts",
      "production-not-test-doubles: agent/main.ts → dataplane/fake-kernel.ts",
      "production-not-test-doubles: agent/main.ts → test/helpers/thing.ts",
      "production-not-test-doubles: controlplane/gossip/index.ts → controlplane/gossip/memory-network.ts",
      "no-circular: controlplane/cycle-one.ts",
    ];
    for (const line of expected) expect(result.output).toContain(line);
  });
});
