/*
 * TIMCloudComm.h: the export and calling-convention macros of libImSDK
 * (imstatus), where upstream 8.x keeps them. TIMCloudDef.h includes it.
 *
 * TIM_API marks an exported function; TIM_DECL is the same (upstream 8.x
 * spells its declarations with either).
 *   Windows: __declspec(dllexport) when building the library (TIM_EXPORTS
 *   defined), __declspec(dllimport) when using it, nothing when
 *   ENABLE_STATIC_LIB (upstream's name) or TIM_STATIC is defined (a static
 *   library).
 *   Elsewhere: default symbol visibility; nothing with ENABLE_STATIC_LIB.
 * TIM_CALL is the calling convention of every function and callback: cdecl
 * (__cdecl on Windows, the platform's C convention elsewhere).
 * Define any of them yourself before including this header to override it.
 */
#ifndef IMSTATUS_TIMCLOUDCOMM_H_
#define IMSTATUS_TIMCLOUDCOMM_H_

#ifndef TIM_API
#if defined(ENABLE_STATIC_LIB) || defined(TIM_STATIC)
#define TIM_API
#elif defined(_WIN32) || defined(__CYGWIN__)
#if defined(TIM_EXPORTS)
#define TIM_API __declspec(dllexport)
#else
#define TIM_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) || defined(__clang__)
#define TIM_API __attribute__((visibility("default")))
#else
#define TIM_API
#endif
#endif /* TIM_API */

#ifndef TIM_DECL
#define TIM_DECL TIM_API
#endif

#ifndef TIM_CALL
#if defined(_WIN32) || defined(__CYGWIN__)
#define TIM_CALL __cdecl
#else
#define TIM_CALL
#endif
#endif /* TIM_CALL */

#endif /* IMSTATUS_TIMCLOUDCOMM_H_ */
