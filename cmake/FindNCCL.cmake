# FindNCCL: header nccl.h, version from its NCCL_MAJOR/MINOR/PATCH, library nccl.
# Sets NCCL_FOUND, NCCL_INCLUDE_DIR, NCCL_LIBRARY, NCCL_VERSION and the
# imported target NCCL::nccl. Searched as FindCUDNN searches: NCCL_ROOT
# (variable or environment), the CUDA toolkit, /usr, CMAKE_PREFIX_PATH and the
# system paths, then the nvidia-nccl Python wheel of the python3 on PATH
# (which ships only the versioned libnccl.so.2).
include(${CMAKE_CURRENT_LIST_DIR}/NvidiaWheels.cmake)
gf_nvidia_wheel_dirs(_nccl_wheel_inc _nccl_wheel_lib)
set(_nccl_hints ${NCCL_ROOT} $ENV{NCCL_ROOT} ${CUDAToolkit_LIBRARY_ROOT} ${CUDAToolkit_TARGET_DIR} /usr/local/cuda /usr)
find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${_nccl_hints} ${CUDAToolkit_INCLUDE_DIRS} PATH_SUFFIXES include
          PATHS ${_nccl_wheel_inc})
find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS ${_nccl_hints} PATH_SUFFIXES lib64 lib lib/x86_64-linux-gnu
             PATHS ${_nccl_wheel_lib})
set(NCCL_VERSION "")
if(NCCL_INCLUDE_DIR AND EXISTS "${NCCL_INCLUDE_DIR}/nccl.h")
  file(STRINGS "${NCCL_INCLUDE_DIR}/nccl.h" _v REGEX "#define NCCL_(MAJOR|MINOR|PATCH) +[0-9]+")
  if(_v)
    string(REGEX REPLACE ".*NCCL_MAJOR +([0-9]+).*" "\\1" _maj "${_v}")
    string(REGEX REPLACE ".*NCCL_MINOR +([0-9]+).*" "\\1" _min "${_v}")
    string(REGEX REPLACE ".*NCCL_PATCH +([0-9]+).*" "\\1" _pat "${_v}")
    set(NCCL_VERSION "${_maj}.${_min}.${_pat}")
  endif()
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(NCCL REQUIRED_VARS NCCL_LIBRARY NCCL_INCLUDE_DIR VERSION_VAR NCCL_VERSION)
mark_as_advanced(NCCL_INCLUDE_DIR NCCL_LIBRARY)
if(NCCL_FOUND AND NOT TARGET NCCL::nccl)
  add_library(NCCL::nccl UNKNOWN IMPORTED)
  set_target_properties(NCCL::nccl PROPERTIES IMPORTED_LOCATION "${NCCL_LIBRARY}"
                                              INTERFACE_INCLUDE_DIRECTORIES "${NCCL_INCLUDE_DIR}")
endif()
