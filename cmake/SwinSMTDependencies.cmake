# Public dependency: LibTorch (Debian's libtorch-dev 1.13 or any LibTorch 2.x via CMAKE_PREFIX_PATH).
find_package(Torch REQUIRED)
# Imported targets are visible only in the directory that found them: when swinsmt is added with
# add_subdirectory(), the parent links swinsmt::swinsmt and so needs LibTorch's targets too.
if(NOT SWINSMT_TOP_LEVEL)
  foreach(_torch_target torch torch_cpu torch_library c10 torch_cuda c10_cuda)
    if(TARGET ${_torch_target})
      get_target_property(_is_global ${_torch_target} IMPORTED_GLOBAL)
      get_target_property(_is_imported ${_torch_target} IMPORTED)
      if(_is_imported AND NOT _is_global)
        set_target_properties(${_torch_target} PROPERTIES IMPORTED_GLOBAL TRUE)
      endif()
    endif()
  endforeach()
endif()
# Private dependencies of the compiled parts.
find_package(nlohmann_json 3 REQUIRED)
# zlib: deflated entries and CRC-32 checks in the checkpoint ZIP reader.
find_package(ZLIB REQUIRED)

# The full library, tests, tools and examples reuse the core library's precompiled header. The library is compiled with
# -fPIC; GCC refuses a PCH built with other PIC/PIE settings, so the reusing targets use -fPIC too.
function(swinsmt_reuse_pch target)
  target_precompile_headers(${target} REUSE_FROM swinsmt_core)
  target_compile_options(${target} PRIVATE $<$<CXX_COMPILER_ID:GNU,Clang>:-fPIC>)
endfunction()
# Image I/O (private to the library).
# NIfTI-1/2: nifti_clib (Debian libnifti2-dev) ships no CMake package: find the header and library.
find_path(NIFTI2_INCLUDE_DIR nifti2_io.h PATH_SUFFIXES nifti REQUIRED)  # it includes <znzlib.h> unprefixed
find_library(NIFTI2_LIBRARY nifti2 REQUIRED)
find_library(ZNZ_LIBRARY znz REQUIRED)
add_library(swinsmt_nifti INTERFACE)
target_include_directories(swinsmt_nifti SYSTEM INTERFACE "${NIFTI2_INCLUDE_DIR}")
target_link_libraries(swinsmt_nifti INTERFACE "${NIFTI2_LIBRARY}" "${ZNZ_LIBRARY}" ZLIB::ZLIB m)

# DICOM: GDCM (Debian libgdcm-dev). Its GDCMConfig.cmake imports targets for command-line tools that
# live in other packages and warns about each missing file, so the libraries are found directly.
find_path(GDCM_INCLUDE_DIR gdcmImageReader.h PATH_SUFFIXES gdcm-3.0 gdcm-3.1 gdcm-3.2 REQUIRED)
foreach(part MSFF DSED DICT IOD Common)
  find_library(GDCM_${part}_LIBRARY gdcm${part} REQUIRED)
endforeach()
add_library(swinsmt_gdcm INTERFACE)
target_include_directories(swinsmt_gdcm SYSTEM INTERFACE "${GDCM_INCLUDE_DIR}")
target_link_libraries(swinsmt_gdcm INTERFACE "${GDCM_MSFF_LIBRARY}" "${GDCM_DSED_LIBRARY}" "${GDCM_DICT_LIBRARY}"
                      "${GDCM_IOD_LIBRARY}" "${GDCM_Common_LIBRARY}")

# DICOM outputs (SEG, RT-STRUCT): DCMTK (Debian libdcmtk-dev 3.6.7), whose dcmseg, dcmfg, dcmiod and
# dcmrt build the objects from their modules. Its DCMTKConfig.cmake names every DCMTK tool and
# library, so the libraries the writers use are found directly, like GDCM's.
find_path(DCMTK_INCLUDE_DIR dcmtk/dcmseg/segdoc.h REQUIRED)
foreach(part dcmseg dcmfg dcmiod dcmrt dcmdata oflog ofstd)
  find_library(DCMTK_${part}_LIBRARY ${part} REQUIRED)
  list(APPEND _swinsmt_dcmtk_libraries "${DCMTK_${part}_LIBRARY}")
endforeach()
add_library(swinsmt_dcmtk INTERFACE)
target_include_directories(swinsmt_dcmtk SYSTEM INTERFACE "${DCMTK_INCLUDE_DIR}")
target_link_libraries(swinsmt_dcmtk INTERFACE ${_swinsmt_dcmtk_libraries})

# PNG previews.
find_package(PNG REQUIRED)

# oneDNN (optional): its sgemm runs the Soft MoE products (src/kernels/cpu_matmul.hpp). Debian's LibTorch
# links libdnnl.so.2 already; libdnnl-dev adds the header. LibTorch 2.x wheels bundle oneDNN
# without its header, so there the products go through ATen.
option(SWINSMT_WITH_DNNL "Use oneDNN's sgemm for the Soft MoE products when libdnnl-dev is found" ON)
if(SWINSMT_WITH_DNNL)
  find_path(DNNL_INCLUDE_DIR dnnl.h)
  find_library(DNNL_LIBRARY NAMES dnnl)
  if(DNNL_INCLUDE_DIR AND DNNL_LIBRARY)
    add_library(swinsmt_dnnl INTERFACE)
    target_include_directories(swinsmt_dnnl SYSTEM INTERFACE "${DNNL_INCLUDE_DIR}")
    target_link_libraries(swinsmt_dnnl INTERFACE "${DNNL_LIBRARY}")
    message(STATUS "swinsmt: oneDNN sgemm for the Soft MoE products (${DNNL_LIBRARY})")
  else()
    message(STATUS "swinsmt: oneDNN header not found (libdnnl-dev): Soft MoE products through ATen")
  endif()
endif()
