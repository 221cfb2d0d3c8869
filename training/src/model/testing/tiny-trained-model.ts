import { pseudonymiseUserId } from "@funnel/two-tower";
import { CATEGORIES, generateDataset } from "../../data/index.js";
import { buildRetrievalTask, type RetrievalTask } from "../build-retrieval-task.js";
import { initBackend } from "../init-backend.js";
import { DEFAULT_TRAIN_OPTIONS, type TrainHooks, trainTwoTower, type TrainOptions, type TrainResult } from "../train-two-tower.js";
import { towerConfigFromSpec, type TwoTowerArchitecture, type TwoTowerConfig } from "../two-tower-model.js";

/** A small generated dataset and a model trained on it for a few steps: shared fixture for model tests. */
export async function tinyTrainedModel(
  overrides: Partial<TrainOptions> = {},
  options: { users?: number; dim?: number; hooks?: TrainHooks; userIdBuckets?: number; architecture?: TwoTowerArchitecture; userContext?: boolean } = {},
): Promise<{ task: RetrievalTask; config: TwoTowerConfig; result: TrainResult }> {
  await initBackend({ prefer: "wasm" });
  const data = generateDataset({ users: options.users ?? 150, seed: 3, items: 60 });
  // Every third item is in a second (and every sixth in a third) category, so the category bag path is exercised.
  const itemAttributes = data.items.map((item, i) => ({
    ...item,
    category: [item.category, ...(i % 3 === 0 ? [CATEGORIES[i % CATEGORIES.length]!] : []), ...(i % 6 === 0 ? ["gifts"] : [])].join("|"),
  }));
  // Users carry one or two attributes, so the attribute bag has padded slots too.
  const userAttributes = new Map(
    data.users.map((u, i): [string, Record<string, string>] => [u.userId, { region: `r${i % 4}`, ...(i % 2 === 0 ? { tier: i % 3 === 0 ? "gold" : "basic" } : {}) }]),
  );
  const ids = options.userIdBuckets ? { userIdBuckets: options.userIdBuckets, pseudonymOf: (id: string) => pseudonymiseUserId(id, "tiny-salt") } : {};
  const task = buildRetrievalTask(data.events, { strategy: "time", seed: 3, itemAttributes, userAttributes, sequenceLength: 8, ...ids });
  const config = towerConfigFromSpec(task.spec, {
    dim: options.dim ?? 16,
    hidden: 24,
    embedding: { item: 8, page: 4, device: 4, interaction: 4, category: 4, userId: 6 },
    ...(options.architecture ? { architecture: options.architecture } : {}),
    ...(options.userContext ? { userContext: true } : {}),
  });
  const result = await trainTwoTower(config, task.training, { ...DEFAULT_TRAIN_OPTIONS, epochs: 1, batchSize: 64, seed: 11, ...overrides }, options.hooks);
  return { task, config, result };
}
