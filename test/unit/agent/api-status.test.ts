// API errors: one map from WeftError codes to gRPC statuses; everything else is INTERNAL. Checked
// end to end through the real API server and client, with errors thrown by the real gossip and
// dataplane code, and the CLI's tables escape foreign text.
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nacl from "tweetnacl";
import { afterAll, describe, expect, it } from "vitest";
import type { Agent } from "../../../agent/agent.js";
import { startApiServer } from "../../../agent/api-server.js";
import { toStatusError } from "../../../agent/api-status.js";
import { renderTable } from "../../../agent/cli/table.js";
import { inspectNetworkNamespace } from "../../../dataplane/index.js";
import { GossipNode } from "../../../controlplane/gossip/index.js";
import { MemoryNetwork } from "../../../controlplane/gossip/memory-network.js";
import { AttachEndpointRequestSchema, WeftService } from "../../../proto/gen/weft/v1/api_pb.js";
import { createUnaryClient } from "../../../proto/grpc-binding.js";
import { WeftError } from "../../../proto/values/index.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function statusOf(attach: () => Promise<unknown>): Promise<{ code: number; details: string }> {
  const dir = await mkdtemp(join(tmpdir(), "weft-api-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const socket = join(dir, "api.sock");
  const agent = { attachEndpoint: attach } as unknown as Agent;
  const server = await startApiServer(socket, agent, () => undefined);
  cleanups.push(() => server.forceShutdown());
  const client = createUnaryClient(WeftService, `unix:${socket}`);
  try {
    await client.attachEndpoint(create(AttachEndpointRequestSchema, { network: "blue", netns: "c1" }), { deadlineMs: 5000 });
    return { code: grpc.status.OK, details: "" };
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details };
  } finally {
    client.close();
  }
}

describe("API status mapping", () => {
  it.each([
    ["invalid-argument", grpc.status.INVALID_ARGUMENT],
    ["not-found", grpc.status.NOT_FOUND],
    ["already-exists", grpc.status.ALREADY_EXISTS],
    ["failed-precondition", grpc.status.FAILED_PRECONDITION],
    ["resource-exhausted", grpc.status.RESOURCE_EXHAUSTED],
    ["unavailable", grpc.status.UNAVAILABLE],
    ["internal", grpc.status.INTERNAL],
  ] as const)("maps %s to its gRPC status", (code, status) => {
    expect(toStatusError(new WeftError(code, "x: y")).code).toBe(status);
  });

  it("maps anything that is not a WeftError to INTERNAL", () => {
    expect(toStatusError(new TypeError("boom")).code).toBe(grpc.status.INTERNAL);
    expect(toStatusError("a string").code).toBe(grpc.status.INTERNAL);
  });

  it("an invalid-argument from the gossip reaches the client as INVALID_ARGUMENT", async () => {
    const keyPair = nacl.sign.keyPair();
    const gossip = new GossipNode({
      name: "h1",
      keyPair,
      transport: new MemoryNetwork().transport("10.0.0.1:7946"),
      policy: { isKnownNetwork: () => true, ownerSlices: () => ["10.40.1.0/24"], ownerVtep: () => "10.0.0.1" },
    });
    const result = await statusOf(async () => gossip.publish({ network: "blue", endpointId: "e1", ip: "10.40.1.2", mac: "not-a-mac", vtep: "10.0.0.1", name: "c1" }));
    expect(result.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it("an invalid-argument from the dataplane reaches the client as INVALID_ARGUMENT, naming the field", async () => {
    const result = await statusOf(async () => inspectNetworkNamespace("/proc/self/ns/net"));
    expect(result.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(result.details.startsWith("netns: ")).toBe(true);
  });
});

describe("CLI tables", () => {
  it("escape control characters in every cell", () => {
    const out = renderTable(["NAME", "NODE"], [["evil\x1b[2J\nname", "h1\r"]]);
    expect(out).not.toMatch(/\x1b|\r/);
    expect(out.split("\n")).toHaveLength(3);
    expect(out).toContain("evil\\x1b[2J\\x0aname");
  });
});
