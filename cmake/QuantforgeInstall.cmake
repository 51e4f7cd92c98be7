# The installed package: `cmake --install build --prefix P` puts the tools in
# P/bin, the headers (ours, the generated .inc files and the runtime's C API)
# and the qf dialect's TableGen files in P/include, and two libraries with
# their CMake package in P/lib: find_package(Quantforge) gives
#   Quantforge::Compiler  libQuantforgeCompiler.so: the C++ API
#                         (qf/Compiler.h), the dialect, every pass; uses
#                         MLIR's and LLVM's shared libraries
#   Quantforge::Runtime   libqfrt.so: the C API (qfrt.h), no LLVM
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Every Quantforge library in one shared object (their object files), so a
# consumer links one library, not seven static archives in the right order.
add_library(QuantforgeCompiler SHARED
  $<TARGET_OBJECTS:obj.QfQuant> $<TARGET_OBJECTS:obj.QfDialect>
  $<TARGET_OBJECTS:obj.QfTransforms> $<TARGET_OBJECTS:obj.QfImporter>
  $<TARGET_OBJECTS:obj.QfExporter>
  $<TARGET_OBJECTS:obj.QfConversion> $<TARGET_OBJECTS:obj.QfPipelines>
  $<TARGET_OBJECTS:obj.QfCompiler>)
add_dependencies(QuantforgeCompiler QfCompiler QfPipelines QfImporter QfExporter)
target_link_libraries(QuantforgeCompiler PRIVATE QfOnnxProto qfrt PUBLIC LLVM)
mlir_target_link_libraries(QuantforgeCompiler PUBLIC MLIRIR MLIRPass)
target_include_directories(QuantforgeCompiler INTERFACE
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
set_target_properties(QuantforgeCompiler PROPERTIES
  EXPORT_NAME Compiler
  INSTALL_RPATH "$ORIGIN;${LLVM_LIBRARY_DIR}")
set_target_properties(qfrt PROPERTIES EXPORT_NAME Runtime)
set_target_properties(quant-import quant-opt quant-compile quant-run PROPERTIES
  INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR};${LLVM_LIBRARY_DIR}")

install(TARGETS QuantforgeCompiler qfrt EXPORT QuantforgeTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS quant-import quant-opt quant-compile quant-run
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/qf DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES
  ${PROJECT_BINARY_DIR}/dialects/qf/Passes.h.inc
  ${PROJECT_BINARY_DIR}/dialects/qf/QfDialect.h.inc
  ${PROJECT_BINARY_DIR}/dialects/qf/QfOps.h.inc
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/qf)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/dialects/qf/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/qf/td
  FILES_MATCHING PATTERN "*.td")
install(FILES ${PROJECT_SOURCE_DIR}/runtime/qfrt.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/qfrt)

set(QF_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Quantforge)
install(EXPORT QuantforgeTargets NAMESPACE Quantforge:: DESTINATION ${QF_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/QuantforgeConfig.cmake.in
  ${PROJECT_BINARY_DIR}/QuantforgeConfig.cmake INSTALL_DESTINATION ${QF_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/QuantforgeConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/QuantforgeConfig.cmake
  ${PROJECT_BINARY_DIR}/QuantforgeConfigVersion.cmake DESTINATION ${QF_CMAKE_DIR})
