// Writing the slots of Maglev maps straight to the kernel: one nftables netlink batch (a transaction)
// of element deletions and additions. nft itself first fetches every set and chain definition of the
// table (2,000 of them at 1,000 services), which costs tens of milliseconds per change; the batch costs
// about one. Used only for changes that touch slot maps alone (a backend added or removed); anything
// else goes through nft.
import { errnoText, KernelError } from "../kernel-error.js";
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST, encodeMessage, type Attribute } from "../netlink-message.js";
import { NetlinkSocket } from "../netlink-socket.js";
import { parseIPv4 } from "../../proto/values/index.js";

const NETLINK_NETFILTER = 12;
const NFNL_SUBSYS_NFTABLES = 10;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const NFT_MSG_NEWSETELEM = 12;
const NFT_MSG_DELSETELEM = 14;
const NFPROTO_INET = 1;
const NLA_F_NESTED = 0x8000;
const NFTA_SET_ELEM_LIST_TABLE = 1;
const NFTA_SET_ELEM_LIST_SET = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
const NFTA_LIST_ELEM = 1;
const NFTA_SET_ELEM_KEY = 1;
const NFTA_SET_ELEM_DATA = 2;
const NFTA_DATA_VALUE = 1;

/** The changes of one slot map: slots to delete, then slot -> backend IP to add. */
export interface SlotMapChange {
  map: string;
  remove: readonly number[];
  add: ReadonlyArray<readonly [number, string]>;
}

/** The changes of a set of IPv4 addresses (the mesh's local backends). */
export interface AddressSetChange {
  set: string;
  remove: readonly string[];
  add: readonly string[];
}

/** Writes the changes to `inet <table>` in one transaction; throws a KernelError naming the failure. */
export type SlotWriter = (table: string, changes: readonly SlotMapChange[], addressSets?: readonly AddressSetChange[]) => Promise<void>;

/** A SlotWriter over a netlink socket of the calling thread's network namespace (the agent's). */
export const netlinkSlotWriter: SlotWriter = async (table, changes, addressSets = []) => {
  const removals: Array<[string, Attribute[]]> = [
    ...changes.map((c): [string, Attribute[]] => [c.map, c.remove.map((slot) => element(slotKey(slot)))]),
    ...addressSets.map((c): [string, Attribute[]] => [c.set, c.remove.map((ip) => element(addressKey(ip)))]),
  ].filter(([, elements]) => elements.length > 0);
  const additions: Array<[string, Attribute[]]> = [
    ...changes.map((c): [string, Attribute[]] => [c.map, c.add.map(([slot, ip]) => element(slotKey(slot), addressKey(ip)))]),
    ...addressSets.map((c): [string, Attribute[]] => [c.set, c.add.map((ip) => element(addressKey(ip)))]),
  ].filter(([, elements]) => elements.length > 0);
  if (removals.length + additions.length === 0) return;
  const socket = new NetlinkSocket({ protocol: NETLINK_NETFILTER, receiveBufferSize: 64 << 10 });
  try {
    const first = socket.allocateSeqs(removals.length + additions.length + 2);
    let seq = first;
    const messages: Buffer[] = [batchMessage(NFNL_MSG_BATCH_BEGIN, seq++)];
    for (const [set, elements] of removals) messages.push(elementsMessage(NFT_MSG_DELSETELEM, seq++, table, set, elements));
    for (const [set, elements] of additions) messages.push(elementsMessage(NFT_MSG_NEWSETELEM, seq++, table, set, elements));
    const last = seq - 1;
    messages.push(batchMessage(NFNL_MSG_BATCH_END, seq));
    const errors = socket.sendBatch(Buffer.concat(messages), first + 1, last);
    if (errors.size > 0) {
      const [failed, ack] = [...errors][0]!;
      throw new KernelError(`nftables slot write (message ${failed - first}): ${ack.message ?? errnoText(ack.errno)}`, { errno: ack.errno });
    }
  } finally {
    socket.close();
  }
};

function batchMessage(type: number, seq: number): Buffer {
  const fixed = Buffer.alloc(4); // nfgenmsg: AF_UNSPEC, version 0, res_id = the subsystem (big endian)
  fixed.writeUInt16BE(NFNL_SUBSYS_NFTABLES, 2);
  return encodeMessage(type, NLM_F_REQUEST, seq, fixed);
}

function elementsMessage(type: number, seq: number, table: string, map: string, elements: Attribute[]): Buffer {
  const fixed = Buffer.alloc(4);
  fixed.writeUInt8(NFPROTO_INET, 0);
  const flags = NLM_F_REQUEST | NLM_F_ACK | (type === NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0);
  return encodeMessage((NFNL_SUBSYS_NFTABLES << 8) | type, flags, seq, fixed, [
    { type: NFTA_SET_ELEM_LIST_TABLE, string: table },
    { type: NFTA_SET_ELEM_LIST_SET, string: map },
    { type: NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED, nested: elements },
  ]);
}

/** A slot key is the jhash result: a 32-bit integer in host byte order. */
function slotKey(slot: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(slot, 0);
  return key;
}

/** An IPv4 address, in network byte order. */
function addressKey(ip: string): Buffer {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(parseIPv4(ip, "ip") >>> 0, 0);
  return value;
}

function element(key: Buffer, data?: Buffer): Attribute {
  const nested: Attribute[] = [{ type: NFTA_SET_ELEM_KEY | NLA_F_NESTED, nested: [{ type: NFTA_DATA_VALUE, bytes: key }] }];
  if (data !== undefined) nested.push({ type: NFTA_SET_ELEM_DATA | NLA_F_NESTED, nested: [{ type: NFTA_DATA_VALUE, bytes: data }] });
  return { type: NFTA_LIST_ELEM | NLA_F_NESTED, nested };
}
