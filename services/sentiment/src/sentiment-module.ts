import { SentimentServiceService } from "@funnel/proto";
import type { ServiceModule } from "@funnel/runtime";
import { sentimentSettings } from "./config.js";
import { sentimentHandlers } from "./grpc/handlers.js";
import { SentimentAnalyzer } from "./sentiment-analyzer.js";

/** The Sentiment service as a module: runs alone (main.ts) or inside the embedded platform. */
export const sentimentModule: ServiceModule<typeof sentimentSettings> = {
  name: "sentiment",
  namespace: "sentiment",
  settings: sentimentSettings,
  register(server, config, log) {
    let analyzer: SentimentAnalyzer | undefined;
    // The runtime answers UNAVAILABLE until setReady below, so handlers never see an unloaded analyzer.
    const handlers = sentimentHandlers(() => analyzer!, config);
    const name = server.addService(SentimentServiceService, handlers);
    return async () => {
      analyzer = SentimentAnalyzer.load({ rulesPath: config.rulesPath || undefined, cacheEntries: config.cacheEntries, metricsRegistry: server.metrics.registry });
      server.setReady(name, true);
      log.info({ ruleSetVersion: analyzer.version }, "sentiment rules loaded");
    };
  },
};
