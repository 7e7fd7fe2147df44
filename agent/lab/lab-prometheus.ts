// `weft lab up --monitoring`: Debian's Prometheus in the world namespace, which sits on the underlay
// and so reaches every agent's metrics listener (<underlay ip>:9464), scraping them under job="weft"
// with compose/prometheus's alert rules loaded. Detached like etcd; `weft lab down` stops it by PID
// (and by its command line, which names the lab dir) and removes its data with the lab dir.
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { packageRoot } from "../package-root.js";
import { runCommand } from "./command-runner.js";
import { isAlive, logTail, spawnDetached, stopProcess } from "./detached-process.js";
import { LabError } from "./lab-error.js";
import { WORLD_IP, labDir, worldNetns } from "./lab-names.js";

export const PROMETHEUS_PORT = 9090;
/** Short, so that rates over the dashboard's 5m windows have samples seconds after `lab up`. */
export const LAB_SCRAPE_INTERVAL_SECONDS = 5;
export const ALERT_RULES_FILE = join(packageRoot(), "compose", "prometheus", "weft-alerts.yml");

export interface LabPrometheus {
  netns: string;
  /** Reachable from the lab's namespaces (e.g. `ip netns exec <netns> curl <url>`), not from the root namespace. */
  url: string;
  pid: number;
  dataDir: string;
  configFile: string;
}

export function labPrometheusUrl(): string {
  return `http://${WORLD_IP}:${PROMETHEUS_PORT}`;
}

/** prometheus.yml for the lab: every agent's metrics address under job "weft", the alert rules, Prometheus itself. */
export function labPrometheusConfig(metricsAddrs: readonly string[], rulesFile: string, scrapeIntervalSeconds = LAB_SCRAPE_INTERVAL_SECONDS): string {
  if (metricsAddrs.length === 0) throw new LabError("monitoring", "no agent to scrape");
  const config = {
    global: { scrape_interval: `${scrapeIntervalSeconds}s`, evaluation_interval: `${scrapeIntervalSeconds}s` },
    rule_files: [rulesFile],
    scrape_configs: [
      { job_name: "weft", static_configs: [{ targets: [...metricsAddrs] }] },
      { job_name: "prometheus", static_configs: [{ targets: [`${WORLD_IP}:${PROMETHEUS_PORT}`] }] },
    ],
  };
  // JSON is YAML: no quoting rules to get wrong.
  return JSON.stringify(config, null, 2) + "\n";
}

/** Starts Prometheus in the world namespace and waits until it reports ready; on failure it is stopped and its log tail shown. */
export async function startLabPrometheus(prefix: string, metricsAddrs: readonly string[], timeoutMs = 30_000): Promise<LabPrometheus> {
  if (!existsSync(ALERT_RULES_FILE)) throw new LabError("monitoring", `the alert rules ${ALERT_RULES_FILE} are missing`);
  const dir = labDir(prefix);
  const netns = worldNetns(prefix);
  const dataDir = `${dir}/prometheus`;
  const configFile = `${dir}/prometheus.yml`;
  const logFile = `${dir}/prometheus.log`;
  await mkdir(dataDir, { recursive: true });
  await writeFile(configFile, labPrometheusConfig(metricsAddrs, ALERT_RULES_FILE));
  const pid = spawnDetached({
    netns,
    command: "prometheus",
    args: [`--config.file=${configFile}`, `--storage.tsdb.path=${dataDir}`, `--web.listen-address=${WORLD_IP}:${PROMETHEUS_PORT}`, "--log.level=warn"],
    logFile,
  });
  const url = labPrometheusUrl();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) throw new LabError("monitoring", `prometheus exited at start; log tail (${logFile}):\n${await logTail(logFile)}`);
    try {
      await runCommand("ip", ["netns", "exec", netns, "curl", "-sf", "--max-time", "2", `${url}/-/ready`], { timeoutMs: 5000 });
      return { netns, url, pid, dataDir, configFile };
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  await stopProcess(pid, "SIGTERM", 5000);
  throw new LabError("monitoring", `prometheus at ${url} was not ready within ${timeoutMs} ms; log tail (${logFile}):\n${await logTail(logFile)}`);
}
