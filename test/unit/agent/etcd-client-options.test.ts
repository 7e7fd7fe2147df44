// etcd client options from weftd's settings: TLS whenever asked for, never a silent fall back to
// plaintext (issue 6: a certificate and key without a CA file used to mean plaintext).
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../agent/config.js";
import { etcdClientOptions } from "../../../agent/etcd-client-options.js";

const files: Record<string, string> = { "/ca.pem": "CA", "/c.pem": "CERT", "/k.pem": "KEY" };
const readFile = (path: string): Buffer => {
  const text = files[path];
  if (text === undefined) throw new Error(`ENOENT: ${path}`);
  return Buffer.from(text);
};

describe("etcdClientOptions", () => {
  it("is plaintext for http:// endpoints without TLS files", () => {
    expect(etcdClientOptions({ endpoints: ["http://10.0.0.1:2379"] }, readFile)).toEqual({ hosts: ["http://10.0.0.1:2379"] });
  });

  it("checks the server against the system's roots for a certificate and key without a CA file", () => {
    const options = etcdClientOptions({ endpoints: ["https://e:2379"], certFile: "/c.pem", keyFile: "/k.pem" }, readFile);
    expect(options.credentials).toEqual({ rootCertificate: null, certChain: Buffer.from("CERT"), privateKey: Buffer.from("KEY") });
  });

  it("uses TLS with the system's roots for https:// endpoints alone, and the given CA when there is one", () => {
    expect(etcdClientOptions({ endpoints: ["https://e:2379"] }, readFile).credentials).toEqual({ rootCertificate: null });
    const options = etcdClientOptions({ endpoints: ["https://e:2379"], caFile: "/ca.pem", certFile: "/c.pem", keyFile: "/k.pem" }, readFile);
    expect(options.credentials?.rootCertificate).toEqual(Buffer.from("CA"));
  });

  it.each([
    [{ endpoints: ["https://e:2379"], certFile: "/c.pem" }, "etcd-key-file"],
    [{ endpoints: ["https://e:2379"], keyFile: "/k.pem" }, "etcd-cert-file"],
    [{ endpoints: ["http://e:2379"], certFile: "/c.pem", keyFile: "/k.pem" }, "etcd-endpoints"],
    [{ endpoints: ["https://e:2379"], caFile: "/missing.pem" }, "etcd-ca-file"],
    [{ endpoints: [] }, "etcd-endpoints"],
  ])("refuses %j naming --%s", (config, flag) => {
    let error: unknown;
    try {
      etcdClientOptions(config, readFile);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).flag).toBe(flag);
  });
});
