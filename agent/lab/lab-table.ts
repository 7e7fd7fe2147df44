// How a lab looks to people (a table) and to scripts (`weft lab status --json`).
import { printable } from "../../proto/values/index.js";
import { renderTable as renderCliTable } from "../cli/table.js";
import type { LabService } from "./lab-service.js";
import type { CheckResult, LabState } from "./lab-state.js";

export interface LabStatusJson {
  hosts: { name: string; netns: string; underlayIp: string; agentPid: number; apiSocket: string; running?: boolean }[];
  containers: { name: string; host: string; netns: string; network: string; ip: string; mac: string; endpointId: string }[];
  etcd: { endpoint: string; netns: string; pid: number };
  /** `lab up --monitoring`: Prometheus, reachable from the lab's namespaces. */
  prometheus?: { url: string; netns: string; pid: number };
  /** The cluster's services, as a running agent lists them (lab status only). */
  services?: LabService[];
  /** The lab's service `web`: its name, VIP, published port and backend containers. */
  web?: { service: string; vip?: string; published: number; target: number; backends: string[] };
}

export function labStatusJson(state: LabState): LabStatusJson {
  return {
    hosts: state.hosts.map((h) => ({
      name: h.name,
      netns: h.netns,
      underlayIp: h.underlayIp,
      agentPid: h.agentPid,
      apiSocket: h.apiSocket,
      ...(h.agentRunning === undefined ? {} : { running: h.agentRunning }),
    })),
    containers: state.containers.map((c) => ({
      name: c.name,
      host: c.host,
      netns: c.netns,
      network: c.network,
      ip: c.ip,
      mac: c.mac,
      endpointId: c.endpointId,
    })),
    etcd: { endpoint: state.etcd.endpoint, netns: state.etcd.netns, pid: state.etcd.pid },
    ...(state.prometheus ? { prometheus: { url: state.prometheus.url, netns: state.prometheus.netns, pid: state.prometheus.pid } } : {}),
    ...(state.services ? { services: state.services } : {}),
    ...(state.web
      ? {
          web: {
            service: state.web.service,
            ...(state.web.vip ? { vip: state.web.vip } : {}),
            published: state.web.published,
            target: state.web.target,
            backends: state.web.backends.map((b) => b.name),
          },
        }
      : {}),
  };
}

export function formatLabTable(state: LabState, checks: readonly CheckResult[]): string {
  const sections: string[] = [];
  sections.push(`lab ${printable(state.prefix)}: etcd ${state.etcd.endpoint} (netns ${state.etcd.netns}, pid ${state.etcd.pid})`);
  if (state.prometheus) sections.push(`prometheus ${state.prometheus.url} (netns ${state.prometheus.netns}, pid ${state.prometheus.pid}): scrapes every agent`);
  sections.push(
    renderTable(
      ["HOST", "NETNS", "UNDERLAY IP", "AGENT PID", "STATE", "API SOCKET"],
      state.hosts.map((h) => [
        h.name,
        h.netns,
        h.underlayIp,
        h.agentPid > 0 ? String(h.agentPid) : "-",
        h.agentRunning === undefined ? (h.agentPid > 0 ? "started" : "stopped") : h.agentRunning ? "running" : "stopped",
        h.apiSocket,
      ]),
    ),
  );
  sections.push(
    state.containers.length === 0
      ? "no containers"
      : renderTable(
          ["CONTAINER", "HOST", "NETWORK", "IP", "MAC"],
          [...state.containers, ...(state.web?.backends ?? []), ...(state.isolated ?? [])].map((c) => [c.name, c.host, c.network, c.ip, c.mac]),
        ),
  );
  if (state.services && state.services.length > 0) {
    sections.push(
      renderTable(
        ["SERVICE", "NETWORK", "VIP", "PUBLISHED", "BACKENDS"],
        state.services.map((s) => [
          s.name,
          s.network,
          s.vip ?? (s.mode === "dnsrr" ? "(dnsrr)" : "-"),
          s.ports.map((p) => `${p.published}:${p.target}/${p.protocol}${p.publishMode === "local" ? ",mode=local" : ""}`).join(" ") || "-",
          s.backends.map((b) => `${b.name || b.ip}@${b.node}`).join(" ") || "none",
        ]),
      ),
    );
  }
  if (checks.length > 0) {
    const failed = checks.filter((c) => !c.ok);
    sections.push(
      renderTable(
        ["CHECK", "FROM", "TO", "RESULT", "DETAIL"],
        checks.map((c) => [c.kind ?? "ping", c.from, c.to, c.ok ? "ok" : "FAIL", c.detail ?? ""]),
      ),
    );
    sections.push(`checks: ${checks.length - failed.length}/${checks.length} passed${failed.length > 0 ? `, ${failed.length} failed` : ""}`);
    if (state.world) sections.push(`world ${state.world.netns} at ${state.world.ip}: HTTP answers with the client address; DNS for example.test`);
    if (state.web) sections.push(`service ${state.web.service}${state.web.vip ? ` (VIP ${state.web.vip})` : ""}: port ${state.web.published} of every host; each backend answers with its name`);
  }
  return sections.join("\n\n") + "\n";
}

function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return renderCliTable(header, rows).trimEnd();
}
