import { test } from 'node:test';
import assert from 'node:assert/strict';
import { budgetWindow, isValidDuration, localMidnight, parseDuration } from '../../src/budget/window.ts';

const iso = (ms: number) => new Date(ms).toISOString();
function win(duration: string, now: string, tz = 'UTC') {
  const w = budgetWindow(duration, Date.parse(now), tz);
  return { start: iso(w.start), resetAt: iso(w.resetAt) };
}

test('durations parse in every unit and reject the rest', () => {
  assert.deepEqual(parseDuration('30s'), { count: 30, unit: 's' });
  assert.deepEqual(parseDuration('10m'), { count: 10, unit: 'm' });
  assert.deepEqual(parseDuration('12h'), { count: 12, unit: 'h' });
  assert.deepEqual(parseDuration('7d'), { count: 7, unit: 'd' });
  assert.deepEqual(parseDuration('2w'), { count: 2, unit: 'w' });
  assert.deepEqual(parseDuration('3mo'), { count: 3, unit: 'mo' });
  for (const bad of ['', '0d', '-1d', '1y', '1.5d', 'd', '30', '1 mo', '01d', '1M']) assert.equal(isValidDuration(bad), false, bad);
});

test('seconds, minutes and hours are fixed blocks from the epoch', () => {
  assert.deepEqual(win('30s', '2026-11-27T10:15:47.250Z'), { start: '2026-11-27T10:15:30.000Z', resetAt: '2026-11-27T10:16:00.000Z' });
  assert.deepEqual(win('15m', '2026-11-27T10:44:59.999Z'), { start: '2026-11-27T10:30:00.000Z', resetAt: '2026-11-27T10:45:00.000Z' });
  assert.deepEqual(win('1h', '2026-11-27T10:00:00.000Z'), { start: '2026-11-27T10:00:00.000Z', resetAt: '2026-11-27T11:00:00.000Z' });
  assert.deepEqual(win('12h', '2026-11-27T13:00:00Z', 'Asia/Tokyo'), { start: '2026-11-27T12:00:00.000Z', resetAt: '2026-11-28T00:00:00.000Z' });
});

test('1d runs from local midnight to the next local midnight', () => {
  assert.deepEqual(win('1d', '2026-11-27T23:59:59Z'), { start: '2026-11-27T00:00:00.000Z', resetAt: '2026-11-28T00:00:00.000Z' });
  // 2026-11-27T03:00Z is still the 26th in New York (UTC-5).
  assert.deepEqual(win('1d', '2026-11-27T03:00:00Z', 'America/New_York'), { start: '2026-11-26T05:00:00.000Z', resetAt: '2026-11-27T05:00:00.000Z' });
});

test('7d and 1w start on Monday; 2w counts fortnights from 1970-01-05', () => {
  // 2026-11-27 is a Friday; the Monday before is the 23rd.
  const week = { start: '2026-11-23T00:00:00.000Z', resetAt: '2026-11-30T00:00:00.000Z' };
  assert.deepEqual(win('7d', '2026-11-27T12:00:00Z'), week);
  assert.deepEqual(win('1w', '2026-11-27T12:00:00Z'), week);
  assert.deepEqual(win('1w', '2026-11-23T00:00:00Z'), week);
  assert.deepEqual(win('1w', '2026-11-29T23:59:59.999Z'), week);
  const fortnight = win('2w', '2026-11-27T12:00:00Z');
  const start = Date.parse(fortnight.start);
  assert.equal(new Date(start).getUTCDay(), 1);
  assert.equal((start - Date.parse('1970-01-05T00:00:00Z')) % (14 * 86_400_000), 0);
  assert.equal(Date.parse(fortnight.resetAt) - start, 14 * 86_400_000);
});

test('30d and 1mo run from the 1st of the month, with month lengths and leap years', () => {
  assert.deepEqual(win('30d', '2026-11-27T12:00:00Z'), { start: '2026-11-01T00:00:00.000Z', resetAt: '2026-12-01T00:00:00.000Z' });
  assert.deepEqual(win('1mo', '2026-12-31T23:59:59Z'), { start: '2026-12-01T00:00:00.000Z', resetAt: '2027-01-01T00:00:00.000Z' });
  assert.deepEqual(win('1mo', '2028-02-29T12:00:00Z'), { start: '2028-02-01T00:00:00.000Z', resetAt: '2028-03-01T00:00:00.000Z' });
  assert.deepEqual(win('1mo', '2027-02-28T12:00:00Z'), { start: '2027-02-01T00:00:00.000Z', resetAt: '2027-03-01T00:00:00.000Z' });
  assert.deepEqual(win('3mo', '2026-11-27T12:00:00Z'), { start: '2026-10-01T00:00:00.000Z', resetAt: '2027-01-01T00:00:00.000Z' });
  assert.deepEqual(win('12mo', '2028-02-29T00:00:00Z'), { start: '2028-01-01T00:00:00.000Z', resetAt: '2029-01-01T00:00:00.000Z' });
});

test('other Nd are blocks of N local days from 1970-01-01', () => {
  const w = win('3d', '2026-11-27T12:00:00Z');
  const startDay = Date.parse(w.start) / 86_400_000;
  assert.equal(startDay % 3, 0);
  assert.equal(Date.parse(w.resetAt) - Date.parse(w.start), 3 * 86_400_000);
  assert.ok(Date.parse(w.start) <= Date.parse('2026-11-27T12:00:00Z') && Date.parse('2026-11-27T12:00:00Z') < Date.parse(w.resetAt));
  // Across a leap day: 2028-02-28 .. 2028-03-01 are three different days.
  const leap = win('1d', '2028-02-29T05:00:00Z');
  assert.deepEqual(leap, { start: '2028-02-29T00:00:00.000Z', resetAt: '2028-03-01T00:00:00.000Z' });
});

test('windows follow the timezone through DST changes', () => {
  // Berlin leaves summer time on 2026-10-25: that local day is 25 hours long.
  assert.deepEqual(win('1d', '2026-10-25T12:00:00Z', 'Europe/Berlin'), { start: '2026-10-24T22:00:00.000Z', resetAt: '2026-10-25T23:00:00.000Z' });
  // A month that starts in summer time and ends in winter time.
  assert.deepEqual(win('1mo', '2026-10-15T12:00:00Z', 'Europe/Berlin'), { start: '2026-09-30T22:00:00.000Z', resetAt: '2026-10-31T23:00:00.000Z' });
  // New York springs forward 2026-03-08: the week of Monday 03-02 is an hour short.
  assert.deepEqual(win('1w', '2026-03-08T12:00:00Z', 'America/New_York'), { start: '2026-03-02T05:00:00.000Z', resetAt: '2026-03-09T04:00:00.000Z' });
  // Half-hour offsets.
  assert.deepEqual(win('1d', '2026-11-27T20:00:00Z', 'Asia/Kolkata'), { start: '2026-11-27T18:30:00.000Z', resetAt: '2026-11-28T18:30:00.000Z' });
});

test('a midnight skipped by DST starts the day at its first local instant', () => {
  // Santiago springs forward at 00:00 on 2026-09-06: at 04:00Z (00:00 at UTC-4) local time
  // jumps to 01:00 (UTC-3), so the day's first instant is 04:00Z, not 03:00Z (still the 5th).
  const start = localMidnight(2026, 8, 6, 'America/Santiago');
  assert.equal(iso(start), '2026-09-06T04:00:00.000Z');
  assert.deepEqual(win('1d', '2026-09-06T12:00:00Z', 'America/Santiago'), { start: '2026-09-06T04:00:00.000Z', resetAt: '2026-09-07T03:00:00.000Z' });
});

test('a bad duration is a 400 naming budget_duration', () => {
  assert.throws(() => budgetWindow('1y', 0, 'UTC'), (err: any) => err.status === 400 && err.param === 'budget_duration');
});
