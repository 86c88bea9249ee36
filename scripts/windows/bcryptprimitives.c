/*
 * A stand-in for Windows' bcryptprimitives.dll, for running Keybearer's
 * Windows build under Wine 8 in `make test` (scripts/setup-wine.sh builds it
 * with MinGW into the test Wine prefix; it never ships).
 *
 * Rust's standard library draws its random numbers from ProcessPrng, which
 * Windows 10 and later export from bcryptprimitives.dll; Wine 8 has no such
 * export, so every Rust program stops at its first HashMap. This forwards to
 * RtlGenRandom (SystemFunction036 in advapi32), the system's CSPRNG under
 * Wine, which is what Wine's own bcrypt uses for random bytes.
 * ProcessPrng takes any length; RtlGenRandom takes a ULONG, so long requests
 * are filled in pieces.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG piece = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, piece)) {
            return FALSE;
        }
        data += piece;
        length -= piece;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}
