// The node's ed25519 key pair: made on first start, kept 0600 in the state dir. Its public half goes
// into the node's etcd record; gossip entries and frames are signed with the secret half.
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import nacl from "tweetnacl";

export interface NodeKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export async function loadOrCreateNodeKey(stateDir: string, log: (line: string) => void): Promise<NodeKeyPair> {
  const path = join(stateDir, "node.key");
  try {
    const text = await readFile(path, "utf8");
    const secretKey = new Uint8Array(Buffer.from(text.trim(), "base64"));
    if (secretKey.length !== nacl.sign.secretKeyLength) {
      throw new Error(`${path} does not hold an ed25519 secret key (expected ${nacl.sign.secretKeyLength} bytes in base64); move it away to make a new one`);
    }
    const mode = (await stat(path)).mode & 0o777;
    if (mode & 0o077) {
      log(`${path} was readable by others (mode ${mode.toString(8)}); setting 0600`);
      await chmod(path, 0o600);
    }
    return nacl.sign.keyPair.fromSecretKey(secretKey);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const pair = nacl.sign.keyPair();
  await writeFile(path, Buffer.from(pair.secretKey).toString("base64") + "\n", { mode: 0o600, flag: "wx" });
  log(`created node key ${path}`);
  return pair;
}
