// The reference MCAP reader (@mcap/core, Foxglove's TypeScript library) reading one of our recordings: used by the
// tests to prove a file is what the spec says (docs/recording.md). Reads the file twice:
//   - McapIndexedReader: magic, footer, summary (its CRC checked), statistics, chunk indexes, then every message
//     through the index (chunk CRCs checked);
//   - McapStreamReader: every record front to back (chunk CRCs checked), and the Data End CRC checked here;
// and prints one JSON object: header, schemas, channels, record counts, message counts per topic both ways, the first
// and last message of each topic parsed. Exits 1 with the reader's error on stderr when the file is not valid.
// Usage: node read.mjs FILE [--records]   (--records: also every record, one JSON line each, on stderr)
import { readFile } from "node:fs/promises";
import { crc32 } from "@foxglove/crc";
import { McapIndexedReader, McapStreamReader } from "@mcap/core";

const [path, flag] = process.argv.slice(2);
if (!path) {
  console.error("usage: node read.mjs FILE [--records]");
  process.exit(2);
}

const jsonSafe = (_key, value) => (typeof value === "bigint" ? value.toString() : value instanceof Uint8Array ? `<${value.length} bytes>` : value);

try {
  const bytes = new Uint8Array(await readFile(path));
  const readable = {
    size: async () => BigInt(bytes.length),
    read: async (offset, length) => bytes.subarray(Number(offset), Number(offset + length)),
  };

  // Indexed: the summary, then every message through the chunk indexes.
  const indexed = await McapIndexedReader.Initialize({ readable });
  const indexedCounts = {};
  for await (const message of indexed.readMessages({ validateCrcs: true })) {
    const topic = indexed.channelsById.get(message.channelId).topic;
    indexedCounts[topic] = (indexedCounts[topic] ?? 0) + 1;
  }

  // The data section's CRC (Data End): every byte before the Data End record.
  const dataEnd = Number(indexed.dataEndOffset);
  if (bytes[dataEnd] !== 0x0f) {
    throw new Error(`no Data End record at ${dataEnd}`);
  }
  const dataCrc = crc32(bytes.subarray(0, dataEnd));
  if (indexed.dataSectionCrc !== undefined && indexed.dataSectionCrc !== dataCrc) {
    throw new Error(`data section CRC ${dataCrc} (Data End says ${indexed.dataSectionCrc})`);
  }

  // Streamed: every record, front to back.
  const stream = new McapStreamReader({ validateCrcs: true, includeChunks: true });
  stream.append(bytes);
  const records = {};
  const streamCounts = {};
  const first = {};
  const last = {};
  const channels = new Map();
  let header;
  for (let record; (record = stream.nextRecord()); ) {
    records[record.type] = (records[record.type] ?? 0) + 1;
    if (flag === "--records") {
      console.error(JSON.stringify(record, jsonSafe));
    }
    if (record.type === "Header") {
      header = { profile: record.profile, library: record.library };
    } else if (record.type === "Channel") {
      channels.set(record.id, record);
    } else if (record.type === "Message") {
      const channel = channels.get(record.channelId);
      streamCounts[channel.topic] = (streamCounts[channel.topic] ?? 0) + 1;
      const text = new TextDecoder("utf-8", { fatal: true }).decode(record.data);
      const parsed = channel.messageEncoding === "json" ? JSON.parse(text) : text;
      first[channel.topic] ??= parsed;
      last[channel.topic] = parsed;
    }
  }
  if (!stream.done()) {
    throw new Error(`the stream reader stopped with ${stream.bytesRemaining()} bytes unread`);
  }

  const stats = indexed.statistics;
  console.log(JSON.stringify({
    header,
    schemas: [...indexed.schemasById.values()].map((s) => ({ id: s.id, name: s.name, encoding: s.encoding, title: JSON.parse(new TextDecoder().decode(s.data)).title })),
    channels: [...indexed.channelsById.values()].map((c) => ({ id: c.id, topic: c.topic, schemaId: c.schemaId, messageEncoding: c.messageEncoding })),
    records,
    chunkIndexes: indexed.chunkIndexes.length,
    summaryCrc: indexed.footer.summaryCrc !== 0 ? "checked" : "absent",
    dataSectionCrc: indexed.dataSectionCrc !== undefined ? "checked" : "absent",
    statistics: stats && { messageCount: Number(stats.messageCount), channelCount: stats.channelCount, chunkCount: stats.chunkCount },
    messages: { indexed: indexedCounts, streamed: streamCounts },
    first,
    last,
  }, jsonSafe));
} catch (error) {
  console.error(`mcap: ${error.message}`);
  process.exit(1);
}
