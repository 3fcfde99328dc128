# ImSDKConfig.cmake: CMake package config for libImSDK (imstatus).
#
# Defines the IMPORTED target ImSDK::ImSDK (the shared library and its
# include directory) and, where the tree has the static archive
# lib/libImSDK.a (the release archives of ./build.sh dist do),
# ImSDK::ImSDK_static (it defines TIM_STATIC and links the threads library
# the Go runtime needs). Use it either way:
#
#   list(APPEND CMAKE_PREFIX_PATH /path/to/imstatus/build)  # or -DImSDK_DIR=...
#   find_package(ImSDK 0.2 CONFIG REQUIRED)  # the version check needs the
#                                            # ImSDKConfigVersion.cmake of a release
#   target_link_libraries(app PRIVATE ImSDK::ImSDK)
#
#   include(/path/to/ImSDKConfig.cmake)
#   target_link_libraries(app PRIVATE ImSDK::ImSDK)
#
# ImSDK_ROOT is the directory holding lib/ (the library) and include/ (the
# headers), e.g. imstatus's build/. Set it (cache or -D) to point anywhere;
# by default it is this file's directory/../.., and when that does not hold the
# library, the first of this file's directory/../../.. (the usual
# <prefix>/lib/cmake/ImSDK/ layout) and ../../build (this file in the source
# tree, bindings/c/) that does.
#
# Sets ImSDK_FOUND, ImSDK_INCLUDE_DIRS, ImSDK_LIBRARIES, ImSDK_ROOT.

if(CMAKE_VERSION VERSION_LESS 3.5)
  message(FATAL_ERROR "ImSDKConfig.cmake needs CMake 3.5 or later")
endif()

if(WIN32)
  set(_ImSDK_names ImSDK.dll)
  set(_ImSDK_subdirs bin lib)
elseif(APPLE)
  set(_ImSDK_names libImSDK.dylib)
  set(_ImSDK_subdirs lib)
else()
  set(_ImSDK_names libImSDK.so)
  set(_ImSDK_subdirs lib)
endif()

# _ImSDK_find_in(ROOT OUTVAR): the library under ROOT, or OUTVAR-NOTFOUND.
function(_ImSDK_find_in root outvar)
  foreach(sub IN LISTS _ImSDK_subdirs)
    foreach(name IN LISTS _ImSDK_names)
      if(EXISTS "${root}/${sub}/${name}")
        set(${outvar} "${root}/${sub}/${name}" PARENT_SCOPE)
        return()
      endif()
    endforeach()
  endforeach()
  set(${outvar} "${outvar}-NOTFOUND" PARENT_SCOPE)
endfunction()

if(NOT ImSDK_ROOT)
  set(_ImSDK_root "")
  foreach(rel IN ITEMS ../.. ../../.. ../../build)
    get_filename_component(_ImSDK_candidate "${CMAKE_CURRENT_LIST_DIR}/${rel}" ABSOLUTE)
    _ImSDK_find_in("${_ImSDK_candidate}" _ImSDK_lib)
    if(_ImSDK_lib AND EXISTS "${_ImSDK_candidate}/include/TIMCloud.h")
      set(_ImSDK_root "${_ImSDK_candidate}")
      break()
    endif()
  endforeach()
  if(NOT _ImSDK_root)
    get_filename_component(_ImSDK_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
  endif()
  set(ImSDK_ROOT "${_ImSDK_root}" CACHE PATH "Directory holding lib/ and include/ of libImSDK")
endif()

_ImSDK_find_in("${ImSDK_ROOT}" _ImSDK_lib)
set(ImSDK_INCLUDE_DIRS "${ImSDK_ROOT}/include")

if(NOT _ImSDK_lib OR NOT EXISTS "${ImSDK_INCLUDE_DIRS}/TIMCloud.h")
  set(_ImSDK_msg "libImSDK not found under ImSDK_ROOT=${ImSDK_ROOT} (want lib/${_ImSDK_names} and include/TIMCloud.h; run ./build.sh, or set ImSDK_ROOT)")
  if(CMAKE_FIND_PACKAGE_NAME STREQUAL "ImSDK")
    # find_package: report "not found" the CMake way (REQUIRED makes it fatal).
    set(ImSDK_FOUND FALSE)
    set(ImSDK_NOT_FOUND_MESSAGE "${_ImSDK_msg}")
    return()
  endif()
  message(FATAL_ERROR "${_ImSDK_msg}")
endif()

if(NOT TARGET ImSDK::ImSDK)
  add_library(ImSDK::ImSDK SHARED IMPORTED)
  set_target_properties(ImSDK::ImSDK PROPERTIES
    IMPORTED_LOCATION "${_ImSDK_lib}"
    INTERFACE_INCLUDE_DIRECTORIES "${ImSDK_INCLUDE_DIRS}")
  if(WIN32)
    # The import library the linker needs beside the DLL.
    # (lib/libImSDK.a is the static archive, not an import library.)
    foreach(_ImSDK_implib IN ITEMS "${ImSDK_ROOT}/lib/ImSDK.lib" "${ImSDK_ROOT}/lib/libImSDK.dll.a")
      if(EXISTS "${_ImSDK_implib}")
        set_target_properties(ImSDK::ImSDK PROPERTIES IMPORTED_IMPLIB "${_ImSDK_implib}")
        break()
      endif()
    endforeach()
  elseif(NOT APPLE)
    set_target_properties(ImSDK::ImSDK PROPERTIES IMPORTED_SONAME "libImSDK.so")
  endif()
endif()

if(EXISTS "${ImSDK_ROOT}/lib/libImSDK.a" AND NOT TARGET ImSDK::ImSDK_static)
  # The c-archive of go build: the library and the Go runtime in one
  # archive, for a program that must not load a shared library.
  include(CMakeFindDependencyMacro)
  find_dependency(Threads)
  add_library(ImSDK::ImSDK_static STATIC IMPORTED)
  set_target_properties(ImSDK::ImSDK_static PROPERTIES
    IMPORTED_LOCATION "${ImSDK_ROOT}/lib/libImSDK.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES C
    INTERFACE_INCLUDE_DIRECTORIES "${ImSDK_INCLUDE_DIRS}"
    INTERFACE_COMPILE_DEFINITIONS TIM_STATIC
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()

set(ImSDK_LIBRARIES ImSDK::ImSDK)
set(ImSDK_FOUND TRUE)
