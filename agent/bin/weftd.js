#!/usr/bin/env node
// Runs the TypeScript agent directly through tsx, so `npx weftd` works right after `npm ci`.
import { register } from "tsx/esm/api";

register();
await import("../weftd.ts");
