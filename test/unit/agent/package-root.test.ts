import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../../agent/package-root.js";

describe("packageRoot", () => {
  it("finds the same root from a source module and from its compiled copy under dist/", () => {
    const root = mkdtempSync(join(tmpdir(), "weft-root-"));
    try {
      writeFileSync(join(root, "package.json"), "{}");
      mkdirSync(join(root, "agent", "lab"), { recursive: true });
      mkdirSync(join(root, "dist", "agent", "lab"), { recursive: true });
      expect(packageRoot(pathToFileURL(join(root, "agent", "lab", "x.ts")).href)).toBe(root);
      expect(packageRoot(pathToFileURL(join(root, "dist", "agent", "lab", "x.js")).href)).toBe(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("is this repository for weft's own modules, where the weftd shim lives", () => {
    expect(existsSync(join(packageRoot(), "agent", "bin", "weftd.js"))).toBe(true);
  });
});
