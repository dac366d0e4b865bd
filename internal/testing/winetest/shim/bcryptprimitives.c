/*
 * A stand-in bcryptprimitives.dll for Wine 8, which lacks it.
 *
 * Go 1.24+ on Windows fills its random pool with ProcessPrng from
 * bcryptprimitives.dll and aborts at start when the DLL is missing. The
 * function has no error path on Windows; here it forwards to advapi32's
 * SystemFunction036 (RtlGenRandom), which Wine implements, in chunks that fit
 * its ULONG length.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
