package main

// #include "TIMCloudDef.h"
import "C"

// The registration entry points the upstream Unity wrapper's Init and
// Uninit call. imstatus has no messaging, conversations, groups, profiles
// or experimental notifications: these accept their callback and never
// call it.

//export TIMRemoveRecvNewMsgCallback
func TIMRemoveRecvNewMsgCallback(C.TIMGenericCallback) {}

//export TIMSetConvEventCallback
func TIMSetConvEventCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetConvTotalUnreadMessageCountChangedCallback
func TIMSetConvTotalUnreadMessageCountChangedCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetFriendAddRequestCallback
func TIMSetFriendAddRequestCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetFriendApplicationListDeletedCallback
func TIMSetFriendApplicationListDeletedCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetFriendApplicationListReadCallback
func TIMSetFriendApplicationListReadCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetFriendBlackListAddedCallback
func TIMSetFriendBlackListAddedCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetFriendBlackListDeletedCallback
func TIMSetFriendBlackListDeletedCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetGroupAttributeChangedCallback
func TIMSetGroupAttributeChangedCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetGroupTipsEventCallback
func TIMSetGroupTipsEventCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetMsgElemUploadProgressCallback
func TIMSetMsgElemUploadProgressCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetMsgReadedReceiptCallback
func TIMSetMsgReadedReceiptCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetMsgReactionsChangedCallback
func TIMSetMsgReactionsChangedCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetMsgAllMessageReceiveOptionCallback
func TIMSetMsgAllMessageReceiveOptionCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetMsgRevokeCallback
func TIMSetMsgRevokeCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetMsgUpdateCallback
func TIMSetMsgUpdateCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetOnAddFriendCallback
func TIMSetOnAddFriendCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetOnDeleteFriendCallback
func TIMSetOnDeleteFriendCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetUpdateFriendProfileCallback
func TIMSetUpdateFriendProfileCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetSelfInfoUpdatedCallback
func TIMSetSelfInfoUpdatedCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetUserInfoChangedCallback
func TIMSetUserInfoChangedCallback(C.TIMGenericCallback, C.uintptr_t) {}

//export TIMSetExperimentalNotifyCallback
func TIMSetExperimentalNotifyCallback(C.TIMGenericCallback, C.uintptr_t) {}
