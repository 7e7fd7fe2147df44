// CNI's error result: {cniVersion, code, msg, details} on stdout and a non-zero exit (CNI spec 1.0.0
// and 1.1.0, "Error"). The codes are the spec's well-known ones; 100 and up are weft's own.
import { errorText, WeftError } from "../../proto/values/index.js";

export const CNI_CODE = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  // STATUS only (spec 1.1.0).
  notAvailable: 50,
  limitedConnectivity: 51,
  // weft's own: the agent refused or failed the request (details say why).
  agentRefused: 100,
  // weft's own: CHECK found the container's interface, address or routes not as attached.
  checkFailed: 101,
} as const;

export class CniError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details = "",
  ) {
    super(message);
    this.name = "CniError";
  }
}

/** A bad value in the network configuration (code 7), naming its field. */
export function invalidConfig(field: string, reason: string): CniError {
  return new CniError(CNI_CODE.invalidConfig, `${field}: ${reason}`);
}

/** A bad or missing CNI_* variable (code 4), naming it. */
export function invalidEnvironment(variable: string, reason: string): CniError {
  return new CniError(CNI_CODE.invalidEnvironment, `${variable}: ${reason}`);
}

/**
 * Anything the agent threw, as a CNI error: the agent unreachable is "try again later" (the runtime
 * retries); bad input keeps the field the agent named, mapped back to where the runtime gave it.
 */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (!(err instanceof WeftError)) return new CniError(CNI_CODE.ioFailure, errorText(err));
  if (err.code === "unavailable") return new CniError(CNI_CODE.tryAgainLater, "weftd is not answering: try again later", err.message);
  if (err.field === "network" && (err.code === "not-found" || err.code === "invalid-argument")) {
    return new CniError(CNI_CODE.invalidConfig, err.message);
  }
  if (err.field === "netns" && err.code === "invalid-argument") return new CniError(CNI_CODE.invalidEnvironment, `CNI_NETNS: ${err.message}`);
  if (err.field === "if_name" && err.code === "invalid-argument") return new CniError(CNI_CODE.invalidEnvironment, `CNI_IFNAME: ${err.message}`);
  return new CniError(CNI_CODE.agentRefused, `weftd refused: ${err.message}`);
}

/** The error result's JSON text. */
export function errorResult(cniVersion: string, err: CniError): string {
  return JSON.stringify({ cniVersion, code: err.code, msg: err.message, ...(err.details ? { details: err.details } : {}) });
}
