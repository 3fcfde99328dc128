/*
 * bcryptprimitives.c: ProcessPrng for a Wine without bcryptprimitives.dll
 * (Wine 8.0, Debian 12's, has none).
 *
 * Every Go program on Windows, and so ImSDK.dll, loads bcryptprimitives.dll
 * from system32 when it starts and takes its random bytes from ProcessPrng
 * (Windows 10 and later have it); without the DLL the Go runtime stops with
 * "fatal error: bcryptprimitives.dll not found" before the host's first call
 * returns. tests/cross_test.go builds this file with mingw and puts it in
 * the system32 of the test's own Wine prefix only when Wine did not put a
 * bcryptprimitives.dll there itself. It is a part of the test system that
 * stands in for Windows, never shipped: the random bytes come from Wine's
 * BCryptGenRandom, the system's generator.
 */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T n) {
	while (n > 0) {
		ULONG chunk = n > 0x40000000 ? 0x40000000 : (ULONG)n;
		if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG))) return FALSE;
		data += chunk;
		n -= chunk;
	}
	return TRUE;
}
