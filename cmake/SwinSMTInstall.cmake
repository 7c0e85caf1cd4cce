# Install rules and the relocatable package config (find_package(SwinSMT CONFIG)).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(SWINSMT_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/SwinSMT")
set(SWINSMT_INSTALL_DATADIR "${CMAKE_INSTALL_DATADIR}/swinsmt")

install(TARGETS swinsmt_core swinsmt EXPORT SwinSMTTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET swinsmt_cli)
  install(TARGETS swinsmt_cli EXPORT SwinSMTTargets RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/swinsmt" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
install(FILES "${PROJECT_BINARY_DIR}/generated/include/swinsmt/version.hpp"
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/swinsmt)
if(EXISTS "${PROJECT_SOURCE_DIR}/data/totalseg_v2_labels.json")
  install(FILES "${PROJECT_SOURCE_DIR}/data/totalseg_v2_labels.json" DESTINATION ${SWINSMT_INSTALL_DATADIR})
endif()
install(EXPORT SwinSMTTargets NAMESPACE swinsmt:: DESTINATION ${SWINSMT_INSTALL_CMAKEDIR})

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/SwinSMTConfig.cmake.in"
                              "${PROJECT_BINARY_DIR}/SwinSMTConfig.cmake"
                              INSTALL_DESTINATION ${SWINSMT_INSTALL_CMAKEDIR}
                              PATH_VARS SWINSMT_INSTALL_DATADIR)
write_basic_package_version_file("${PROJECT_BINARY_DIR}/SwinSMTConfigVersion.cmake"
                                 COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/SwinSMTConfig.cmake" "${PROJECT_BINARY_DIR}/SwinSMTConfigVersion.cmake"
        DESTINATION ${SWINSMT_INSTALL_CMAKEDIR})
