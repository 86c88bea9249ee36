// Development-only entry (preview.html): the real app on top of a fake engine.
import { mockIPC } from "@tauri-apps/api/mocks";
import { createFakeEngine, type Scenario } from "./fakeEngine";

const scenario = (new URLSearchParams(location.search).get("scenario") ?? "main") as Scenario;
const engine = createFakeEngine(scenario);
// Events too (`listen` works; nothing is emitted unless a test page does it).
mockIPC((command, args) => engine(command, (args ?? {}) as Record<string, unknown>), { shouldMockEvents: true });

await import("../main");
