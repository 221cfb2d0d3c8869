// ModelStatusService: which model versions this process serves, since when, and the last refused version.
import type { ListModelsResponse, ModelStatusServiceService } from "@funnel/proto";
import type { ModelHub } from "./model-hub.js";
import type { ServiceHandlers } from "./serving-server.js";

export function modelStatusHandlers(models: ModelHub): ServiceHandlers<typeof ModelStatusServiceService> {
  return {
    async listModels(): Promise<ListModelsResponse> {
      return {
        models: models.statuses().map((s) => ({
          name: s.name,
          ref: s.ref,
          kind: s.kind,
          version: s.version === undefined ? "" : String(s.version),
          loadedAt: s.loadedAt,
          ready: s.ready,
          failedLoads: s.failedLoads,
          lastError: s.lastError?.message ?? "",
          lastErrorVersion: s.lastError?.version === undefined ? "" : String(s.lastError.version),
          lastErrorAt: s.lastError?.at,
        })),
      };
    },
  };
}
