// The DNS bench's server: one DnsServer in a process of its own (as in weftd, with weftd's Node
// flags), serving `--endpoints` names of network "bench" on --address:--port. Prints "ready" once
// listening; exits on SIGTERM. Started by dns-rate.ts, so the load generator never shares its loop.
//   node [loader] --max-semi-space-size=2 --optimize-for-size test/bench/dns-server-process.ts --address A --port P --endpoints N
import { parseArgs } from "node:util";
import { Registry } from "prom-client";
import { DnsServer } from "../../agent/dns/index.js";
import { benchEndpoints, BENCH_NETWORK } from "./dns-bench-names.js";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { address: { type: "string" }, port: { type: "string" }, endpoints: { type: "string", default: "200" } } });
  const endpoints = benchEndpoints(Number(values.endpoints));
  const server = DnsServer.create({
    records: { endpoints: (network) => (network === BENCH_NETWORK ? endpoints : []), revision: () => 0 },
    upstreams: [],
    port: Number(values.port),
    metrics: new Registry(),
    log: (level, line) => level !== "debug" && process.stderr.write(`dns-server: ${line}\n`),
  });
  await server.setZones([{ network: BENCH_NETWORK, listen: values.address! }]);
  if (server.listening().length !== 1) throw new Error(`cannot listen on ${values.address}:${values.port}`);
  process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));
  process.stdout.write("ready\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`dns-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
