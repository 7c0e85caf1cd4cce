# Public dependency: LibTorch (Debian's libtorch-dev 1.13 or any LibTorch 2.x via CMAKE_PREFIX_PATH).
find_package(Torch REQUIRED)
# Private dependencies of the compiled parts.
find_package(nlohmann_json 3 REQUIRED)
# zlib: deflated entries and CRC-32 checks in the checkpoint ZIP reader.
find_package(ZLIB REQUIRED)

# Tests, tools and examples reuse the library's precompiled header. The library is compiled with
# -fPIC; GCC refuses a PCH built with other PIC/PIE settings, so the reusing targets use -fPIC too.
function(swinsmt_reuse_pch target)
  target_precompile_headers(${target} REUSE_FROM swinsmt)
  target_compile_options(${target} PRIVATE $<$<CXX_COMPILER_ID:GNU,Clang>:-fPIC>)
endfunction()

# find_dependency() lines the installed SwinSMTConfig.cmake needs for the static library's private
# dependencies (append to this when adding one above).
set(SWINSMT_EXTRA_FIND_DEPENDENCIES "find_dependency(ZLIB)")
