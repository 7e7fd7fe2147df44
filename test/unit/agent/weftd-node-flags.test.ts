// weftd runs with Node flags from its #! line when started as a command, and from WEFTD_NODE_FLAGS
// when the lab starts it through process.execPath: the two must not drift apart.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { WEFTD_NODE_FLAGS } from "../../../agent/lab/lab-agent-process.js";

describe("weftd's Node flags", () => {
  it("are the same on the #! line and in the lab", () => {
    const shebang = readFileSync(new URL("../../../agent/bin/weftd.js", import.meta.url), "utf8").split("\n")[0]!;
    expect(shebang).toBe(`#!/usr/bin/env -S node ${WEFTD_NODE_FLAGS.join(" ")}`);
  });
});
