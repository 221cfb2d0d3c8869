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
  return {
    load: async () => {
      if (milvus) {
        await check(milvus);
        timer = setInterval(() => void check(milvus), args.checkMs);
        timer.unref();
      }
      await slot.start();
      update();
    },
    close: async () => {
      clearInterval(timer);
      await milvus?.close();
    },
  };
}
