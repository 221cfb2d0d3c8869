import { registerAndMaybePromote, type ModelRegistry } from "@funnel/registry";

export interface PublishResult {
  model: string;
  version: number;
  promoted: boolean;
  reason?: string | undefined;
}

/**
 * `train --publish`: registers the finished model directory as a new version and, with `promoteIfBetter`,
 * moves `alias` to it only if the metric beats the alias's current version.
 */
export async function publishModelDirectory(
  registry: ModelRegistry,
  dir: string,
  options: { name: string; promoteIfBetter?: string | undefined; alias: string },
): Promise<PublishResult> {
  const published = await registerAndMaybePromote(registry, dir, {
    model: options.name,
    ...(options.promoteIfBetter ? { promoteIfBetter: { metric: options.promoteIfBetter, alias: options.alias } } : {}),
  });
  return { model: published.version.model, version: published.version.version, promoted: published.promoted, reason: published.reason };
}
