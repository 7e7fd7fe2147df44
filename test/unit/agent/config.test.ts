import { describe, expect, it } from "vitest";
import { ConfigError, parseAgentConfig, parseClusterKey } from "../../../agent/config.js";

const noFile = (path: string): string => {
  throw Object.assign(new Error(`ENOENT: no such file ${path}`), { code: "ENOENT" });
};

function run(argv: string[], env: Record<string, string> = {}, files: Record<string, string> = {}) {
  const command = parseAgentConfig(argv, env, (p) => files[p] ?? noFile(p));
  if (command.kind !== "run") throw new Error(`expected run, got ${command.kind}`);
  return command.config;
}

function failure(argv: string[], env: Record<string, string> = {}, files: Record<string, string> = {}): ConfigError {
  try {
    parseAgentConfig(argv, env, (p) => files[p] ?? noFile(p));
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("weftd configuration", () => {
  it("takes the egress subnet and the resolv.conf for DNS forwarding, naming the flag when bad", () => {
    const config = run([], { WEFT_UNDERLAY_IP: "10.0.0.9" });
    expect(config.egressSubnet).toBe("172.18.0.0/16");
    expect(config.dnsResolvConf).toBe("/etc/resolv.conf");
    expect(run(["--egress-subnet", "172.30.0.0/20", "--dns-resolv-conf", "/run/r.conf"], { WEFT_UNDERLAY_IP: "10.0.0.9" })).toMatchObject({ egressSubnet: "172.30.0.0/20", dnsResolvConf: "/run/r.conf" });
    for (const bad of ["172.18.0.1/16", "172.18.0.0/30", "10.0.0.0/4", "nonsense"]) {
      const err = failure(["--egress-subnet", bad], { WEFT_UNDERLAY_IP: "10.0.0.9" });
      expect(err.flag).toBe("egress-subnet");
      expect(err.message.startsWith("--egress-subnet: ")).toBe(true);
    }
    expect(failure(["--dns-resolv-conf", "resolv.conf"], { WEFT_UNDERLAY_IP: "10.0.0.9" }).flag).toBe("dns-resolv-conf");
  });

  it("serves the Docker driver only when named, and names the flag for a bad name or socket", () => {
    const off = run([], { WEFT_UNDERLAY_IP: "10.0.0.9" });
    expect(off.dockerPlugin).toBeUndefined();
    expect(off.dockerSocket).toBe("/run/docker.sock");
    expect(run(["--docker-plugin", "weft"], { WEFT_UNDERLAY_IP: "10.0.0.9", WEFT_DOCKER_SOCKET: "/var/run/d.sock" })).toMatchObject({ dockerPlugin: "weft", dockerSocket: "/var/run/d.sock" });
    expect(failure(["--docker-plugin", "../x"], { WEFT_UNDERLAY_IP: "10.0.0.9" }).flag).toBe("docker-plugin");
    expect(failure(["--docker-socket", "docker.sock"], { WEFT_UNDERLAY_IP: "10.0.0.9" }).flag).toBe("docker-socket");
  });

  it("takes flags over environment over file over defaults", () => {
    const files = { "/etc/weft.yaml": "nodeName: from-file\netcdEndpoints: [http://10.0.0.1:2379, http://10.0.0.2:2379]\nunderlayIp: 10.0.0.9\n" };
    const config = run(["--config", "/etc/weft.yaml", "--node-name", "from-flag"], { WEFT_NODE_NAME: "from-env", WEFT_STATE_DIR: "/srv/weft" }, files);
    expect(config.nodeName).toBe("from-flag");
    expect(config.stateDir).toBe("/srv/weft");
    expect(config.etcdEndpoints).toEqual(["http://10.0.0.1:2379", "http://10.0.0.2:2379"]);
    expect(config.underlay).toEqual({ iface: undefined, ip: "10.0.0.9" });
    expect(config.apiSocket).toBe("/run/weft/weft.sock");
    expect(config.metricsListen).toBe("127.0.0.1:9464");
    expect(config.nodeTtlSeconds).toBe(10);
    expect(config.underlayArpRetransmitMs).toBe(200);
    expect(run(["--underlay-arp-retransmit-ms", "0"], { WEFT_UNDERLAY_IP: "10.0.0.9" }).underlayArpRetransmitMs).toBe(0);
  });

  it("turns metrics off with 'off' and reads the environment", () => {
    const config = run([], { WEFT_UNDERLAY_IFACE: "eth1", WEFT_METRICS_LISTEN: "off", WEFT_ETCD_ENDPOINTS: "https://e:2379" });
    expect(config.metricsListen).toBeUndefined();
    expect(config.underlay.iface).toBe("eth1");
    expect(config.etcdEndpoints).toEqual(["https://e:2379"]);
  });

  it.each([
    [["--underlay-ip", "10.0.0.1", "--etcd-endpoints", "not a url"], "etcd-endpoints", "not a URL"],
    [["--underlay-ip", "10.0.0.1", "--etcd-endpoints", "ftp://x:1"], "etcd-endpoints", "http or https"],
    [["--underlay-ip", "10.0.0.1", "--etcd-endpoints", "http://x"], "etcd-endpoints", "no port"],
    [["--underlay-ip", "300.0.0.1"], "underlay-ip", "not an IPv4 address"],
    [[], "underlay-ip", "one of --underlay-iface or --underlay-ip is required"],
    [["--underlay-ip", "10.0.0.1", "--node-name", "_bad"], "node-name", "must be 1-63"],
    [["--underlay-ip", "10.0.0.1", "--gossip-listen", "10.0.0.1"], "gossip-listen", "host:port"],
    [["--underlay-ip", "10.0.0.1", "--gossip-listen", "10.0.0.1:70000"], "gossip-listen", "out of range"],
    [["--underlay-ip", "10.0.0.1", "--metrics-listen", ":9464"], "metrics-listen", "needs a host"],
    [["--underlay-ip", "10.0.0.1", "--api-socket", "relative.sock"], "api-socket", "absolute path"],
    [["--underlay-ip", "10.0.0.1", "--state-dir", "state"], "state-dir", "absolute path"],
    [["--underlay-ip", "10.0.0.1", "--log-level", "loud"], "log-level", "one of debug"],
    [["--underlay-ip", "10.0.0.1", "--node-ttl", "1"], "node-ttl", "from 2 to 300"],
    [["--underlay-ip", "10.0.0.1", "--etcd-prefix", "weft/"], "etcd-prefix", "start with '/'"],
    [["--underlay-ip", "10.0.0.1", "--underlay-arp-retransmit-ms", "5"], "underlay-arp-retransmit-ms", "from 10 to 10000"],
    [["--underlay-ip", "10.0.0.1", "--underlay-arp-retransmit-ms", "fast"], "underlay-arp-retransmit-ms", "0 (leave it alone)"],
    [["--underlay-ip", "10.0.0.1", "--etcd-endpoints", "https://e:2379", "--etcd-cert-file", "/c.pem"], "etcd-key-file", "go together"],
    [["--underlay-ip", "10.0.0.1", "--etcd-endpoints", "https://e:2379", "--etcd-key-file", "/k.pem"], "etcd-cert-file", "go together"],
    [["--underlay-ip", "10.0.0.1", "--etcd-cert-file", "/c.pem", "--etcd-key-file", "/k.pem"], "etcd-endpoints", "use https://"],
    [["--underlay-ip", "10.0.0.1", "--etcd-ca-file", "/ca.pem"], "etcd-endpoints", "use https://"],
    [["--underlay-ip", "10.0.0.1", "--etcd-endpoints", "https://a:2379,http://b:2379"], "etcd-endpoints", "mixes http:// and https://"],
    [["--bogus"], "args", "Unknown option"],
  ])("rejects %j naming --%s", (argv, flag, reason) => {
    const err = failure(argv);
    expect(err.flag).toBe(flag);
    expect(err.message).toContain(`--${flag}: `);
    expect(err.message).toContain(reason);
  });

  it("uses TLS for https:// endpoints, with or without TLS files, and never for plain http://", () => {
    expect(run(["--underlay-ip", "10.0.0.1"]).etcdTls).toBeUndefined();
    expect(run(["--underlay-ip", "10.0.0.1", "--etcd-endpoints", "https://e:2379"]).etcdTls).toEqual({});
    const tls = run(["--underlay-ip", "10.0.0.1", "--etcd-endpoints", "https://e:2379", "--etcd-cert-file", "/c.pem", "--etcd-key-file", "/k.pem"]).etcdTls;
    expect(tls).toEqual({ certFile: "/c.pem", keyFile: "/k.pem" });
  });

  it("rejects unreadable, malformed and unknown config files", () => {
    expect(failure(["--config", "/missing.yaml"]).message).toMatch(/^--config: cannot read \/missing.yaml/);
    expect(failure(["--config", "/f"], {}, { "/f": "a: [" }).message).toMatch(/^--config: \/f is not valid YAML/);
    expect(failure(["--config", "/f"], {}, { "/f": "- 1\n- 2\n" }).message).toContain("must hold a mapping");
    expect(failure(["--config", "/f"], {}, { "/f": "nodeNmae: x\n" }).message).toContain('unknown setting "nodeNmae"');
  });

  it("answers --help and --version without other checks", () => {
    expect(parseAgentConfig(["--help"], {}, noFile).kind).toBe("help");
    expect(parseAgentConfig(["--version"], {}, noFile).kind).toBe("version");
  });

  it("reads cluster keys as hex or base64 and refuses other lengths", () => {
    const hex = "ab".repeat(32);
    expect(parseClusterKey(`${hex}\n`)).toHaveLength(32);
    expect(parseClusterKey(Buffer.alloc(32, 7).toString("base64"))).toEqual(new Uint8Array(32).fill(7));
    expect(() => parseClusterKey("abcd")).toThrow(/--cluster-key-file: the key must be 32 bytes/);
  });
});
