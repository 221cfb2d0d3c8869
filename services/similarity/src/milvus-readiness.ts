// With Milvus as the index backend, a service is ready only while Milvus answers: the slot may hold a
// version, but every search would fail. Pinged on a timer; a state change is logged once.
import type { Logger, ModelSlot, ServingServer } from "@funnel/runtime";
import type { MilvusCatalog } from "@funnel/vector-index";
import type { IndexedTwoTower } from "./indexed-two-tower.js";

export interface ReadinessLifecycle {
  load(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Ties the service's health to the slot (NOT_SERVING until the first version and its indexes are loaded)
 * and, when `milvus` is given, to Milvus answering its ping every `checkMs`.
 */
export function indexedServiceLifecycle(args: {
  server: ServingServer;
  service: string;
  slot: ModelSlot<IndexedTwoTower>;
  milvus: MilvusCatalog | undefined;
  checkMs: number;
  log: Logger;
}): ReadinessLifecycle {
  const { server, service, slot, milvus, log } = args;
  let milvusUp = milvus === undefined;
  const update = () => server.setReady(service, slot.ready && milvusUp);
  slot.onReadyChange(update);
  let timer: NodeJS.Timeout | undefined;
  const check = async (catalog: MilvusCatalog) => {
    const was = milvusUp;
    milvusUp = await catalog.ping().then(
      () => true,
      (error: unknown) => {
        if (was) log.error({ err: error }, `Milvus is unreachable: ${service} reports NOT_SERVING until it answers`);
        return false;
      },
    );
    if (milvusUp && !was) log.info({ address: catalog.address }, "Milvus answers again");
    update();
  };
  let closed = false;
  let background: Promise<void> | undefined;
  const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
  // Milvus down at start-up is an outage, not a broken pod: exiting would only make Kubernetes restart it
  // into the same outage (a crash loop). The server stays up NOT_SERVING and loads once Milvus answers.
  const loadWhenMilvusAnswers = async (catalog: MilvusCatalog) => {
    while (!closed) {
      if (!milvusUp) {
        await pause(args.checkMs);
        continue;
      }
      try {
        await slot.start();
        update();
        log.info({ address: catalog.address }, `Milvus answers: ${service} loaded its model and serves`);
        return;
      } catch (error) {
        // With Milvus answering this is the model's own failure; kept NOT_SERVING (ModelStatus tells why)
        // and tried again, so the startup probe, not a crash loop, decides when to give up.
        if (await catalog.ping().then(() => true, () => false)) log.error({ err: error }, `${service} could not load its model; trying again`);
        await pause(args.checkMs);
      }
    }
  };
  return {
    load: async () => {
      if (!milvus) {
        await slot.start();
        update();
        return;
      }
      await check(milvus);
      timer = setInterval(() => void check(milvus), args.checkMs);
      timer.unref();
      if (milvusUp) {
        try {
          await slot.start();
          update();
          return;
        } catch (error) {
          // Start-up stops on a model that cannot load; Milvus going away meanwhile is an outage (below).
          if (await milvus.ping().then(() => true, () => false)) throw error;
        }
      }
      log.warn({ address: milvus.address }, `Milvus does not answer at start-up: ${service} reports NOT_SERVING and loads its model once Milvus answers`);
      background = loadWhenMilvusAnswers(milvus);
    },
    close: async () => {
      closed = true;
      clearInterval(timer);
      await background;
      await milvus?.close();
    },
  };
}
