/*
 * TIMExperimentalAPI.h: upstream 8.x's header for callExperimentalAPI and
 * TIMSetExperimentalNotifyCallback. In imstatus both are declared in
 * TIMCloud.h, which this header includes.
 */
#ifndef IMSTATUS_TIMEXPERIMENTALAPI_H_
#define IMSTATUS_TIMEXPERIMENTALAPI_H_

#include "TIMCloud.h"

#endif /* IMSTATUS_TIMEXPERIMENTALAPI_H_ */
