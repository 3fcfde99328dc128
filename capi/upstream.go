package main

// #include "TIMCloudDef.h"
import "C"

import "github.com/imstatus/imstatus/sdk"

//go:generate go run ./internal/genstubs -root ..

// notSupported answers an upstream entry point imstatus does not have,
// which takes a TIMCommCallback: TIM_SUCC and, once, the callback with
// 7013 and a desc naming it (TIM_ERR_SDKUNINIT before TIMInit).
func notSupported(api string, cb C.TIMCommCallback, ud C.uintptr_t) (ret C.int) {
	defer guard(&ret, sdk.ErrParam)
	return C.int(theSDK.NotSupported(api, result(cb, ud)))
}

// notSupportedSync answers one that upstream answers at once:
// TIM_ERR_PARAM (TIM_ERR_SDKUNINIT before TIMInit).
func notSupportedSync(api string) (ret C.int) {
	defer guard(&ret, sdk.ErrParam)
	return C.int(theSDK.NotSupportedSync(api))
}
