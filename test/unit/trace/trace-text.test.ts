// The terminal form of a report: every hop with expected vs actual and counters, a broken hop with
// its problem and cause, the probe and the verdict; foreign text made printable.
import { describe, expect, it } from "vitest";
import { analyzeTrace } from "../../../agent/trace/trace-analysis.js";
import { formatTrace } from "../../../agent/trace/trace-text.js";
import { healthyFacts } from "./trace-fixtures.js";

describe("formatTrace", () => {
  it("prints each hop, the problem and cause of a broken one, and the verdict", () => {
    const facts = healthyFacts();
    facts.hosts.get("h1")!.snapshot!.fdb = [];
    facts.probe = { sent: true, answered: false, detail: "ping 10.40.2.2: no echo reply within 1 s" };
    const text = formatTrace(analyzeTrace(facts), { see: true });
    expect(text).toContain("trace icmp: endpoint a 10.40.1.2 on h1 (lab) -> endpoint b 10.40.2.2 on h2 (lab)");
    expect(text).toMatch(/ 6\. FAIL h1 +fdb +fdb 02:42:0a:28:02:02 dev weft-vx42/);
    expect(text).toContain("      problem:  h1 has no FDB entry for b");
    expect(text).toContain("      cause:    the entry was removed by hand");
    expect(text).toContain("      see:      bridge fdb show dev weft-vx42 | grep 02:42:0a:28:02:02");
    expect(text).toContain("probe: no answer (ping 10.40.2.2: no echo reply within 1 s)");
    expect(text).toMatch(/\nBROKEN: a -> b: broken at hop 6 \(fdb on h1\)/);
  });

  it("shows counters and escapes what a peer sent", () => {
    const facts = healthyFacts();
    facts.hosts.get("h2")!.snapshot!.namespaces["b2b2b2b2b2b2b2b2"]!.link!.name = "eth0\u001b[31m";
    const text = formatTrace(analyzeTrace(facts));
    expect(text).not.toContain("\u001b");
    expect(text).toMatch(/\[1 pkts, 100 B\]/);
  });
});
