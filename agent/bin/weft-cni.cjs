#!/usr/bin/env node
// weft-cni, the Node version of weft-cni.c: the same forwarder for hosts without a C compiler, where
// `weft cni install` puts this file in place instead (it costs a Node start, ~150 ms, per call).
// Self-contained CommonJS on purpose: it is copied alone into the CNI bin dir, where no package.json
// says "module".
const { connect } = require("node:net");

const VARIABLES = ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"];
// Keep in step with SUPPORTED_VERSIONS in agent/cni/cni-request.ts (a unit test checks).
const SUPPORTED = ["0.3.1", "0.4.0", "1.0.0", "1.1.0"];

const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => forward(Buffer.concat(chunks)));

function forward(stdin) {
  let config = {};
  try {
    config = JSON.parse(stdin.toString("utf8"));
  } catch {
    // weftd reports the decode error; this only looks for the version and the socket.
  }
  const version = typeof config.cniVersion === "string" ? config.cniVersion : "1.1.0";
  const command = process.env.CNI_COMMAND;
  const fail = (code, msg, details) => {
    process.stdout.write(JSON.stringify({ cniVersion: version, code, msg, details }) + "\n", () => process.exit(1));
  };
  if (command === "VERSION") {
    const answer = { cniVersion: SUPPORTED.includes(version) ? version : "1.1.0", supportedVersions: SUPPORTED };
    process.stdout.write(JSON.stringify(answer) + "\n");
    return;
  }
  const api = typeof config.apiSocket === "string" ? config.apiSocket : "/run/weft/weft.sock";
  const path = `${api.endsWith(".sock") ? api.slice(0, -5) : api}-cni.sock`;
  const variables = VARIABLES.filter((k) => process.env[k] !== undefined).map((k) => `${k}=${process.env[k]}\0`);
  const socket = connect(path);
  const answer = [];
  socket.on("connect", () => socket.end(Buffer.concat([Buffer.from(variables.join("") + "\0"), stdin])));
  socket.on("data", (chunk) => answer.push(chunk));
  socket.on("error", (err) => fail(command === "STATUS" ? 50 : 11, "weftd is not answering: try again later", `${path}: ${err.message}`));
  socket.on("end", () => {
    const frame = Buffer.concat(answer);
    const newline = frame.indexOf(10);
    if (newline < 0) return fail(11, "weftd closed the connection without an answer: try again later", path);
    const exitCode = Number(frame.subarray(0, newline).toString("ascii"));
    process.stdout.write(frame.subarray(newline + 1), () => process.exit(Number.isInteger(exitCode) ? exitCode : 1));
  });
}
