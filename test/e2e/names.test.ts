// weft's embedded DNS, through the resolver each container's resolv.conf names (its gateway, search
// its network): names across hosts, NAME.NETWORK, aliases shared by several endpoints, PTR, outside
// names forwarded to the host's resolver (the lab's world), a detached endpoint's name gone, and
// another network's names not visible.
import { create } from "@bufbuild/protobuf";
import { execFileSync } from "node:child_process";
import { writeFileSync, mkdirSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttachEndpointRequestSchema } from "../../proto/gen/weft/v1/api_pb.js";
import { inNetns, pollUntil, resolveIn, withLab, withLabApi, type TestLab } from "../helpers/lab.js";

let lab: TestLab;
const extra: string[] = [];

beforeAll(async () => {
  lab = await withLab({ hosts: 2, containers: 1 });
}, 180_000);

afterAll(async () => {
  for (const ns of extra) {
    execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
  }
  await lab?.down();
}, 60_000);

/** A new container on `host` attached to the lab's first network, with its resolv.conf. */
async function attach(host: string, index: number, aliases: string[] = []) {
  const netns = `${lab.prefix}-${host}-c${index}`;
  execFileSync("ip", ["netns", "add", netns]);
  extra.push(netns);
  const endpoint = (await withLabApi(lab, host, (api) => api.attachEndpoint(create(AttachEndpointRequestSchema, { network: lab.state.network!.name, netns, aliases }))))
    .endpoint!;
  mkdirSync(`/etc/netns/${netns}`, { recursive: true });
  writeFileSync(`/etc/netns/${netns}/resolv.conf`, `nameserver ${endpoint.dns!.nameservers[0]}\nsearch ${endpoint.dns!.search.join(" ")}\noptions timeout:1 attempts:3\n`);
  return { netns, endpoint };
}

describe("names", () => {
  const c = (host: string) => lab.state.containers.find((x) => x.host === host)!;

  it("resolves NAME and NAME.NETWORK across hosts", async () => {
    expect(await pollUntil(() => resolveIn(c("h1").netns, c("h2").name), (a) => a.length > 0, 5000)).toEqual([c("h2").ip]);
    expect(await resolveIn(c("h2").netns, `${c("h1").name}.${lab.state.network!.name}`)).toEqual([c("h1").ip]);
  });

  it("answers every address behind a shared alias, and PTR for each address", async () => {
    const a = await attach("h1", 11, ["web"]);
    const b = await attach("h2", 12, ["web"]);
    const both = [a.endpoint.ip, b.endpoint.ip].sort();
    expect(await pollUntil(() => resolveIn(c("h1").netns, "web"), (x) => x.length === 2, 5000)).toEqual(both);
    const ptr = await inNetns(c("h2").netns, ["getent", "hosts", a.endpoint.ip]);
    expect(ptr.stdout).toContain(a.endpoint.name);
  });

  it("forwards outside names to the host's resolver", async () => {
    expect(await resolveIn(c("h1").netns, "example.test")).toEqual(["10.251.0.253"]);
  });

  it("forgets a detached endpoint's name on every host", async () => {
    const d = await attach("h2", 13);
    expect(await pollUntil(() => resolveIn(c("h1").netns, d.endpoint.name), (x) => x.length > 0, 5000)).toEqual([d.endpoint.ip]);
    await withLabApi(lab, "h2", (api) => api.detachEndpoint({ endpoint: d.endpoint.id }));
    expect(await pollUntil(() => resolveIn(c("h1").netns, d.endpoint.name), (x) => x.length === 0, 5000)).toEqual([]);
  });

  it("does not answer names of another network", async () => {
    const iso = lab.state.isolated!.find((x) => x.host === "h1")!;
    expect(await resolveIn(iso.netns, lab.state.isolated!.find((x) => x.host === "h2")!.name)).toHaveLength(1);
    expect(await resolveIn(iso.netns, c("h1").name)).toEqual([]);
    expect(await resolveIn(iso.netns, `${c("h1").name}.${lab.state.network!.name}`)).toEqual([]);
    expect(await resolveIn(c("h1").netns, iso.name)).toEqual([]);
  });
});
