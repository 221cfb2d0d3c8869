// End to end: the real service module on a real gRPC server (port 0), called with the generated client.
import * as grpc from "@grpc/grpc-js";
import {
  DeviceType,
  PageType,
  SentimentLabel,
  SentimentServiceClient,
  type AggregateFeedbackRequest,
  type AggregateFeedbackResponse,
  type AnalyzeBatchRequest,
  type AnalyzeBatchResponse,
  type AnalyzeRequest,
  type AnalyzeResponse,
} from "@funnel/proto";
import { runServices, type RunningServices } from "@funnel/runtime";
import { checkHealth, listServicesByReflection } from "@funnel/runtime/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sentimentModule } from "../sentiment-module.js";

let running: RunningServices;
let client: SentimentServiceClient;
let address: string;

beforeAll(async () => {
  running = await runServices([sentimentModule], {
    env: { FUNNEL_SENTIMENT_MAX_BATCH: "8" },
    argv: ["--port", "0", "--metrics-port", "-1", "--log-level", "silent"],
  });
  address = `127.0.0.1:${running.port}`;
  client = new SentimentServiceClient(address, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await running?.server.shutdown();
});

const analyze = (request: Partial<AnalyzeRequest>) =>
  new Promise<AnalyzeResponse>((resolve, reject) =>
    client.analyze({ text: "", page: 0, ...request }, (error, response) => (error ? reject(error) : resolve(response!))),
  );

const analyzeBatch = (request: AnalyzeBatchRequest) =>
  new Promise<AnalyzeBatchResponse>((resolve, reject) =>
    client.analyzeBatch(request, (error, response) => (error ? reject(error) : resolve(response!))),
  );

const aggregate = (records: AggregateFeedbackRequest["record"][]) =>
  new Promise<AggregateFeedbackResponse>((resolve, reject) => {
    const stream = client.aggregateFeedback((error, response) => (error ? reject(error) : resolve(response!)));
    for (const record of records) stream.write({ record });
    stream.end();
  });

describe("SentimentService over gRPC", () => {
  it("is SERVING on health once the rules are loaded, and visible through reflection", async () => {
    expect(await checkHealth(address, "funnel.v1.SentimentService")).toBe("SERVING");
    expect(await checkHealth(address, "")).toBe("SERVING");
    expect(await listServicesByReflection(address)).toEqual(expect.arrayContaining(["funnel.v1.SentimentService", "grpc.health.v1.Health"]));
  });

  it("labels clear texts, names the rules that moved the score and the model version", async () => {
    const positive = await analyze({ text: "Checkout was quick and the staff were wonderful 😍", page: PageType.PAGE_TYPE_CONFIRMATION });
    expect(positive.result).toMatchObject({ label: SentimentLabel.SENTIMENT_LABEL_POSITIVE, method: 1 });
    expect(positive.result!.score).toBeGreaterThan(0);
    expect(positive.result!.score).toBeLessThanOrEqual(1);
    expect(positive.model?.name).toBe("sentiment-rules");
    expect(positive.model?.version).toBe(positive.result!.ruleSetVersion);

    const negative = await analyze({ text: "my card was declined for one order", page: PageType.PAGE_TYPE_PAYMENT });
    expect(negative.result!.label).toBe(SentimentLabel.SENTIMENT_LABEL_NEGATIVE);
    expect(negative.result!.contributions.some((c) => c.rule.startsWith("page.payment"))).toBe(true);
    expect(negative.result!.score).toBeGreaterThanOrEqual(-1);
  });

  it("applies page rules only on their page", async () => {
    const onPayment = await analyze({ text: "my card was declined", page: PageType.PAGE_TYPE_PAYMENT });
    const onHome = await analyze({ text: "my card was declined", page: PageType.PAGE_TYPE_HOME });
    expect(onPayment.result!.contributions.some((c) => c.rule.startsWith("page.payment"))).toBe(true);
    expect(onHome.result!.contributions.some((c) => c.rule.startsWith("page.payment"))).toBe(false);
    expect(onPayment.result!.score).toBeLessThan(onHome.result!.score);
  });

  it("answers text in a language without rules as neutral, confidence 0, with the language and the flag", async () => {
    const german = await analyze({ text: "Die Zahlung ist fehlgeschlagen und niemand antwortet auf meine E-Mails", page: PageType.PAGE_TYPE_PAYMENT });
    expect(german.result).toMatchObject({
      label: SentimentLabel.SENTIMENT_LABEL_NEUTRAL,
      confidence: 0,
      language: "deu",
      unsupportedLanguage: true,
      contributions: [],
    });
    const english = await analyze({ text: "terribel experiance, the paymnet faild", page: PageType.PAGE_TYPE_PAYMENT });
    expect(english.result).toMatchObject({ label: SentimentLabel.SENTIMENT_LABEL_NEGATIVE, language: "eng", unsupportedLanguage: false });
  });

  it("scores a batch in request order, each like a single call", async () => {
    const texts = ["I love it", "I hate it", "it is a phone", "not good at all"];
    const batch = await analyzeBatch({ items: texts.map((text) => ({ text, page: PageType.PAGE_TYPE_PRODUCT })) });
    expect(batch.results).toHaveLength(texts.length);
    for (const [i, text] of texts.entries()) {
      const single = await analyze({ text, page: PageType.PAGE_TYPE_PRODUCT });
      expect(batch.results[i]).toEqual(single.result);
    }
  });

  it("rejects bad input with INVALID_ARGUMENT naming the field and limit, and keeps serving", async () => {
    const cases: [Partial<AnalyzeRequest>, RegExp][] = [
      [{ text: "" }, /^text: must not be empty/],
      [{ text: " \t\n " }, /^text: must not be empty or only whitespace/],
      [{ text: "a".repeat(5_001) }, /^text: is longer than the limit of 5000 characters/],
      [{ text: "fine", page: 42 as PageType }, /^page: unknown enum value 42; expected one of PAGE_TYPE_UNSPECIFIED/],
    ];
    for (const [request, message] of cases) {
      const error = (await analyze(request).catch((e) => e)) as grpc.ServiceError;
      expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error.details).toMatch(message);
    }
    await expect(analyze({ text: "a".repeat(5_000) })).resolves.toBeDefined();
    await expect(analyze({ text: "still fine" })).resolves.toBeDefined();
  });

  it("rejects a batch over its limit or with a bad item, naming it", async () => {
    const tooMany = (await analyzeBatch({ items: Array.from({ length: 9 }, () => ({ text: "ok", page: 0 })) }).catch((e) => e)) as grpc.ServiceError;
    expect(tooMany.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(tooMany.details).toBe("items: has 9 entries, over the limit of 8; split the request");
    const badItem = (await analyzeBatch({ items: [{ text: "ok", page: 0 }, { text: "  ", page: 0 }] }).catch((e) => e)) as grpc.ServiceError;
    expect(badItem.details).toMatch(/^items\[1\]\.text: must not be empty/);
    const empty = (await analyzeBatch({ items: [] }).catch((e) => e)) as grpc.ServiceError;
    expect(empty.details).toBe("items: must contain at least one entry");
  });

  it("aggregates a client stream per page, user, device, hour and day", async () => {
    const at = (iso: string) => new Date(iso);
    const response = await aggregate([
      { userId: "u1", page: PageType.PAGE_TYPE_PAYMENT, device: DeviceType.DEVICE_TYPE_MOBILE, timestamp: at("2026-11-26T14:05:00Z"), text: "charged twice, terrible" },
      { userId: "u1", page: PageType.PAGE_TYPE_CONFIRMATION, device: DeviceType.DEVICE_TYPE_MOBILE, timestamp: at("2026-11-26T14:50:00Z"), text: "order confirmed, great service!" },
      { userId: "u2", page: PageType.PAGE_TYPE_PAYMENT, device: DeviceType.DEVICE_TYPE_DESKTOP, timestamp: at("2026-11-27T09:00:00Z"), text: "payment declined again, awful" },
      { userId: "u2", page: PageType.PAGE_TYPE_UNSPECIFIED, device: DeviceType.DEVICE_TYPE_UNSPECIFIED, text: "love it" },
    ]);
    expect(response.overall).toMatchObject({ count: 4, negative: 2, positive: 2, neutral: 0 });
    const byKey = (groups: AggregateFeedbackResponse["byPage"]) => Object.fromEntries(groups.map((g) => [g.key, g.distribution!.count]));
    expect(byKey(response.byPage)).toEqual({ confirmation: 1, payment: 2, unspecified: 1 });
    expect(byKey(response.byUser)).toEqual({ u1: 2, u2: 2 });
    expect(byKey(response.byDevice)).toEqual({ desktop: 1, mobile: 2, unspecified: 1 });
    expect(byKey(response.byHour)).toEqual({ "2026-11-26T14:00:00Z": 2, "2026-11-27T09:00:00Z": 1, unspecified: 1 });
    expect(byKey(response.byDay)).toEqual({ "2026-11-26": 2, "2026-11-27": 1, unspecified: 1 });
    const payment = response.byPage.find((g) => g.key === "payment")!.distribution!;
    expect(payment.negative).toBe(2);
    expect(payment.meanScore).toBeLessThan(0);
    expect(response.model?.name).toBe("sentiment-rules");
  });

  it("fails a stream with a bad record, naming its index", async () => {
    const error = (await aggregate([
      { userId: "u1", page: PageType.PAGE_TYPE_HOME, device: DeviceType.DEVICE_TYPE_MOBILE, text: "nice" },
      { userId: "u1", page: PageType.PAGE_TYPE_HOME, device: 9 as DeviceType, text: "nice" },
    ]).catch((e) => e)) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toMatch(/^records\[1\]\.device: unknown enum value 9/);
  });

  it("answers an empty stream with an empty aggregate", async () => {
    const response = await aggregate([]);
    expect(response.overall).toMatchObject({ count: 0 });
    expect(response.byPage).toEqual([]);
  });
});
