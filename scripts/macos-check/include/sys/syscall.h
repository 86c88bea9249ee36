/* Empty on purpose. jemalloc's configure includes <sys/syscall.h> while it
 * computes dependencies; zig ships no such header for macOS (the real one
 * lives in Apple's SDK). scripts/macos-check.sh puts this folder on the
 * include path through CPPFLAGS for the macOS check only. */
