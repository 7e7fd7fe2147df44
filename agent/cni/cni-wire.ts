// The plugin <-> weftd framing on the CNI socket, kept trivial so a ~100-line C forwarder speaks it:
//   request:  "KEY=VALUE\0" for each CNI_* variable, then "\0", then the plugin's stdin until EOF
//   response: the exit code in decimal, "\n", then what the plugin prints on stdout, until close
// The CNI socket sits next to the API socket the configuration names (`apiSocket`):
// /run/weft/weft.sock -> /run/weft/weft-cni.sock.

export const CNI_VARIABLES = ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"] as const;

export function cniSocketPath(apiSocket: string): string {
  return `${apiSocket.endsWith(".sock") ? apiSocket.slice(0, -".sock".length) : apiSocket}-cni.sock`;
}

export function encodeRequest(env: Readonly<Record<string, string | undefined>>, stdin: Buffer): Buffer {
  const entries = CNI_VARIABLES.filter((k) => env[k] !== undefined).map((k) => `${k}=${env[k]}\0`);
  return Buffer.concat([Buffer.from(entries.join("") + "\0"), stdin]);
}

export function decodeRequest(frame: Buffer): { env: Record<string, string>; stdin: string } {
  const env: Record<string, string> = {};
  let at = 0;
  for (;;) {
    const end = frame.indexOf(0, at);
    if (end < 0) throw new Error("request: the variables are not terminated by an empty entry");
    if (end === at) break;
    const entry = frame.subarray(at, end).toString("utf8");
    const eq = entry.indexOf("=");
    const key = eq > 0 ? entry.slice(0, eq) : "";
    if ((CNI_VARIABLES as readonly string[]).includes(key)) env[key] = entry.slice(eq + 1);
    at = end + 1;
  }
  return { env, stdin: frame.subarray(at + 1).toString("utf8") };
}

export function encodeResponse(exitCode: number, stdout: string): Buffer {
  return Buffer.from(`${exitCode}\n${stdout}`);
}

export function decodeResponse(frame: Buffer): { exitCode: number; stdout: string } {
  const newline = frame.indexOf(10);
  const exitCode = Number(frame.subarray(0, newline < 0 ? frame.length : newline).toString("ascii"));
  if (newline < 0 || !Number.isInteger(exitCode)) throw new Error("response: no exit code line");
  return { exitCode, stdout: frame.subarray(newline + 1).toString("utf8") };
}
