# Compile options shared by every hop_* target.
add_library(hop_options INTERFACE)
target_compile_options(hop_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough
  # Partial designated initializers ({.hops = 3}) with member defaults are our options idiom.
  -Wno-missing-field-initializers)
if(HOP_WERROR)
  target_compile_options(hop_options INTERFACE -Werror)
endif()
if(HOP_SANITIZE)
  # GCC reports false -Wmaybe-uninitialized under ASan instrumentation (GCC bug 105562 and kin).
  target_compile_options(hop_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
    $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
  target_link_options(hop_options INTERFACE -fsanitize=address,undefined)
endif()
if(HOP_FUZZ)
  target_compile_options(hop_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined)
  target_link_options(hop_options INTERFACE -fsanitize=address,undefined)
endif()

# hop_add_library(NAME DIR DEPS...) — one library per top-level folder, public headers in include/.
function(hop_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC hop_options ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()
