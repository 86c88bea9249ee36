// How components deep inside the main window report an error that belongs to
// no form field: a banner, or back to the start screen if the vault got locked.
import { getContext, setContext } from "svelte";
import type { IpcError } from "./types";

const REPORT_ERROR = Symbol("report-error");

export type ErrorReporter = (error: IpcError) => void;

export function provideErrorReporter(reporter: ErrorReporter): void {
  setContext(REPORT_ERROR, reporter);
}

export function useErrorReporter(): ErrorReporter {
  const reporter = getContext<ErrorReporter | undefined>(REPORT_ERROR);
  if (!reporter) throw new Error("useErrorReporter() outside the main window");
  return reporter;
}
