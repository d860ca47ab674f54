// Request ids are UUID v7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, so ids
// sort by time and index well. Random bytes come from a pooled buffer: one getrandom call per
// 1024 ids instead of one per request (the uuid package asks the CSPRNG for 16 bytes each time).
import { randomFillSync } from 'node:crypto';

const POOL_IDS = 1024;
const pool = Buffer.allocUnsafe(16 * POOL_IDS);
let next = POOL_IDS;

const HEX: string[] = Array.from({ length: 256 }, (_, i) => (i + 0x100).toString(16).slice(1));

export function uuidv7(nowMs: number): string {
  if (next === POOL_IDS) {
    randomFillSync(pool);
    next = 0;
  }
  const o = 16 * next++;
  const b = pool;
  // Bytes 0-5: timestamp, big-endian.
  b[o] = (nowMs / 0x10000000000) & 0xff;
  b[o + 1] = (nowMs / 0x100000000) & 0xff;
  b[o + 2] = (nowMs / 0x1000000) & 0xff;
  b[o + 3] = (nowMs / 0x10000) & 0xff;
  b[o + 4] = (nowMs / 0x100) & 0xff;
  b[o + 5] = nowMs & 0xff;
  b[o + 6] = 0x70 | (b[o + 6]! & 0x0f); // version 7
  b[o + 8] = 0x80 | (b[o + 8]! & 0x3f); // RFC 9562 variant
  return (
    HEX[b[o]!]! + HEX[b[o + 1]!]! + HEX[b[o + 2]!]! + HEX[b[o + 3]!]! + '-' +
    HEX[b[o + 4]!]! + HEX[b[o + 5]!]! + '-' + HEX[b[o + 6]!]! + HEX[b[o + 7]!]! + '-' +
    HEX[b[o + 8]!]! + HEX[b[o + 9]!]! + '-' + HEX[b[o + 10]!]! + HEX[b[o + 11]!]! +
    HEX[b[o + 12]!]! + HEX[b[o + 13]!]! + HEX[b[o + 14]!]! + HEX[b[o + 15]!]!
  );
}
