// The driver's only state: which weft network each Docker network maps onto, whether the driver
// created it (then DeleteNetwork removes it), and the weft endpoint of each Docker endpoint. Kept in
// one JSON file per Docker network, written atomically, because dockerd never repeats CreateNetwork:
// after a restart of weftd the driver must still know the networks dockerd already has.
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface DockerNetworkRecord {
  networkId: string;
  weftNetwork: string;
  /** True when the driver created the weft network (and so removes it with the Docker network). */
  created: boolean;
  /** Docker endpoint id -> the weft endpoint's name (once attached). */
  endpoints: Record<string, string>;
}

export interface NetworkStore {
  get(networkId: string): Promise<DockerNetworkRecord | undefined>;
  put(record: DockerNetworkRecord): Promise<void>;
  remove(networkId: string): Promise<void>;
}

/** Files under `dir`, named by the Docker network id (validated by the caller: 64 hex digits). */
export function fileNetworkStore(dir: string): NetworkStore {
  const path = (id: string): string => join(dir, `${id}.json`);
  return {
    async get(networkId) {
      try {
        return JSON.parse(await readFile(path(networkId), "utf8")) as DockerNetworkRecord;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
      }
    },
    async put(record) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const temporary = `${path(record.networkId)}.tmp`;
      await writeFile(temporary, JSON.stringify(record), { mode: 0o600 });
      await rename(temporary, path(record.networkId));
    },
    remove: (networkId) => rm(path(networkId), { force: true }),
  };
}
