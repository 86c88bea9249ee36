// The apps whose tokens this window imported, so their cards offer "Undo
// import" (the engine keeps the file as it was, sealed, until undone; the CLI's
// `keybearer apps undo-import` works after a restart too). Outlives the Apps
// page, not the window.
import { SvelteSet } from "svelte/reactivity";

export const undoableImports = new SvelteSet<string>();
