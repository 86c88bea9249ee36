// The one app-wide error message (data-testid="error-banner"), for failures
// that belong to no form field. Messages come from IpcError and are already redacted.
import type { IpcError } from "./types";

let current = $state<IpcError | null>(null);

export const banner = {
  get error(): IpcError | null {
    return current;
  },
  show(error: IpcError): void {
    current = error;
  },
  clear(): void {
    current = null;
  },
};
