// GoogleTest main for MPI tests: every rank runs every test; only rank 0 prints; after each test
// the failures of every rank are gathered and printed by rank 0 (with their rank), and the
// process exit code is non-zero on every rank if any rank failed.

#include <gtest/gtest.h>
#include <mpi.h>

#include <string>
#include <vector>

namespace {

class GatherFailures : public ::testing::EmptyTestEventListener {
 public:
  void OnTestPartResult(const ::testing::TestPartResult& r) override {
    if (!r.failed()) return;
    failures_ += std::string(r.file_name() ? r.file_name() : "?") + ":" +
                 std::to_string(r.line_number()) + ": " + r.summary() + "\n";
  }
  void OnTestEnd(const ::testing::TestInfo& info) override {
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int len = static_cast<int>(failures_.size());
    std::vector<int> lens(size), offsets(size);
    MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
    std::string all;
    if (rank == 0) {
      int total = 0;
      for (int r = 0; r < size; ++r) {
        offsets[r] = total;
        total += lens[r];
      }
      all.resize(total);
    }
    MPI_Gatherv(failures_.data(), len, MPI_CHAR, all.data(), lens.data(), offsets.data(), MPI_CHAR,
                0, MPI_COMM_WORLD);
    if (rank == 0) {
      for (int r = 1; r < size; ++r) {
        if (lens[r] == 0) continue;
        std::printf("[  RANK %d ] %s.%s failed on rank %d:\n%s", r, info.test_suite_name(),
                    info.name(), r, all.substr(offsets[r], lens[r]).c_str());
        any_remote_failure_ = true;
      }
      std::fflush(stdout);
    }
    failures_.clear();
  }
  bool any_remote_failure() const { return any_remote_failure_; }

 private:
  std::string failures_;
  bool any_remote_failure_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  if (rank != 0) delete listeners.Release(listeners.default_result_printer());
  auto* gather = new GatherFailures;
  listeners.Append(gather);  // owned by GoogleTest
  int local = RUN_ALL_TESTS();
  if (rank == 0 && gather->any_remote_failure()) {
    std::printf("[  FAILED  ] failures on other ranks, see [  RANK n ] lines above\n");
    local = 1;
  }
  int global = 0;
  MPI_Allreduce(&local, &global, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return global;
}
