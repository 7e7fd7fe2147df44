// Services through the real API server and client (errors as gRPC statuses naming the field), and
// the CLI's service commands parsed by commander with a fake API.
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { Command } from "commander";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import type { Agent } from "../../../agent/agent.js";
import { startApiServer } from "../../../agent/api-server.js";
import type { Api, WithApi } from "../../../agent/cli/api-client.js";
import { addServiceCommands, createServiceRequest } from "../../../agent/cli/service-commands.js";
import { ServiceOperations } from "../../../agent/services/service-operations.js";
import { validateServiceSpec, type ServiceRecord, type ServiceSpec } from "../../../controlplane/services/index.js";
import { CreateServiceRequestSchema, ServicePortSchema, WeftService } from "../../../proto/gen/weft/v1/api_pb.js";
import { createUnaryClient } from "../../../proto/grpc-binding.js";
import { WeftError } from "../../../proto/values/index.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A registry that validates like the real one and keeps services in a map. */
function fakeRegistry() {
  const services = new Map<string, ServiceRecord>();
  return {
    services,
    snapshot: () => ({ services }) as never,
    async createService(spec: ServiceSpec): Promise<ServiceRecord> {
      const valid = validateServiceSpec(spec);
      if (valid.network !== "blue") throw new WeftError("not-found", `network: no network named "${valid.network}"`, { field: "network" });
      if (services.has(valid.name)) throw new WeftError("already-exists", `name: a service named "${valid.name}" already exists`, { field: "name" });
      const record: ServiceRecord = { ...valid, ports: valid.ports ?? [], mode: valid.mode ?? "vip", affinity: valid.affinity ?? "none", vip: "10.40.255.1", createdAt: "2026-01-01T00:00:00Z" };
      services.set(record.name, record);
      return record;
    },
    async removeService(name: string): Promise<void> {
      if (!services.delete(name)) throw new WeftError("not-found", `name: no service named "${name}"`, { field: "name" });
    },
  };
}

async function serve() {
  const dir = await mkdtemp(join(tmpdir(), "weft-service-api-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const registry = fakeRegistry();
  const backends = [{ ip: "10.40.2.2", endpointId: "e2", owner: "h2", name: "web2" }];
  const view = {
    withBackends: (record: ServiceRecord) => ({ record, backends }),
    get: (name: string) => (registry.services.has(name) ? { record: registry.services.get(name)!, backends } : undefined),
    list: () => [...registry.services.values()].map((record) => ({ record, backends })),
  };
  const services = new ServiceOperations({ registry, view, log: () => undefined });
  const socket = join(dir, "api.sock");
  const server = await startApiServer(socket, { services } as unknown as Agent, () => undefined);
  cleanups.push(() => server.forceShutdown());
  const client = createUnaryClient(WeftService, `unix:${socket}`);
  cleanups.push(() => client.close());
  return client;
}

async function statusOf(call: Promise<unknown>): Promise<{ code: number; details: string }> {
  return call.then(
    () => ({ code: grpc.status.OK, details: "" }),
    (err: grpc.ServiceError) => ({ code: err.code, details: err.details }),
  );
}

describe("service API", () => {
  it("creates, lists, inspects and removes; bad input gets a status naming the field", async () => {
    const client = await serve();
    const request = (extra: Partial<{ name: string; network: string; selector: Record<string, string>; ports: Array<{ protocol: string; published: number; target: number; publishMode: string }> }> = {}) =>
      create(CreateServiceRequestSchema, {
        name: "web",
        network: "blue",
        selector: { app: "web" },
        ...extra,
        ports: (extra.ports ?? [{ protocol: "tcp", published: 8080, target: 80, publishMode: "" }]).map((p) => create(ServicePortSchema, p)),
      });
    const created = await client.createService(request());
    expect(created.service).toMatchObject({ name: "web", network: "blue", mode: "vip", affinity: "none", vip: "10.40.255.1", selector: { app: "web" } });
    expect(created.service!.ports).toEqual([expect.objectContaining({ protocol: "tcp", published: 8080, target: 80, publishMode: "ingress" })]);
    expect(created.service!.backends).toEqual([expect.objectContaining({ endpointId: "e2", name: "web2", ip: "10.40.2.2", node: "h2" })]);

    const listed = await client.listServices({});
    expect(listed.services.map((s) => s.name)).toEqual(["web"]);
    expect((await client.inspectService({ name: "web" })).service!.vip).toBe("10.40.255.1");

    const taken = await statusOf(client.createService(request()));
    expect(taken).toEqual({ code: grpc.status.ALREADY_EXISTS, details: expect.stringMatching(/^name: /) });
    const outOfRange = await statusOf(client.createService(request({ name: "big", ports: [{ protocol: "tcp", published: 70000, target: 80, publishMode: "" }] })));
    expect(outOfRange.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(outOfRange.details).toMatch(/^ports\[0\]\.published: /);
    const badProtocol = await statusOf(client.createService(request({ name: "sctp", ports: [{ protocol: "sctp", published: 81, target: 80, publishMode: "" }] })));
    expect(badProtocol.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badProtocol.details).toMatch(/^ports\[0\]\.protocol: /);
    const noSelector = await statusOf(client.createService(request({ name: "nosel", selector: {} })));
    expect(noSelector.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(noSelector.details).toMatch(/^selector/);
    const unknownNetwork = await statusOf(client.createService(request({ name: "lost", network: "nope" })));
    expect(unknownNetwork).toEqual({ code: grpc.status.NOT_FOUND, details: expect.stringMatching(/^network: /) });

    expect(await statusOf(client.inspectService({ name: "nope" }))).toEqual({ code: grpc.status.NOT_FOUND, details: 'name: no service named "nope"' });
    expect((await statusOf(client.inspectService({ name: "" }))).code).toBe(grpc.status.INVALID_ARGUMENT);
    await client.removeService({ name: "web" });
    expect((await statusOf(client.removeService({ name: "web" }))).code).toBe(grpc.status.NOT_FOUND);
    expect((await client.listServices({})).services).toEqual([]);
  });
});

describe("weft service (CLI)", () => {
  afterEach(() => vi.restoreAllMocks());

  /** Runs argv against the service commands with a fake API; returns the requests made and stdout. */
  async function run(argv: string[]): Promise<{ calls: Array<[string, unknown]>; out: string; error?: string }> {
    const calls: Array<[string, unknown]> = [];
    const api = new Proxy({}, {
      get: (_t, method: string) => async (req: unknown) => {
        calls.push([method, req]);
        const service = { name: "web", network: "blue", mode: "vip", vip: "10.40.255.1", selector: { app: "web" }, ports: [], backends: [] };
        if (method === "createService") return create(WeftService.method.createService.output, { service });
        if (method === "inspectService") return create(WeftService.method.inspectService.output, { service });
        return create(WeftService.method.listServices.output, {});
      },
    }) as Api;
    const withApi: WithApi = (_cmd, work) => work(api);
    let out = "";
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
    const program = new Command("weft").option("--json").exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    addServiceCommands(program, withApi);
    try {
      await program.parseAsync(argv, { from: "user" });
      return { calls, out };
    } catch (err) {
      return { calls, out, error: (err as Error).message };
    }
  }

  it("create: selector, repeated --publish with protocol and mode, mode and affinity", async () => {
    const { calls, out } = await run(["service", "create", "web", "--network", "blue", "--selector", "app=web,tier=front", "--publish", "8080:80", "--publish", "5353:53/udp,mode=local", "--mode", "vip", "--affinity", "client-ip"]);
    expect(calls).toHaveLength(1);
    const [method, req] = calls[0]!;
    expect(method).toBe("createService");
    expect(req).toMatchObject({ name: "web", network: "blue", selector: { app: "web", tier: "front" }, mode: "vip", affinity: "client-ip" });
    expect((req as { ports: unknown[] }).ports).toEqual([
      expect.objectContaining({ protocol: "tcp", published: 8080, target: 80, publishMode: "ingress" }),
      expect.objectContaining({ protocol: "udp", published: 5353, target: 53, publishMode: "local" }),
    ]);
    expect(out).toContain("web: vip 10.40.255.1 in blue");
  });

  it("create: bad --publish, --selector or --mode are refused before any call, naming the problem", async () => {
    for (const argv of [
      ["--publish", "80"],
      ["--publish", "0:80"],
      ["--publish", "80:80/sctp"],
      ["--selector", "app"],
      ["--mode", "ipvs"],
    ]) {
      const base = ["service", "create", "web", "--network", "blue", "--selector", "app=web"];
      const result = await run([...base, ...argv]);
      expect(result.calls, argv.join(" ")).toEqual([]);
      expect(result.error, argv.join(" ")).toBeDefined();
    }
    const missing = await run(["service", "create", "web", "--network", "blue"]);
    expect(missing.error).toMatch(/--selector/);
  });

  it("ls, inspect and rm call their RPCs; --json prints the message", async () => {
    expect((await run(["service", "ls"])).calls).toEqual([["listServices", {}]]);
    const inspect = await run(["--json", "service", "inspect", "web"]);
    expect(inspect.error).toBeUndefined();
    expect(inspect.calls).toEqual([["inspectService", { name: "web" }]]);
    expect(JSON.parse(inspect.out)).toMatchObject({ service: { name: "web", vip: "10.40.255.1" } });
    expect((await run(["service", "rm", "web"])).calls).toEqual([["removeService", { name: "web" }]]);
  });

  it("builds the request with defaults left empty (the agent's registry picks them)", () => {
    const req = createServiceRequest("web", { network: "blue", selector: { app: "web" } });
    expect(req).toMatchObject({ name: "web", network: "blue", mode: "", affinity: "", ports: [] });
  });
});
