export { ServingServer, exitOnSignals } from "./serving-server.js";
export type { ServiceDefinition, ServiceHandlers, ServingServerOptions } from "./serving-server.js";
export { CallContext } from "./call-context.js";
export { loadConfig, formatConfigHelp, setting, servingSettings, ConfigError } from "./config.js";
export type { ConfigOf, ConfigSource, ServingConfig, SettingSpec, SettingsSpec } from "./config.js";
export {
  ServiceError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
  DeadlineExceededError,
  CancelledError,
  UnavailableError,
  FailedPreconditionError,
} from "./errors.js";
export { errorToStatus } from "./error-boundary.js";
export { requireText, requireKnownEnum, requireCount } from "./validation.js";
export { MicroBatcher, QueueFullError } from "./micro-batcher.js";
export type { MicroBatcherOptions } from "./micro-batcher.js";
export { ResponseCache } from "./response-cache.js";
export type { ResponseCacheOptions } from "./response-cache.js";
export { ServingMetrics } from "./serving-metrics.js";
export { createLogger } from "./logger.js";
export type { Logger } from "./logger.js";
export { runServices, main } from "./service-module.js";
export type { ServiceModule, RunningServices } from "./service-module.js";
export type { SharedResources } from "./service-module.js";
export { ModelSlot } from "./model-slot.js";
export type { ModelSource, ServableModel, ModelLease, LoadedVersion, ModelSlotStatus, ModelSlotOptions } from "./model-slot.js";
export { ModelHub, modelSettings, modelSourceFromConfig } from "./model-hub.js";
export type { ModelConfig, SlotRequest } from "./model-hub.js";
