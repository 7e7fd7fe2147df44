#!/usr/bin/env node
// `weft`: the CLI. Compiled from dist/ when fresh, else straight from the TypeScript (see launch.js).
import { launch } from "./launch.js";

await launch("agent/cli/main");
