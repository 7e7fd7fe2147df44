// weftd's etcd client over TLS against a real etcd that requires client certificates (issue 6: a
// certificate and key without a CA file used to mean plaintext). The certificates are made by the
// test with the openssl CLI; etcd listens on loopback ports picked for this run.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdClientOptions, type EtcdConnection } from "../../agent/etcd-client-options.js";
import { createEtcdRegistry, type NodeRecord, type Registry } from "../../controlplane/registry/index.js";
import { makeTestCertificates, withEtcd, type TestCertificates, type TestEtcd } from "../helpers/etcd.js";

let dir: string;
let certs: TestCertificates;
let etcd: TestEtcd | undefined;
const registries: Registry[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-etcd-tls-"));
  certs = await makeTestCertificates(dir);
  etcd = await withEtcd({
    tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, trustedCaFile: certs.caFile, clientCertAuth: true },
  });
});

afterAll(async () => {
  await Promise.all(registries.map((r) => r.close()));
  await etcd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function registry(connection: Omit<EtcdConnection, "endpoints">): Registry {
  const r = createEtcdRegistry({ client: etcdClientOptions({ endpoints: [etcd!.endpoint], ...connection }), prefix: "/tls" });
  registries.push(r);
  return r;
}

const h1: NodeRecord = {
  name: "h1",
  underlayIP: "192.168.9.1",
  vtepMAC: "02:00:c0:a8:09:01",
  gossipAddr: "192.168.9.1:7946",
  publicKey: Buffer.alloc(32, 9).toString("base64"),
  agentVersion: "0.1.0",
};

describe("etcd over TLS with client certificate auth", () => {
  it("serves https only", () => {
    expect(etcd!.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it("connects with the CA, certificate and key, and can register and list", async () => {
    const r = registry({ caFile: certs.caFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile });
    await r.start();
    await r.registerNode(h1);
    await r.createNetwork({ name: "secure", subnet: "10.90.0.0/16" });
    const listing = registry({ caFile: certs.caFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile });
    await listing.start();
    expect(listing.snapshot().nodes.get("h1")).toEqual(h1);
    expect(listing.snapshot().networks.has("secure")).toBe(true);
  });

  it("is refused without its client certificate", async () => {
    const r = registry({ caFile: certs.caFile });
    const refusal = r.start();
    await expect(refusal).rejects.toMatchObject({ code: "unavailable" });
    await expect(refusal).rejects.toThrow(/bad certificate/);
    await expect(r.createNetwork({ name: "sneaky", subnet: "10.91.0.0/16" })).rejects.toMatchObject({ code: "unavailable" });
  });

  it("checks etcd's certificate against the system's roots when no CA file is given, which do not know the test CA", async () => {
    const r = registry({ certFile: certs.clientCertFile, keyFile: certs.clientKeyFile });
    const refusal = r.start();
    await expect(refusal).rejects.toMatchObject({ code: "unavailable" });
    await expect(refusal).rejects.toThrow(/unable to verify/);
  });
});
