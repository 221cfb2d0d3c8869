import { execFileSync } from "node:child_process";

/** Whether `python` can import torch: tests of the PyTorch reference skip (saying so) where it cannot. */
export function hasTorch(python = "python3"): boolean {
  try {
    execFileSync(python, ["-c", "import torch"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
