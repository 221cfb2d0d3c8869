import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataFileError } from "./errors.js";
import { generateDataset } from "./generate-dataset.js";
import { loadEvents, loadItemAttributes, loadUserAttributes } from "./load-events.js";
import { writeEvents } from "./write-events.js";

const HEADER = "user_id,session_id,timestamp,device,page,interaction,duration_s,item_id,converted,text";
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "funnel-load-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe("loadEvents (CSV)", () => {
  it("reads good rows, quoted fields with commas, quotes and line breaks, and both timestamp forms", async () => {
    const path = await file(
      "good.csv",
      [
        HEADER,
        'u1,s1,2026-01-02T10:00:00Z,mobile,home,scroll,3.5,item-1,0,"Fast, cheap, ""great"""',
        "u1,s1,1767348005000,mobile,confirmation,click,2,item-9,true,",
        "u1,s1,2026-01-02 10:00:30,mobile,search,form,2,item-9,false,",
        'u2,s2,2026-01-03T10:00:00.500+01:00,Desktop,payment,form,12,item-4,1,"line one',
        'line two, still the same field"',
        "",
      ].join("\n"),
    );
    const { events, report } = await loadEvents([path]);
    expect(report).toEqual({ files: [path], rowsRead: 4, rowsAccepted: 4, rowsRejected: 0, errors: [] });
    expect(events[0]).toEqual({
      userId: "u1",
      sessionId: "s1",
      timestamp: Date.UTC(2026, 0, 2, 10),
      device: "mobile",
      page: "home",
      interaction: "scroll",
      durationSeconds: 3.5,
      itemId: "item-1",
      converted: false,
      text: 'Fast, cheap, "great"',
    });
    expect(events[1]).toMatchObject({ timestamp: 1767348005000, converted: true });
    expect(events[1]!.text).toBeUndefined();
    // No offset means UTC, whatever the machine's time zone.
    expect(events[2]).toMatchObject({ timestamp: Date.UTC(2026, 0, 2, 10, 0, 30), converted: false });
    expect(events[3]).toMatchObject({
      device: "desktop",
      timestamp: Date.UTC(2026, 0, 3, 9, 0, 0, 500),
      text: "line one\nline two, still the same field",
    });
  });

  it("reads Windows line endings and a UTF-8 byte order mark", async () => {
    const path = await file(
      "crlf.csv",
      "\uFEFF" + [HEADER, "u1,s1,1767348005000,mobile,home,click,3,item-1,0,", 'u2,s2,1767348005000,tablet,home,click,3,item-1,1,"a, b"', ""].join("\r\n"),
    );
    const { events, report } = await loadEvents([path]);
    expect(report.errors).toEqual([]);
    expect(events.map((e) => [e.userId, e.itemId, e.converted, e.text])).toEqual([
      ["u1", "item-1", false, undefined],
      ["u2", "item-1", true, "a, b"],
    ]);
  });

  it("reports every bad row with its file line and reason, keeps the good ones, and counts both", async () => {
    const path = await file(
      "bad.csv",
      [
        HEADER, // line 1
        "u1,s1,1767348005000,mobile,home,click,3,item-1,0,", // 2 ok
        "u2,s2,yesterday,phone,home,click,-1,item-1,maybe,", // 3 four problems
        'u3,s3,1767348005000,mobile,home,click,3,item-1,0,"bad "quote" here"', // 4 malformed quoting
        "u4,s4,1767348005000,mobile,home,click,3,item-1", // 5 too few fields
        "", // 6 blank: not a row
        ",s5,1767348005000,tablet,search,form,3,item-2,1,", // 7 empty user id
        "u6,s6,1767348005000,tablet,search,form,3,item-2,1,ok", // 8 ok
      ].join("\n"),
    );
    const { events, report } = await loadEvents([path]);
    expect(events.map((e) => e.userId)).toEqual(["u1", "u6"]);
    expect(report.rowsRead).toBe(6);
    expect(report.rowsAccepted).toBe(2);
    expect(report.rowsRejected).toBe(4);
    expect(report.errors.map((e) => [e.file, e.line])).toEqual([
      [path, 3],
      [path, 4],
      [path, 5],
      [path, 7],
    ]);
    const line3 = report.errors[0]!.reason;
    expect(line3).toContain('timestamp "yesterday"');
    expect(line3).toContain('device "phone" is not one of desktop, mobile, tablet');
    expect(line3).toContain('duration_s "-1"');
    expect(line3).toContain('converted "maybe"');
    expect(report.errors[1]!.reason).toMatch(/quote/i);
    expect(report.errors[2]!.reason).toContain("expected 10 fields");
    expect(report.errors[3]!.reason).toContain("user_id is missing");
  });

  it("reports an unclosed quote at its opening line and still reads the rows after it", async () => {
    const rows = [HEADER, 'u1,s1,1767348005000,mobile,home,click,3,item-1,0,"never closed'];
    for (let i = 0; i < 25; i++) rows.push(`u${i + 10},s1,1767348005000,mobile,home,click,3,item-1,0,`);
    const path = await file("unclosed.csv", rows.join("\n"));
    const { events, report } = await loadEvents([path]);
    expect(report.errors).toEqual([{ file: path, line: 2, reason: expect.stringContaining("not closed") }]);
    expect(events).toHaveLength(25);
    expect(report.rowsRead).toBe(26);
  });

  it("strict mode throws on the first bad row, naming file:line and the reason", async () => {
    const path = await file(
      "strict.csv",
      [HEADER, "u1,s1,1767348005000,mobile,home,click,3,item-1,0,", "u2,s2,1767348005000,mobile,checkout,click,3,item-1,0,"].join("\n"),
    );
    const error = await loadEvents([path], { strict: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataFileError);
    expect((error as DataFileError).line).toBe(3);
    expect((error as Error).message).toBe(`${path}:3: page "checkout" is not one of home, search, product, payment, confirmation`);
  });

  it("rejects a header with unknown or missing columns, whatever the strict setting", async () => {
    const unknown = await file("unknown.csv", HEADER + ",colour\n");
    await expect(loadEvents([unknown])).rejects.toThrow(`${unknown}:1: header row: unknown column(s) colour`);
    const missing = await file("missing.csv", "user_id,session_id,timestamp\n");
    await expect(loadEvents([missing])).rejects.toThrow(/missing required column\(s\) device, page, interaction/);
    const empty = await file("empty.csv", "");
    await expect(loadEvents([empty])).rejects.toThrow(/file is empty/);
    await expect(loadEvents([join(dir, "events.parquet")])).rejects.toThrow(/unsupported file extension ".parquet"/);
  });

  it("reports progress with a running row count", async () => {
    const { events } = generateDataset({ users: 1200, seed: 3, items: 120 });
    const path = join(dir, "progress.csv");
    await writeEvents(path, events);
    const seen: number[] = [];
    const { report } = await loadEvents([path], { onProgress: (rows) => seen.push(rows) });
    expect(report.rowsAccepted).toBe(events.length);
    expect(seen.at(-1)).toBe(events.length);
    expect(seen.length).toBe(Math.floor(events.length / 10_000) + 1);
  });
});

describe("loadEvents (JSONL)", () => {
  it("accepts typed and string values and reports bad lines with their line numbers", async () => {
    const good = {
      user_id: "u1",
      session_id: "s1",
      timestamp: 1767348005000,
      device: "tablet",
      page: "product",
      interaction: "hover",
      duration_s: 4,
      item_id: "item-3",
      converted: false,
    };
    const path = await file(
      "events.jsonl",
      [
        JSON.stringify(good), // 1
        "{not json", // 2
        "", // 3 blank
        JSON.stringify({ ...good, timestamp: "2026-01-02T10:00:00Z", converted: 1, text: "Nice" }), // 4
        JSON.stringify({ ...good, colour: "red" }), // 5
        JSON.stringify([1, 2]), // 6
        JSON.stringify({ ...good, duration_s: "abc" }), // 7
      ].join("\n"),
    );
    const { events, report } = await loadEvents([path]);
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ timestamp: Date.UTC(2026, 0, 2, 10), converted: true, text: "Nice" });
    expect(report.errors.map((e) => e.line)).toEqual([2, 5, 6, 7]);
    expect(report.errors[0]!.reason).toMatch(/^invalid JSON/);
    expect(report.errors[1]!.reason).toContain("unknown field(s) colour");
    expect(report.errors[2]!.reason).toBe("expected a JSON object per line");
    expect(report.errors[3]!.reason).toContain('duration_s "abc"');
    expect(report.rowsRead).toBe(6);
  });

  it("merges several files into one report", async () => {
    const { events } = generateDataset({ users: 40, seed: 9, items: 60 });
    const a = join(dir, "a.jsonl");
    const b = join(dir, "b.csv");
    await writeEvents(a, events.slice(0, 100));
    await writeEvents(b, events.slice(100));
    const loaded = await loadEvents([a, b]);
    expect(loaded.events).toEqual(events);
    expect(loaded.report.files).toEqual([a, b]);
    expect(loaded.report.rowsAccepted).toBe(events.length);
  });
});

describe("attribute tables", () => {
  it("loads item attributes, keeps extra columns, and reports duplicates and missing keys", async () => {
    const path = await file(
      "items.csv",
      ["item_id,category,brand", "item-1,books,Acme", "item-2,,", ",toys,Zed", "item-1,music,Other"].join("\n"),
    );
    const { items, report } = await loadItemAttributes(path);
    expect(items).toEqual([{ itemId: "item-1", category: "books", brand: "Acme" }, { itemId: "item-2" }]);
    expect(report.errors).toEqual([
      { file: path, line: 4, reason: "item_id is missing or empty" },
      { file: path, line: 5, reason: 'duplicate item_id "item-1" (first on line 2)' },
    ]);
    await expect(loadItemAttributes(path, { strict: true })).rejects.toThrow(`${path}:4: item_id is missing or empty`);
  });

  it("loads user attributes from JSONL", async () => {
    const path = await file("users.jsonl", ['{"user_id":"u1","segment":"readers"}', '{"segment":"x"}'].join("\n"));
    const { users, report } = await loadUserAttributes(path);
    expect(users).toEqual([{ userId: "u1", segment: "readers" }]);
    expect(report.errors).toEqual([{ file: path, line: 2, reason: "user_id is missing or empty" }]);
  });
});
