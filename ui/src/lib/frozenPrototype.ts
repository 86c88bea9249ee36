// The app runs with Tauri's `freezePrototype`: Object.prototype is frozen, so
// `namespace.toString = fn` on a plain object throws ("Attempted to assign to
// readonly property"). xterm.js does that once (its KeyCodeUtils namespace);
// the build (vite.config.ts) rewrites it to define the property instead,
// which a frozen prototype allows.
export function defineInsteadOfAssignToString(code: string): string {
  return code.replace(
    /(?<![\w$.])([A-Za-z_$][\w$]*)\.toString=([A-Za-z_$][\w$]*);/g,
    'Object.defineProperty($1,"toString",{value:$2,writable:!0,configurable:!0,enumerable:!0});',
  );
}
