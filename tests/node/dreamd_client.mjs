// A dreamd client in JavaScript, written from protocol/PROTOCOL.md alone (zeromq 6,
// @msgpack/msgpack with its default options). It runs a list of checks against a live daemon
// and prints one JSON line per check: {"check": NAME, "ok": BOOL, "detail": ...}.
// Raw result pixels are written to --out so the Python side can compare them with its own.
//
//   node dreamd_client.mjs --endpoint ipc:///run/dreamd.sock --out DIR
//
// Exit status: 0 when every check passed, 1 otherwise.

import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";

import { decode, encode } from "@msgpack/msgpack";
import * as zmq from "zeromq";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => {
    if (a.startsWith("--")) pairs.push([a.slice(2), all[i + 1]]);
    return pairs;
  }, []),
);
const ENDPOINT = args.endpoint;
const OUT = args.out;
const MAX_SAFE = Number.MAX_SAFE_INTEGER; // 2^53 - 1

// ---------------------------------------------------------------- section 1, 2: transport

class Connection {
  constructor(endpoint) {
    // Section 1: DEALER, a stable routing id (not starting with a zero byte), LINGER 0.
    this.sock = new zmq.Dealer({ routingId: `node-${randomUUID()}`, linger: 0 });
    this.sock.connect(endpoint);
    this.pending = [];
  }

  async send(type, fields = {}, frames = []) {
    const id = fields.id ?? randomUUID();
    const header = { v: [1, 0], type, id, ...fields };
    delete header.id;
    header.id = id;
    await this.sock.send([encode(header), ...frames]);
    return id;
  }

  // One reply, or null after `ms` of silence (section 9: a client polls with a timeout).
  async receive(ms = 60000) {
    this.sock.receiveTimeout = ms;
    try {
      const [head, ...frames] = await this.sock.receive();
      const header = decode(head);
      return { header, frames };
    } catch (err) {
      if (err.code === "EAGAIN") return null;
      throw err;
    }
  }

  // Replies about one id until a final one (result or error) or the first of `stopAt`.
  async conversation(id, stopAt = ["result", "error"], ms = 120000) {
    const seen = [];
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const reply = await this.receive(Math.max(1, deadline - Date.now()));
      if (reply === null) break;
      if (reply.header.id !== id) continue;
      seen.push(reply);
      if (stopAt.includes(reply.header.type)) return seen;
    }
    throw new Error(`no final reply for ${id} within ${ms} ms (got ${seen.map((r) => r.header.type)})`);
  }

  close() {
    this.sock.close();
  }
}

// ---------------------------------------------------------------- images (section 3.2)

function rawImage(width, height, channels, dtype) {
  const item = { u8: 1, u16: 2, f32: 4 }[dtype];
  const buf = Buffer.alloc(width * height * channels * item);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const v = 0.5 + 0.45 * Math.sin(x / (4 + c) + y / (6 + 2 * c));
        const i = (y * width + x) * channels + c;
        if (dtype === "u8") buf.writeUInt8(Math.round(v * 255), i);
        else if (dtype === "u16") buf.writeUInt16LE(Math.round(v * 65535), i * 2);
        else buf.writeFloatLE(v, i * 4);
      }
    }
  }
  return buf;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

// A PNG file of an RGB image, 8 or 16 bits per sample.
function png(width, height, depth) {
  const bytesPerSample = depth / 8;
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3 * bytesPerSample); // filter byte 0: None
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const v = 0.5 + 0.45 * Math.cos(x / (3 + c) - y / 5);
        const at = 1 + (x * 3 + c) * bytesPerSample;
        if (depth === 8) row.writeUInt8(Math.round(v * 255), at);
        else row.writeUInt16BE(Math.round(v * 65535), at);
      }
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(depth, 8);
  ihdr.writeUInt8(2, 9); // colour type 2: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

const desc = (width, height, channels, dtype, encoding = "raw") => ({
  width, height, channels, dtype, encoding, colorspace: "sRGB",
});

// ---------------------------------------------------------------- the checks

const results = [];
function check(name, ok, detail = null) {
  results.push({ check: name, ok: Boolean(ok), detail });
  process.stdout.write(`${JSON.stringify({ check: name, ok: Boolean(ok), detail })}\n`);
}

// Every integer the daemon sends must be exact in a JavaScript number (section 2.1).
function allIntegersSafe(value) {
  if (typeof value === "bigint") return false;
  if (typeof value === "number") return !Number.isInteger(value) || Math.abs(value) <= MAX_SAFE;
  if (Array.isArray(value)) return value.every(allIntegersSafe);
  if (value && typeof value === "object") return Object.values(value).every(allIntegersSafe);
  return true;
}

const QUICK = { octave_count: 2, steps_per_octave: 2 };

async function dream(conn, image, bytes, params, extra = {}) {
  const id = await conn.send("dream", { image, params, ...extra }, [bytes]);
  return conn.conversation(id);
}

// A request refused before queueing gets its error as the first and only reply (section 6).
function refusedFirst(replies, code, field) {
  const first = replies[0].header;
  return first.type === "error" && first.code === code && (field === undefined || first.field === field);
}

async function main() {
  const conn = new Connection(ENDPOINT);
  try {
    // hello (section 3, 4)
    const hid = await conn.send("hello", { client: "node-test" });
    const [hello] = await conn.conversation(hid, ["hello", "error"]);
    const h = hello.header;
    check("hello", h.type === "hello" && h.protocols.some(([major]) => major === 1), h);
    check("hello documented fields", typeof h.version === "string" && Array.isArray(h.models)
      && typeof h.limits === "object" && Number.isInteger(h.max_queue) && typeof h.heartbeat === "number", h);

    // status with the layer catalogue
    const sid = await conn.send("status", { layers: true });
    const [status] = await conn.conversation(sid, ["status", "error"]);
    check("status", status.header.type === "status", Object.keys(status.header));

    // raw u8 dream with a seed: the result's params are the parameters as used
    const u8 = rawImage(64, 48, 3, "u8");
    const r8 = await dream(conn, desc(64, 48, 3, "u8"), u8, { ...QUICK, seed: 7 });
    const res = r8.at(-1);
    const ok8 = res.header.type === "result" && res.frames[0].length === u8.length;
    check("dream raw u8", ok8 && r8[0].header.type === "accepted", res.header);
    if (OUT && ok8) writeFileSync(join(OUT, "u8_seed7.raw"), res.frames[0]);
    const used = res.header.params ?? {};
    const usedNames = (used.layers ?? []).map((l) => (typeof l === "string" ? l : l.name));
    const topNames = (res.header.layers ?? []).map((l) => (typeof l === "string" ? l : l.name));
    check("result params.layers as used", usedNames.length > 0
      && JSON.stringify(usedNames) === JSON.stringify(topNames), { usedNames, topNames });
    check("result integers exact in JS", allIntegersSafe(res.header), res.header.seed);

    // octave count reduced for a small image: params, progress and notes agree
    const small = rawImage(24, 20, 3, "u8");
    const mid = rawImage(96, 72, 3, "u8");
    const rs = await dream(conn, desc(96, 72, 3, "u8"), mid, { octave_count: 8, steps_per_octave: 3, seed: 1 });
    const progress = rs.filter((r) => r.header.type === "progress").map((r) => r.header.octaves);
    const rsParams = rs.at(-1).header.params ?? {};
    const notes = rs.at(-1).header.notes ?? [];
    check("reduced octave_count in params", rs.at(-1).header.type === "result"
      && progress.every((n) => n === rsParams.octave_count) && rsParams.octave_count < 8
      && notes.some((n) => n.includes(`to ${rsParams.octave_count}`)),
      { progress, octave_count: rsParams.octave_count, notes });

    // raw u16
    const u16 = rawImage(40, 30, 4, "u16");
    const r16 = await dream(conn, desc(40, 30, 4, "u16"), u16, { ...QUICK, seed: 3 });
    const d16 = r16.at(-1).header;
    check("dream raw u16", d16.type === "result" && d16.image.dtype === "u16" && d16.image.channels === 4
      && r16.at(-1).frames[0].length === u16.length, d16.image);

    // a random seed fits in 53 bits; a large seed sent back is accepted and reproduced
    const rr = await dream(conn, desc(24, 20, 3, "u8"), small, { octave_count: 1, steps_per_octave: 1 });
    const seed = rr.at(-1).header.seed;
    check("random seed within 53 bits", Number.isSafeInteger(seed) && seed >= 0, seed);
    const big = 2 ** 40 + 12345;
    const rb = await dream(conn, desc(24, 20, 3, "u8"), small, { octave_count: 1, steps_per_octave: 1, seed: big });
    check("seed above 2^32 accepted", rb.at(-1).header.type === "result" && rb.at(-1).header.seed === big,
      rb.at(-1).header);

    // encoded PNG: the descriptor is checked against the file's header before queueing
    const png16 = png(32, 24, 16);
    const png8 = png(32, 24, 8);
    const okPng = await dream(conn, desc(32, 24, 3, "u16", "png"), png16, { ...QUICK, seed: 2 });
    const okHead = okPng.at(-1).header;
    check("encoded 16-bit png", okHead.type === "result" && okHead.image.dtype === "u16"
      && okPng.at(-1).frames[0].subarray(0, 8).equals(png16.subarray(0, 8)), okHead.image ?? okHead);
    const asU8 = await dream(conn, desc(32, 24, 3, "u8", "png"), png16, QUICK);
    check("16-bit png declared u8 refused first", refusedFirst(asU8, "BAD_IMAGE", "image.dtype"), asU8[0].header);
    const asU16 = await dream(conn, desc(32, 24, 3, "u16", "png"), png8, QUICK);
    check("8-bit png declared u16 refused first", refusedFirst(asU16, "BAD_IMAGE", "image.dtype"), asU16[0].header);
    const wrongChannels = await dream(conn, desc(32, 24, 4, "u8", "png"), png8, QUICK);
    check("wrong channel count refused first", refusedFirst(wrongChannels, "BAD_IMAGE", "image.channels"),
      wrongChannels[0].header);
    const wrongSize = await dream(conn, desc(33, 24, 3, "u8", "png"), png8, QUICK);
    check("wrong size refused first", refusedFirst(wrongSize, "BAD_IMAGE", "image.width"), wrongSize[0].header);
    const truncated = await dream(conn, desc(32, 24, 3, "u8", "png"), png8.subarray(0, png8.length - 30), QUICK);
    check("truncated png refused first", refusedFirst(truncated, "BAD_IMAGE", "image"), truncated[0].header);

    // field paths (section 4): the offending entry of an array
    const catalogue = status.header.layers ?? {};
    const anyLayer = Object.values(catalogue)[0]?.[0];
    const layerName = typeof anyLayer === "string" ? anyLayer : anyLayer?.name;
    const badLayer = await dream(conn, desc(24, 20, 3, "u8"), small,
      { ...QUICK, layers: [layerName, "no_such_layer"] });
    check("unknown layer names its index", refusedFirst(badLayer, "UNKNOWN_LAYER", "params.layers[1]"),
      badLayer[0].header);
    const badValue = await dream(conn, desc(24, 20, 3, "u8"), small, { jitter: -3 });
    check("bad value names its field", refusedFirst(badValue, "BAD_VALUE", "params.jitter"), badValue[0].header);

    // cancel (section 8)
    const jid = await conn.send("dream", { image: desc(64, 48, 3, "u8"),
      params: { octave_count: 1, steps_per_octave: 5000 } }, [u8]);
    let first = await conn.conversation(jid, ["accepted", "error"]);
    await conn.send("cancel", { job: jid });
    const ending = await conn.conversation(jid);
    const last = ending.at(-1).header;
    check("cancel", first.at(-1).header.type === "accepted" && last.type === "error"
      && last.code === "CANCELLED" && last.job === jid, last);
    first = null;
  } finally {
    conn.close();
  }
  const failed = results.filter((r) => !r.ok).length;
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  process.stdout.write(`${JSON.stringify({ check: "crash", ok: false, detail: String(err.stack ?? err) })}\n`);
  process.exitCode = 1;
});
