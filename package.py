# Spack recipe for rankpool (Spack v1, package API v2). It lives in this repository, not in
# spack-packages; README.md ("Installing with Spack") shows how to put it in a local repository.
# tests/packaging/check_spack_recipe.py (ctest packaging.spack_recipe) keeps its variants and
# dependencies in step with the CMake files.

from spack_repo.builtin.build_systems.cmake import CMakePackage

from spack.package import *


class Rankpool(CMakePackage):
    """Python's multiprocessing.Pool for C++ programs, across the ranks and nodes of an MPI job:
    map, imap, starmap and apply_async with Python's semantics, rank 0 holding the pool and the
    other ranks serving it."""

    homepage = "https://github.com/rankpool/rankpool"
    git = "https://github.com/rankpool/rankpool.git"

    version("main", branch="main")

    variant("apps", default=True, description="Build and install the example apps and baselines")
    variant("benchmarks", default=False, description="Build the benchmarks")

    depends_on("cxx", type="build")
    depends_on("cmake@3.20:", type="build")
    # hwloc is found through pkg-config, by the build and by rankpoolConfig.cmake in dependents.
    depends_on("pkgconfig", type=("build", "run"))

    depends_on("mpi")
    depends_on("hwloc@2:")
    depends_on("cereal")
    depends_on("cli11")
    depends_on("nlohmann-json@3:")

    # The tests: GoogleTest, and Python 3 for the test drivers.
    depends_on("googletest", type="test")
    depends_on("python@3:", type="test")
    # tests/bench (rankpool-microbench): Google Benchmark, only with +benchmarks.
    depends_on("benchmark", type="test", when="+benchmarks")

    def cmake_args(self):
        return [
            self.define_from_variant("RANKPOOL_BUILD_APPS", "apps"),
            self.define_from_variant("RANKPOOL_BUILD_BENCHMARKS", "benchmarks"),
            self.define("RANKPOOL_BUILD_TESTS", self.run_tests),
        ]
