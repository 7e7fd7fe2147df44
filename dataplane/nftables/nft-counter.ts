// Reading one named nftables counter straight from the kernel (a netlink dump of the table's counter
// objects): nft itself fetches the whole table with every map element before it prints one counter,
// which takes seconds once the mesh holds a million Maglev slots; this reads a few hundred bytes.
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
const NFTA_COUNTER_PACKETS = 2;
const NLA_TYPE_MASK = 0x3fff;
const NFGENMSG_LEN = 4;

/** The packet count of counter `name` in `inet <table>`, or undefined when there is no such counter (or table). */
export function readInetCounterPackets(table: string, name: string): number | undefined {
  const socket = new NetlinkSocket({ protocol: NETLINK_NETFILTER, receiveBufferSize: 64 << 10 });
  try {
    const seq = socket.allocateSeqs(1);
    let packets: number | undefined;
    try {
      socket.dump(getCountersRequest(table, seq), seq, (buffer, header) => {
        const found = counterPackets(buffer.subarray(header.payloadOffset + NFGENMSG_LEN, header.payloadOffset + header.payloadLength), name);
        if (found !== undefined) packets = found;
      });
    } catch (error) {
      if (error instanceof KernelError && error.errno === 2) return undefined; // no such table
      throw error;
    }
    return packets;
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

/** The packet count in one NEWOBJ message's attributes, when it is counter `name`. */
function counterPackets(attributes: Buffer, name: string): number | undefined {
  let objectName: string | undefined;
  let packets: number | undefined;
  for (const [type, value] of walk(attributes)) {
    if (type === NFTA_OBJ_NAME) objectName = value.toString("utf8").replace(/\0+$/, "");
    if (type === NFTA_OBJ_DATA) for (const [inner, data] of walk(value)) if (inner === NFTA_COUNTER_PACKETS) packets = Number(data.readBigUInt64BE(0));
  }
  return objectName === name ? packets : undefined;
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
