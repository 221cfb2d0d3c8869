// ModelStatusService: which model versions this process serves, since when, and the last refused version.
import type { GetDriftRequest, GetDriftResponse, ListModelsResponse, ModelStatusServiceService } from "@funnel/proto";
import { NotFoundError } from "./errors.js";
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
          offlineEvaluation: s.evaluation,
        })),
      };
    },

    async getDrift(request: GetDriftRequest): Promise<GetDriftResponse> {
      const model = request.model.trim();
      const drifts = models.drifts(model === "" ? undefined : model);
      if (model !== "" && drifts.length === 0) {
        const served = [...new Set(models.drifts().map((d) => d.name))];
        throw new NotFoundError(
          `model "${model}" has no served version that profiles its traffic here; ${served.length === 0 ? "no model here does (is one loaded yet?)" : `ask for ${served.map((n) => `"${n}"`).join(", ")} or leave model empty`}`,
        );
      }
      return { models: drifts };
    },
  };
}
