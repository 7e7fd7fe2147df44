// The embedded DNS's thinking, as one pure function: a query's bytes and one network's names in, a
// response's bytes (or "forward this", or "drop this") out. No sockets, no clock; randomness injected.
import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer, type Packet, type Question } from "dns-packet";
import { isIPv4 } from "../../proto/values/index.js";
import type { ZoneIndex } from "./zone-index.js";

/** What became of a query: the label of weft_dns_queries_total. */
export type DnsResult =
  | "answered"
  | "nodata"
  | "nxdomain"
  | "forwarded"
  | "formerr"
  | "notimp"
  | "refused"
  | "servfail"
  | "dropped";

export type AnswerDecision =
  /**
   * same: every query with these bytes (bar the ID) in this zone gets this response (bar the ID); false
   * when the addresses were shuffled, so the server may keep the bytes only when it is true.
   */
  | { readonly kind: "reply"; readonly result: DnsResult; readonly response: Buffer; readonly same: boolean }
  /** Not a name of this network: send the client's query upstream. */
  | { readonly kind: "forward"; readonly query: DecodedPacket }
  /** Too short to carry a header, or itself a response: no answer at all. */
  | { readonly kind: "drop" };

export interface AnswerContext {
  readonly zone: ZoneIndex;
  /** UDP responses are held to the client's size (512 bytes, or its EDNS size); TCP ones are not. */
  readonly transport: "udp" | "tcp";
  readonly ttlSeconds: number;
  /** In [0, 1): shuffles the addresses behind a name. */
  readonly random: () => number;
}

/**
 * The largest UDP response sent, and the size advertised in EDNS: 1232 bytes fits an IPv6 minimum
 * MTU of 1280 without fragments (the DNS flag day 2020 figure), so no answer depends on fragments
 * crossing the overlay.
 */
export const MAX_UDP_PAYLOAD = 1232;
const MIN_UDP_PAYLOAD = 512;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
type Rcode = (typeof RCODE)[keyof typeof RCODE];
/** BADVERS is extended: 16 = OPT's extended-rcode 1, header rcode 0. */
const BADVERS_EXTENDED = 1;

const HEADER_BYTES = 12;
const OPCODE_QUERY = 0;
const QR_BIT = 0x80; // in the header's third byte
const REVERSE_SUFFIX = ".in-addr.arpa";
const DROP: AnswerDecision = { kind: "drop" };

export function answerQuery(request: Uint8Array, context: AnswerContext): AnswerDecision {
  if (request.length < HEADER_BYTES) return DROP;
  const bytes = Buffer.from(request.buffer, request.byteOffset, request.length);
  // A response sent to us is never answered: no loops with another server, no reflection.
  if ((bytes[2]! & QR_BIT) !== 0) return DROP;
  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(bytes);
  } catch {
    return reply("formerr", headerOnlyResponse(bytes, RCODE.FORMERR));
  }
  const opts = (query.additionals ?? []).filter((record) => record.type === "OPT");
  const questions = query.questions ?? [];
  if (questions.length !== 1 || !encodable(questions[0]!)) return reply("formerr", headerOnlyResponse(bytes, RCODE.FORMERR));
  if (opts.length > 1) return reply("formerr", encodeResponse(query, RCODE.FORMERR, [], false, false));
  if (((bytes[2]! >> 3) & 0x0f) !== OPCODE_QUERY) return reply("notimp", encodeResponse(query, RCODE.NOTIMP, [], false, opts.length > 0));
  const opt = opts[0] as OptAnswer | undefined;
  if (opt !== undefined && opt.ednsVersion !== 0) {
    return reply("formerr", encodeResponse(query, RCODE.NOERROR, [], false, true, BADVERS_EXTENDED));
  }
  const question = questions[0]!;
  const local = lookUp(question, context);
  if (local === undefined) return { kind: "forward", query };
  const response = encodeResponse(query, local.rcode, local.answers, true, opt !== undefined);
  const limit = context.transport === "tcp" ? 65_535 : udpLimit(opt?.udpPayloadSize);
  if (response.length > limit) {
    // Too large for this UDP client: the question alone with TC set, so it asks again over TCP.
    return reply(local.result, encodeResponse(query, local.rcode, [], true, opt !== undefined, 0, dnsPacket.TRUNCATED_RESPONSE));
  }
  return reply(local.result, response, !local.shuffled);
}

/** SERVFAIL (forwarding failed) or REFUSED (too many in flight) for a query that was to be forwarded. */
export function failureResponse(query: DecodedPacket, rcode: "servfail" | "refused"): Buffer {
  const hasOpt = (query.additionals ?? []).some((record) => record.type === "OPT");
  return encodeResponse(query, rcode === "servfail" ? RCODE.SERVFAIL : RCODE.REFUSED, [], false, hasOpt);
}

/** The client's UDP size: 512 without EDNS, else what it offers, between 512 and MAX_UDP_PAYLOAD. */
export function udpLimit(offered: number | undefined): number {
  if (offered === undefined) return MIN_UDP_PAYLOAD;
  return Math.min(MAX_UDP_PAYLOAD, Math.max(MIN_UDP_PAYLOAD, offered));
}

interface LocalAnswer {
  readonly rcode: Rcode;
  readonly result: DnsResult;
  readonly answers: Answer[];
  /** The answers' order was drawn at random. */
  readonly shuffled?: boolean;
}

/**
 * This network's answer, or undefined when the name is not this network's to answer. Authoritative
 * for NAME and NAME.NETWORK of its endpoints and for everything under .NETWORK; PTR for its
 * endpoints' addresses. A bare name that is not an endpoint's goes upstream: it may be a host's.
 */
function lookUp(question: Question, context: AnswerContext): LocalAnswer | undefined {
  if ((question.class ?? "IN") !== "IN") return undefined;
  const type: string = question.type; // "ANY" is missing from dns-packet's RecordType
  const asked = trimDot(question.name).toLowerCase();
  const { zone } = context;
  if (asked.endsWith(REVERSE_SUFFIX)) {
    const ip = reverseAddress(asked.slice(0, -REVERSE_SUFFIX.length));
    const names = ip === undefined ? undefined : zone.names(ip);
    if (names === undefined) return undefined;
    if (type !== "PTR" && type !== "ANY") return { rcode: RCODE.NOERROR, result: "nodata", answers: [] };
    const answers = names.map((data): Answer => ({ type: "PTR", class: "IN", name: question.name, ttl: context.ttlSeconds, data }));
    return { rcode: RCODE.NOERROR, result: "answered", answers };
  }
  const ownDomain = asked === zone.domain || asked.endsWith(`.${zone.domain}`);
  const bare = asked === zone.domain ? asked : ownDomain ? asked.slice(0, -(zone.domain.length + 1)) : asked;
  const addresses = zone.addresses(asked) ?? (ownDomain ? zone.addresses(bare) : undefined);
  if (addresses === undefined) {
    if (!ownDomain) return undefined;
    // The network's own domain exists (NODATA); any other name under it does not.
    return asked === zone.domain
      ? { rcode: RCODE.NOERROR, result: "nodata", answers: [] }
      : { rcode: RCODE.NXDOMAIN, result: "nxdomain", answers: [] };
  }
  if (type !== "A" && type !== "ANY") return { rcode: RCODE.NOERROR, result: "nodata", answers: [] };
  const answers = shuffled(addresses, context.random).map(
    (data): Answer => ({ type: "A", class: "IN", name: question.name, ttl: context.ttlSeconds, data }),
  );
  return { rcode: RCODE.NOERROR, result: "answered", answers, shuffled: addresses.length > 1 };
}

function encodeResponse(
  query: DecodedPacket,
  rcode: Rcode,
  answers: Answer[],
  authoritative: boolean,
  withOpt: boolean,
  extendedRcode = 0,
  extraFlags = 0,
): Buffer {
  const flags =
    ((query.flags ?? 0) & (dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED | OPCODE_MASK)) |
    dnsPacket.RECURSION_AVAILABLE |
    (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) |
    extraFlags |
    rcode;
  const packet: Packet = {
    type: "response",
    id: query.id ?? 0,
    flags,
    questions: (query.questions ?? []).slice(0, 1),
    answers,
    additionals: withOpt ? [{ type: "OPT", name: ".", udpPayloadSize: MAX_UDP_PAYLOAD, extendedRcode, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  };
  return dnsPacket.encode(packet);
}

const OPCODE_MASK = 0x7800;

/** A response carrying only the request's id, opcode and RD bit: for queries that cannot be decoded. */
function headerOnlyResponse(request: Buffer, rcode: Rcode): Buffer {
  const flags = request.readUInt16BE(2);
  return dnsPacket.encode({ type: "response", id: request.readUInt16BE(0), flags: (flags & (OPCODE_MASK | dnsPacket.RECURSION_DESIRED)) | rcode, questions: [] });
}

/**
 * Whether the decoded question encodes back to what was asked, so a response can echo it. dns-packet
 * encodes a class it does not know as 0, decodes a label that is not UTF-8 to U+FFFD (three bytes
 * each when encoded again) and joins labels with '.', so a label holding a dot or nothing would come
 * back as other labels. None of these is a name anyone serves.
 */
function encodable(question: Question): boolean {
  if (String(question.class ?? "IN").startsWith("UNKNOWN")) return false;
  const name = question.name;
  if (name === ".") return true;
  if (name.includes("\ufffd") || Buffer.byteLength(name) > 253) return false;
  return name.split(".").every((label) => label.length > 0 && Buffer.byteLength(label) <= 63);
}

function reply(result: DnsResult, response: Buffer, same = true): AnswerDecision {
  return { kind: "reply", result, response, same };
}

function trimDot(name: string): string {
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

/** "4.3.2.1" (the labels before .in-addr.arpa) -> "1.2.3.4"; undefined unless a whole IPv4 address. */
function reverseAddress(labels: string): string | undefined {
  const octets = labels.split(".");
  if (octets.length !== 4) return undefined;
  const ip = octets.reverse().join(".");
  return isIPv4(ip) ? ip : undefined;
}

/** Fisher-Yates on a copy, so each client sees the addresses behind a shared name in a new order. */
function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
