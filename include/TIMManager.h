/*
 * TIMManager.h: upstream 8.x's header for initialisation, login, user status
 * and their listeners. In imstatus these are declared in TIMCloud.h (the
 * older layout, kept); this header includes it, so code written against
 * either layout compiles.
 */
#ifndef IMSTATUS_TIMMANAGER_H_
#define IMSTATUS_TIMMANAGER_H_

#include "TIMCloud.h"

#endif /* IMSTATUS_TIMMANAGER_H_ */
