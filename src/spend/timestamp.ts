// Record timestamps (ISO-8601 UTC with milliseconds), as Date#toISOString writes them.
// toISOString formats through the C library on every call, which costs more than the rest of
// the record; the part up to the seconds changes once a second, so it is kept and only the
// milliseconds are appended.

let heldSecond = Number.NaN;
let heldPrefix = '';

const MS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0') + 'Z');

/** `new Date(time).toISOString()`, for any time value a clock returns. */
export function isoTimestamp(time: number): string {
  const ms = Math.trunc(time); // as Date does with a fractional time value
  const second = Math.floor(ms / 1000);
  if (second !== heldSecond) {
    const iso = new Date(second * 1000).toISOString();
    heldPrefix = iso.slice(0, iso.length - 4); // everything before "000Z"
    heldSecond = second;
  }
  return heldPrefix + MS[ms - second * 1000]!;
}
