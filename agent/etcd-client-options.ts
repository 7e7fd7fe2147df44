// The etcd client's options, built in one place from weftd's settings. TLS is used when an endpoint
// is https:// or any TLS file is given; never silently plaintext: a client certificate without a CA
// file is checked against the system's trusted roots.
import { readFileSync } from "node:fs";
import type { IOptions } from "etcd3";
import { ConfigError, checkEtcdConnection, type EtcdConnection } from "./config.js";

export type { EtcdConnection } from "./config.js";

export function etcdClientOptions(config: EtcdConnection, readFile: (path: string) => Buffer = readFileSync): IOptions {
  const { tls } = checkEtcdConnection(config);
  const options: IOptions = { hosts: [...config.endpoints] };
  if (!tls) return options;
  const read = (flag: string, path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFile(path);
    } catch (err) {
      throw new ConfigError(flag, `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const rootCertificate = read("etcd-ca-file", config.caFile);
  const privateKey = read("etcd-key-file", config.keyFile);
  const certChain = read("etcd-cert-file", config.certFile);
  options.credentials = {
    // grpc's createSsl takes null for "the system's trusted roots"; etcd3's type insists on a Buffer.
    rootCertificate: rootCertificate ?? (null as unknown as Buffer),
    ...(privateKey ? { privateKey } : {}),
    ...(certChain ? { certChain } : {}),
  };
  return options;
}
