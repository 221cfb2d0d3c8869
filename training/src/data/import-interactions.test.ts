import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importInteractions, ONLINE_RETAIL_MAPPING } from "./import-interactions.js";
import { loadEvents, loadItemAttributes } from "./load-events.js";
import { writeAttributeTable, writeEvents } from "./write-events.js";

const ONLINE_RETAIL = [
  "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country",
  "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01T08:26:00,2.55,17850,United Kingdom", // line 2
  "536365,71053,WHITE METAL LANTERN,6,2010-12-01T08:26:00,3.39,17850,United Kingdom",
  "536366,22633,HAND WARMER UNION JACK,6,2010-12-01T08:28:00,1.85,,United Kingdom", // 4: anonymous
  "C536379,D,Discount,-1,2010-12-01T09:41:00,27.5,14527,United Kingdom", // 5: cancelled
  "536370,POST,POSTAGE,3,2010-12-01T08:45:00,18,12583,France", // 6: not a product
  "536371,22086,\"PAPER CHAIN KIT, CHRISTMAS\",yes,2010-12-01T09:00:00,2.55,13047,United Kingdom", // 7: bad quantity
  "536372,22632,HAND WARMER RED POLKA DOT,6,yesterday,1.85,13047,United Kingdom", // 8: bad date
  "536373,21730,GLASS STAR FROSTED T-LIGHT HOLDER,-2,2010-12-01T09:02:00,4.25,13047,United Kingdom", // 9: return
  "536374,21754,HOME BUILDING BLOCK WORD,3,2010-12-01T09:09:00,5.95,12583,France", // 10
];

describe("importInteractions", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "import-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("imports online-retail purchases and accounts for every skipped row by reason and line", async () => {
    const file = path.join(dir, "retail.csv");
    await writeFile(file, `${ONLINE_RETAIL.join("\n")}\n`);
    const { events, items, users, summary } = await importInteractions(file, ONLINE_RETAIL_MAPPING);
    expect(summary.rowsRead).toBe(9);
    expect(summary.rowsImported).toBe(3);
    expect(summary.skipped).toEqual({ anonymous: 1, cancelled: 1, "below min value": 1, "not a product": 1, unparseable: 2 });
    expect(summary.rowsImported + summary.errors.length).toBe(summary.rowsRead);
    expect(summary.errors.map((e) => [e.line, e.reason.split(":")[0]])).toEqual([
      [4, "anonymous"],
      [5, "cancelled"],
      [6, "not a product"],
      [7, "unparseable"],
      [8, "unparseable"],
      [9, "below min value"],
    ]);
    expect(summary.errors[3]!.reason).toMatch(/Quantity "yes" is not a number/);
    expect(events.map((e) => [e.userId, e.itemId, e.sessionId])).toEqual([
      ["17850", "85123A", "536365"],
      ["17850", "71053", "536365"],
      ["12583", "21754", "536374"],
    ]);
    expect(events[0]!.timestamp).toBe(Date.parse("2010-12-01T08:26:00Z"));
    expect(items.find((i) => i.itemId === "71053")?.Description).toBe("WHITE METAL LANTERN");
    expect(users).toEqual([
      { userId: "17850", Country: "United Kingdom" },
      { userId: "12583", Country: "France" },
    ]);
  });

  it("maps a generic ratings CSV: epoch seconds, a rating threshold and multi-valued categories", async () => {
    const file = path.join(dir, "ratings.csv");
    await writeFile(file, "userId,movieId,rating,timestamp,genres\n1,10,5,964982703,Action|Comedy|Drama\n1,11,2,964982704,Drama\n2,10,4.5,964982705,Action|Comedy|Drama\n");
    const mapping = { user: "userId", item: "movieId", time: "timestamp", timeFormat: "s" as const, value: "rating", minValue: 4, category: "genres" };
    const { events, items, summary } = await importInteractions(file, mapping);
    expect(summary.skipped["below min value"]).toBe(1);
    expect(events.map((e) => [e.userId, e.itemId, e.timestamp])).toEqual([
      ["1", "10", 964982703000],
      ["2", "10", 964982705000],
    ]);
    expect(items).toEqual([{ itemId: "10", category: "Action|Comedy|Drama" }]);

    // What the import writes, the training loaders read back.
    const out = path.join(dir, "ratings-events.csv");
    await writeEvents(out, events);
    await writeAttributeTable(path.join(dir, "ratings-items.csv"), "item_id", "itemId", items);
    expect((await loadEvents([out], { strict: true })).events).toEqual(events);
    expect((await loadItemAttributes(path.join(dir, "ratings-items.csv"), { strict: true })).items).toEqual(items);
    expect(await readFile(path.join(dir, "ratings-items.csv"), "utf8")).toBe("item_id,category\n10,Action|Comedy|Drama\n");
  });

  it("refuses a log that lacks a mapped column", async () => {
    const file = path.join(dir, "short.csv");
    await writeFile(file, "user,item\na,b\n");
    await expect(importInteractions(file, { user: "user", item: "item", time: "when", timeFormat: "iso" })).rejects.toThrow(/missing required column\(s\) when/);
  });
});
