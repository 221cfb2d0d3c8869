// Worker threads get neither vitest's TypeScript transform nor (unless the process was started by the tsx CLI)
// tsx's loader, so the worker's TypeScript entry is loaded through tsx's API.
import { tsImport } from "tsx/esm/api";

await tsImport("./tower-worker.ts", import.meta.url);
