// The conntrack(8) shell: which entries it asks to delete, and how it reads the tool's answer.
import { describe, expect, it } from "vitest";
import { KernelError, conntrackCommand } from "../../../../dataplane/index.js";

/** A stand-in for conntrack: prints its arguments and the tool's count line, exits with `status`. */
const fake = (status: number, said = "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been deleted.") =>
  conntrackCommand(["sh", "-c", `echo "$*" >&2; echo '${said}' >&2; exit ${status}`, "conntrack"]);

describe("conntrackCommand", () => {
  it("deletes only the mesh's entries (its ct mark bit) whose reply comes from each removed backend, summing the counts", async () => {
    expect(await fake(0).deleteMeshEntries(["10.40.2.1", "10.40.2.2"])).toBe(4);
    const strict = conntrackCommand([
      "sh",
      "-c",
      `[ "$*" = "-D --reply-src 10.40.2.1 --mark 0x1000000/0x1000000" ] && echo '1 flow entries have been deleted.' >&2`,
      "conntrack",
    ]);
    expect(await strict.deleteMeshEntries(["10.40.2.1"])).toBe(1);
  });

  it("takes conntrack's status 1 with its count line as 'nothing matched', not as a failure", async () => {
    expect(await fake(1, "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.").deleteMeshEntries(["10.40.2.1"])).toBe(0);
  });

  it("fails with conntrack's own message otherwise, and refuses what is not an address before running anything", async () => {
    await expect(fake(2, "conntrack: Operation not permitted").deleteMeshEntries(["10.40.2.1"])).rejects.toThrow(/Operation not permitted/);
    await expect(fake(0).deleteMeshEntries(["10.40.2.1 -F"])).rejects.toBeInstanceOf(KernelError);
    await expect(conntrackCommand(["/nonexistent/conntrack"]).deleteMeshEntries(["10.40.2.1"])).rejects.toThrow(/apt-get install -y conntrack/);
  });
});
