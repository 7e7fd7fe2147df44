// The Docker plugin's state on disk: one JSON file per key under a directory, written atomically
// (a temporary file renamed over the old one), so a crash leaves the old or the new record.
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface JsonFileStore<T> {
  get(key: string): Promise<T | undefined>;
  put(key: string, value: T): Promise<void>;
  remove(key: string): Promise<void>;
  /** Every record (in no particular order). */
  list(): Promise<T[]>;
}

/** Keys are validated by the caller (Docker ids, weft names: safe as file names). */
export function jsonFileStore<T>(dir: string): JsonFileStore<T> {
  const path = (key: string): string => join(dir, `${key}.json`);
  const get = async (key: string): Promise<T | undefined> => {
    try {
      return JSON.parse(await readFile(path(key), "utf8")) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  };
  return {
    get,
    async put(key, value) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const temporary = `${path(key)}.tmp`;
      await writeFile(temporary, JSON.stringify(value), { mode: 0o600 });
      await rename(temporary, path(key));
    },
    remove: (key) => rm(path(key), { force: true }),
    async list() {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw err;
      }
      const records = await Promise.all(names.filter((n) => n.endsWith(".json")).map((n) => get(n.slice(0, -".json".length))));
      return records.filter((r): r is Awaited<T> => r !== undefined);
    },
  };
}
