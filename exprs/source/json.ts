/**
 * JSON for Modern C++ (nlohmann/json) built from source: Debian's upstream tarball, by CMake;
 * header-only, installed as headers (include/nlohmann/), nlohmann_jsonConfig.cmake and
 * nlohmann_json.pc. Its unit tests need test data from a separate repository
 * (json_test_data), which the tarball does not ship and CMake would download: they are not
 * built (-DJSON_BuildTests=OFF). Instead the check phase installs the package into a scratch
 * prefix and builds and runs a small program against it with CMake's find_package (parse,
 * serialize, round trip through CBOR), which checks the headers and the CMake files together.
 *
 *   store realize exprs/source/json.ts
 */
import { mkDerivation, fetchDebianSource, buildTools, type Drv } from 'hepstore';

export const src = fetchDebianSource({
  source: 'nlohmann-json3',
  version: '3.11.2-2',
  file: 'nlohmann-json3_3.11.2.orig.tar.gz',
  sha256: 'd69f9deb6a75e2580465c6c4c5111b89c4dc2fa94e3a85fcd2ffcd9a143d9273',
});

/** The program the check phase builds against the installed package. */
const CHECK_PROGRAM = String.raw`
#include <nlohmann/json.hpp>
#include <iostream>
int main() {
  auto j = nlohmann::json::parse(R"({"pi": 3.141, "list": [1, 2, 3], "name": "cms"})");
  j["list"].push_back(4);
  auto back = nlohmann::json::from_cbor(nlohmann::json::to_cbor(j));
  if (back != j || j["list"].size() != 4 || j["name"] != "cms") return 1;
  std::cout << j.dump() << std::endl;
  return 0;
}
`;

/** Built with the packages it links (`buildInputs`: none). */
export function makeJson(opts: { buildInputs?: Drv[] } = {}) {
  return mkDerivation({
    buildInputs: opts.buildInputs ?? [],
    pname: 'json',
    version: '3.11.2',
    src,
    nativeBuildInputs: [buildTools.cmake],
    cmakeFlags: ['-DJSON_BuildTests=OFF', '-DJSON_MultipleHeaders=ON', '-DJSON_Install=ON'],
    doCheck: true,
    env: { checkProgram: CHECK_PROGRAM },
    checkPhase: `
      cmake --install . --prefix "$TMPDIR/json-check/prefix"
      mkdir -p "$TMPDIR/json-check/src"
      printf '%s\\n' "$checkProgram" > "$TMPDIR/json-check/src/main.cpp"
      cat > "$TMPDIR/json-check/src/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.10)
project(json_check CXX)
find_package(nlohmann_json 3.11.2 REQUIRED)
add_executable(json_check main.cpp)
target_link_libraries(json_check PRIVATE nlohmann_json::nlohmann_json)
CMAKE
      cmake -S "$TMPDIR/json-check/src" -B "$TMPDIR/json-check/build" -DCMAKE_PREFIX_PATH="$TMPDIR/json-check/prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
      cmake --build "$TMPDIR/json-check/build"
      "$TMPDIR/json-check/build/json_check"
    `,
  });
}

export const json = makeJson();

export default json;
