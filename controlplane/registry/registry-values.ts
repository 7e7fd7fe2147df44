// Reading values back from etcd. Each is validated; one that fails is logged (once per key and
// revision), counted in weft_registry_invalid_values_total{kind} and skipped, so that garbage under a
// key never deletes what that key's last valid value described.
import { Counter, type Registry as MetricsRegistry } from "prom-client";
import { errorText, printable } from "../../proto/values/index.js";
import { parseServiceRecord, type ServiceRecord } from "../services/service-record.js";
import { classifyKey, type ParsedKey, type RegistryKeys } from "./keys.js";
import {
  parseNetworkRecord,
  parseNodeRecord,
  parseSubnetLease,
  type NetworkRecord,
  type NodeRecord,
  type SubnetLease,
} from "./records.js";

export type RegistryValue =
  | { kind: "node"; record: NodeRecord }
  | { kind: "network"; record: NetworkRecord }
  | { kind: "subnet"; record: SubnetLease }
  | { kind: "service"; record: ServiceRecord };

export type ValueKind = ParsedKey["kind"];
interface RecordByKind {
  node: NodeRecord;
  network: NetworkRecord;
  subnet: SubnetLease;
  service: ServiceRecord;
}

const PARSERS: { [K in ValueKind]: (key: string, value: unknown) => RecordByKind[K] } = {
  node: parseNodeRecord,
  network: parseNetworkRecord,
  subnet: parseSubnetLease,
  service: (key, value) => parseServiceRecord(value as string, key),
};

export const INVALID_VALUES_METRIC = "weft_registry_invalid_values_total";

export interface RegistryValueReaderOptions {
  log?: (line: string) => void;
  /** Where weft_registry_invalid_values_total{kind} is registered; none when absent. */
  metrics?: MetricsRegistry;
}

/** A key weft knows, and its record; `value` is undefined when the stored value failed validation. */
export interface ReadValue {
  key: ParsedKey;
  value?: RegistryValue;
}

export class RegistryValueReader {
  private readonly invalidValues: Counter<"kind"> | undefined;
  /** key -> the revision of the invalid value last reported there. Bounded by the number of keys. */
  private readonly reported = new Map<string, string>();
  private readonly log: (line: string) => void;

  constructor(
    private readonly keys: RegistryKeys,
    options: RegistryValueReaderOptions = {},
  ) {
    this.log = options.log ?? (() => undefined);
    const metrics = options.metrics;
    // Several registries (a restarted agent, tests) may share one metrics registry.
    this.invalidValues = metrics
      ? ((metrics.getSingleMetric(INVALID_VALUES_METRIC) as Counter<"kind"> | undefined) ??
        new Counter({
          name: INVALID_VALUES_METRIC,
          help: "Values under the etcd prefix that failed validation and were skipped, by kind of record.",
          labelNames: ["kind"],
          registers: [metrics],
        }))
      : undefined;
  }

  /** What `key` holds, or undefined for a key weft does not know. */
  read(key: string, value: Uint8Array | string, revision: string): ReadValue | undefined {
    const parsed = classifyKey(this.keys, key);
    if (!parsed) return undefined;
    const record = this.parse(parsed.kind, key, value, revision);
    return record === undefined ? { key: parsed } : { key: parsed, value: { kind: parsed.kind, record } as RegistryValue };
  }

  /** The record in `value`, or undefined (reported once per key and revision) when it fails validation. */
  parse<K extends ValueKind>(kind: K, key: string, value: Uint8Array | string, revision: string): RecordByKind[K] | undefined {
    try {
      const record: RecordByKind[K] = PARSERS[kind](key, typeof value === "string" ? value : Buffer.from(value).toString("utf8"));
      this.reported.delete(key);
      return record;
    } catch (err) {
      if (this.reported.get(key) !== revision) {
        this.reported.set(key, revision);
        this.invalidValues?.inc({ kind });
        this.log(`skipping invalid value at ${printable(key)} (revision ${revision}), keeping what it held before: ${printable(errorText(err))}`);
      }
      return undefined;
    }
  }

  /** The key was deleted: an invalid value written there later is reported again. */
  forget(key: string): void {
    this.reported.delete(key);
  }
}
