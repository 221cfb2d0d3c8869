export { ServingServer, exitOnSignals, LIVENESS_SERVICE } from "./serving-server.js";
export type { ServiceDefinition, ServiceHandlers, ServingServerOptions } from "./serving-server.js";
export { CallContext } from "./call-context.js";
export { ContextValues, createContextKey, modelVersionKey, requestIdKey } from "./context-values.js";
export type { ContextKey } from "./context-values.js";
export { composeServerMiddleware } from "./server-middleware.js";
export type { CallHandler, MethodInfo, ServerCall, ServerMiddleware } from "./server-middleware.js";
export { StatusError } from "./middleware/error-boundary-middleware.js";
export { REQUEST_ID_HEADER } from "./middleware/request-logging-middleware.js";
export { loadConfig, formatConfigHelp, distinctSettings, undeclaredEnv, setting, servingSettings, ConfigError, secretValue } from "./config.js";
export { modelSettings, registrySettings, pseudonymSettings, pseudonymSaltOf, slotSettings, driftSettings } from "./model-settings.js";
export type { DriftConfig, ModelConfig } from "./model-settings.js";
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
  UnauthenticatedError,
  PermissionDeniedError,
} from "./errors.js";
export { errorToStatus } from "./error-boundary.js";
export { requireText, requireKnownEnum, requireCount, checkUserFeatures, checkItemFeatures, MAX_ID_CHARS } from "./validation.js";
export { MicroBatcher, QueueFullError, runGroupedBy } from "./micro-batcher.js";
export type { MicroBatcherOptions } from "./micro-batcher.js";
export { ResponseCache } from "./response-cache.js";
export type { ResponseCacheOptions } from "./response-cache.js";
export { ServingMetrics } from "./serving-metrics.js";
export { JsonLinesLog } from "./json-lines-log.js";
export type { JsonLinesLogOptions, JsonLinesLogResult } from "./json-lines-log.js";
export type { CallMetricLabel } from "./serving-metrics.js";
export { createLogger } from "./logger.js";
export type { Logger } from "./logger.js";
export { runServices, main, settingsOf } from "./service-module.js";
export type { ServiceModule, RunningServices, ModuleLoader, ModuleLifecycle } from "./service-module.js";
export type { SharedResources, RunOptions, ProcessConfig } from "./service-module.js";
export { ModelSlot } from "./model-slot.js";
export type { ModelSource, ServableModel, ModelLease, LoadedVersion, ModelSlotStatus, ModelSlotOptions } from "./model-slot.js";
export { ModelHub, registryFromModelConfig } from "./model-hub.js";
export type { SharedLease } from "./model-hub.js";
export { DRIFT_METRIC_NAMES } from "./drift-metrics.js";
export type { SlotRequest } from "./model-hub.js";
export { securitySettings, serverTlsSettings, authSettings, callerLimitSettings, secretsReloadSetting, clientSecuritySettings, SECURITY_OFF } from "./security/security-settings.js";
export type { SecurityConfig, ClientSecurityConfig } from "./security/security-settings.js";
export { serverTls, clientTls } from "./security/tls-credentials.js";
export type { ServerTls, ClientTls } from "./security/tls-credentials.js";
export { CertificateFiles } from "./security/certificate-files.js";
export { WatchedFiles } from "./security/watched-files.js";
export { CallerAuthenticator, certificateNames } from "./security/caller-authenticator.js";
export { CallerLimits } from "./security/caller-limits.js";
export { callerKey, securityMiddleware } from "./security/security-middleware.js";
export { parseCallersFile, hashToken, generateToken, DEFAULT_METHOD_ROLES, ANY_CALLER } from "./security/callers-file.js";
export type { Caller, CallersFile } from "./security/callers-file.js";
