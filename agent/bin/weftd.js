#!/usr/bin/env node
// `weftd`: the agent. Compiled from dist/ when fresh, else straight from the TypeScript (see launch.js).
import { launch } from "./launch.js";

await launch("agent/weftd");
