#!/usr/bin/env -S node --max-semi-space-size=2 --optimize-for-size
// `weftd`: the agent. Compiled from dist/ when fresh, else straight from the TypeScript (see launch.js).
// Memory over speed, for a long-running agent: a small young generation (2 MiB semi-spaces, not 16)
// and V8's --optimize-for-size (a heap that grows less eagerly) keep its resident size near its live
// data. Holding 50,000 remote endpoints: 128 MiB instead of 172-230 MiB, for ~10% more CPU while
// programming them. The lab starts weftd with the same flags (agent/lab/lab-agent-process.ts).
import { launch } from "./launch.js";

await launch("agent/weftd");
