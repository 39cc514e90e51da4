// A doctest listener that, when a test case crashes, prints the ntcopy call
// the crashing thread was making (see OpContext in test_util.h).
#include "test_util.h"

namespace {

struct CrashContextListener : doctest::IReporter {
  explicit CrashContextListener(const doctest::ContextOptions&) {}

  void test_case_exception(const doctest::TestCaseException& e) override {
    const ntc_test::OpContext& c = ntc_test::t_op_context;
    if (!e.is_crash || c.op == nullptr) return;
    std::fprintf(stderr,
                 "crashed in %s: kernel=%s flags=%s size/n=%zu count=%zu dst%%64=%zu "
                 "src%%64=%zu\n",
                 c.op, ntc_kernel(), ntc_test::flags_name(c.flags).c_str(), c.size, c.count,
                 c.dst_mis, c.src_mis);
    std::fflush(stderr);
  }

  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

DOCTEST_REGISTER_LISTENER("ntcopy_crash_context", 1, CrashContextListener);
