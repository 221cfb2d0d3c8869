import { readFileSync } from "node:fs";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { DESCRIPTOR_SET_FILES } from "@funnel/proto";
import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { ReflectionService } from "./reflection-service.js";

const reflection = ReflectionService.fromDescriptorSetFiles(DESCRIPTOR_SET_FILES, ["funnel.v1.SentimentService", "grpc.health.v1.Health"]);
const names = (files: Buffer[] | undefined) => (files ?? []).map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes).name);

describe("ReflectionService over the buf-built descriptor sets", () => {
  it("lists the served services only", () => {
    expect(reflection.answer({ message_request: "list_services", list_services: "" }).list_services_response?.service).toEqual([
      { name: "funnel.v1.SentimentService" },
      { name: "grpc.health.v1.Health" },
    ]);
  });

  it("answers a symbol with its true file first, then every transitive import (well-known types included)", () => {
    const response = reflection.answer({ message_request: "file_containing_symbol", file_containing_symbol: "funnel.v1.SentimentService" });
    const files = names(response.file_descriptor_response?.file_descriptor_proto);
    expect(files[0]).toBe("funnel/v1/sentiment.proto");
    expect(files).toContain("funnel/v1/common.proto");
    expect(files).toContain("google/protobuf/timestamp.proto");
    const sentiment = fromBinary(FileDescriptorProtoSchema, response.file_descriptor_response!.file_descriptor_proto[0]!);
    // Every import the file declares is answered, so a client can resolve google.protobuf.Timestamp.
    for (const dependency of sentiment.dependency) expect(files).toContain(dependency);
  });

  it("finds methods, fields, nested and enum-value symbols, with or without a leading dot", () => {
    for (const symbol of ["funnel.v1.SentimentService.Analyze", "funnel.v1.AnalyzeRequest.text", ".funnel.v1.PageType", "funnel.v1.PAGE_TYPE_PAYMENT", "grpc.health.v1.HealthCheckResponse.ServingStatus"]) {
      const response = reflection.answer({ message_request: "file_containing_symbol", file_containing_symbol: symbol });
      expect(response.error_response, symbol).toBeUndefined();
      expect(names(response.file_descriptor_response?.file_descriptor_proto).length, symbol).toBeGreaterThan(0);
    }
    expect(names(reflection.answer({ message_request: "file_containing_symbol", file_containing_symbol: "grpc.health.v1.Health" }).file_descriptor_response?.file_descriptor_proto)).toEqual([
      "health/v1/health.proto",
    ]);
  });

  it("does not resend imports already sent on the same stream, but always sends the requested file", () => {
    const sent = new Set<string>();
    const first = names(reflection.answer({ message_request: "file_by_filename", file_by_filename: "funnel/v1/sentiment.proto" }, sent).file_descriptor_response?.file_descriptor_proto);
    expect(first.length).toBeGreaterThan(1);
    const again = names(reflection.answer({ message_request: "file_by_filename", file_by_filename: "funnel/v1/sentiment.proto" }, sent).file_descriptor_response?.file_descriptor_proto);
    expect(again).toEqual(["funnel/v1/sentiment.proto"]);
  });

  it("answers unknown files, symbols and extensions with NOT_FOUND, and a known type's extension numbers", () => {
    for (const request of [
      { message_request: "file_by_filename", file_by_filename: "nope.proto" },
      { message_request: "file_containing_symbol", file_containing_symbol: "funnel.v1.Nope" },
      { message_request: "file_containing_extension", file_containing_extension: { containing_type: "funnel.v1.AnalyzeRequest", extension_number: 100 } },
      { message_request: "all_extension_numbers_of_type", all_extension_numbers_of_type: "funnel.v1.Nope" },
    ] as const) {
      expect(reflection.answer(request).error_response?.error_code, JSON.stringify(request)).toBe(status.NOT_FOUND);
    }
    expect(reflection.answer({ message_request: "all_extension_numbers_of_type", all_extension_numbers_of_type: "funnel.v1.AnalyzeRequest" }).all_extension_numbers_response).toEqual({
      base_type_name: "funnel.v1.AnalyzeRequest",
      extension_number: [],
    });
  });

  it("refuses a set whose imports are missing, or a service it cannot describe", () => {
    expect(() => ReflectionService.fromDescriptorSetFiles(DESCRIPTOR_SET_FILES, ["funnel.v1.NoSuchService"])).toThrow(/no service funnel\.v1\.NoSuchService/);
    const files = DESCRIPTOR_SET_FILES.flatMap((file) => fromBinary(FileDescriptorSetSchema, readFileSync(file)).file);
    const withoutTimestamp = files.filter((file) => file.name !== "google/protobuf/timestamp.proto");
    expect(() => new ReflectionService(withoutTimestamp, [])).toThrow(/imports google\/protobuf\/timestamp\.proto, which is not in the set/);
  });
});
