// Reading nftables named counters straight from the kernel (a netlink dump of the table's counter
// objects): nft itself fetches the whole table with every map element before it prints one counter,
// which takes seconds once the mesh holds a million Maglev slots; this reads only the counters.
import { KernelError } from "../kernel-error.js";
import { NLM_F_DUMP, NLM_F_REQUEST, align4, writeAttributeHeader, writeNetlinkHeader } from "../netlink-message.js";
import { NetlinkSocket } from "../netlink-socket.js";

const NETLINK_NETFILTER = 12;
const NFNL_SUBSYS_NFTABLES = 10;
const NFT_MSG_GETOBJ = 19;
const NFPROTO_INET = 1;
const NFTA_OBJ_TABLE = 1;
const NFTA_OBJ_NAME = 2;
const NFTA_OBJ_TYPE = 3;
const NFTA_OBJ_DATA = 4;
const NFT_OBJECT_COUNTER = 1;
const NFTA_COUNTER_BYTES = 1;
const NFTA_COUNTER_PACKETS = 2;
const NLA_TYPE_MASK = 0x3fff;
const NFGENMSG_LEN = 4;

export interface InetCounter {
  name: string;
  packets: number;
  bytes: number;
}

/** The packet count of counter `name` in `inet <table>`, or undefined when there is no such counter (or table). */
export function readInetCounterPackets(table: string, name: string): number | undefined {
  return readInetCounters(table).find((c) => c.name === name)?.packets;
}

/** Every named counter of `inet <table>` (none when there is no such table). */
export function readInetCounters(table: string): InetCounter[] {
  const socket = new NetlinkSocket({ protocol: NETLINK_NETFILTER, receiveBufferSize: 64 << 10 });
  try {
    const seq = socket.allocateSeqs(1);
    const counters: InetCounter[] = [];
    try {
      socket.dump(getCountersRequest(table, seq), seq, (buffer, header) => {
        const found = parseCounter(buffer.subarray(header.payloadOffset + NFGENMSG_LEN, header.payloadOffset + header.payloadLength));
        if (found !== undefined) counters.push(found);
      });
    } catch (error) {
      if (error instanceof KernelError && error.errno === 2) return []; // no such table
      throw error;
    }
    return counters;
  } finally {
    socket.close();
  }
}

function getCountersRequest(table: string, seq: number): Buffer {
  const tableName = Buffer.from(`${table}\0`, "utf8");
  const length = 16 + NFGENMSG_LEN + 4 + align4(tableName.length) + 8;
  const buffer = Buffer.alloc(length);
  writeNetlinkHeader(buffer, 0, length, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETOBJ, NLM_F_REQUEST | NLM_F_DUMP, seq);
  buffer.writeUInt8(NFPROTO_INET, 16); // nfgenmsg: family, version 0, res_id 0
  let offset = 16 + NFGENMSG_LEN;
  writeAttributeHeader(buffer, offset, tableName.length, NFTA_OBJ_TABLE);
  tableName.copy(buffer, offset + 4);
  offset += 4 + align4(tableName.length);
  writeAttributeHeader(buffer, offset, 4, NFTA_OBJ_TYPE);
  buffer.writeUInt32BE(NFT_OBJECT_COUNTER, offset + 4);
  return buffer;
}

/** The counter in one NEWOBJ message's attributes. */
function parseCounter(attributes: Buffer): InetCounter | undefined {
  let name: string | undefined;
  let packets = 0;
  let bytes = 0;
  for (const [type, value] of walk(attributes)) {
    if (type === NFTA_OBJ_NAME) name = value.toString("utf8").replace(/\0+$/, "");
    if (type !== NFTA_OBJ_DATA) continue;
    for (const [inner, data] of walk(value)) {
      if (inner === NFTA_COUNTER_PACKETS) packets = Number(data.readBigUInt64BE(0));
      if (inner === NFTA_COUNTER_BYTES) bytes = Number(data.readBigUInt64BE(0));
    }
  }
  return name === undefined ? undefined : { name, packets, bytes };
}

function* walk(buffer: Buffer): Generator<[number, Buffer]> {
  let offset = 0;
  while (offset + 4 <= buffer.length) {
    const length = buffer.readUInt16LE(offset);
    if (length < 4 || offset + length > buffer.length) return;
    yield [buffer.readUInt16LE(offset + 2) & NLA_TYPE_MASK, buffer.subarray(offset + 4, offset + length)];
    offset += align4(length);
  }
}
