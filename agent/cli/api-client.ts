// What every API command of the CLI shares: the client on the agent's socket, errors as one line,
// JSON or a table, and the argument parsers of numbers and labels.
import { InvalidArgumentError, type Command } from "commander";
import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { WeftService } from "../../proto/gen/weft/v1/api_pb.js";
import { createUnaryClient, type UnaryClient } from "../../proto/grpc-binding.js";
import { printable } from "../../proto/values/index.js";

export const DEFAULT_SOCKET = "/run/weft/weft.sock";

export class CliError extends Error {}

export type Api = UnaryClient<(typeof WeftService)["method"]>;

interface GlobalOptions {
  json?: boolean;
  apiSocket: string;
}

function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

export async function withApi<T>(command: Command, work: (api: Api) => Promise<T>): Promise<T> {
  const { apiSocket } = globals(command);
  const api = createUnaryClient(WeftService, `unix:${apiSocket}`) as Api;
  try {
    return await work(api);
  } catch (err) {
    const e = err as grpc.ServiceError;
    if (e.code === grpc.status.UNAVAILABLE) {
      throw new CliError(`cannot reach the agent at ${apiSocket}: is weftd running? (choose another with --api-socket or WEFT_API_SOCKET)`);
    }
    if (typeof e.code === "number" && e.details !== undefined) throw new CliError(printable(e.details, 4096));
    throw err;
  } finally {
    api.close();
  }
}

export function print(command: Command, schema: DescMessage, message: MessageShape<DescMessage>, human: () => string): void {
  if (globals(command).json) {
    process.stdout.write(JSON.stringify(toJson(schema, message, { alwaysEmitImplicit: true }), null, 2) + "\n");
  } else {
    process.stdout.write(human());
  }
}

export function intArg(flag: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`--${flag} must be a whole number from ${min} to ${max}`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`--${flag} must be from ${min} to ${max}, not ${n}`);
    return n;
  };
}

export function labelArg(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError(`--label takes key=value, not "${value}"`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/** How a command reaches the API (tests pass a fake). */
export type WithApi = typeof withApi;
