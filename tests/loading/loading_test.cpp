// Loading and process tests (issue 4, part 5), each in fresh processes:
// threads racing the first calls into the library, calls that come before
// ntcopy's own constructor (from another library's constructor and from the
// executable's .preinit_array), and a setuid run in which secure_getenv
// hides NTCOPY_KERNEL and NTCOPY_NT_THRESHOLD. The dlopen/dlclose cycles are
// in dlopen_test.cpp (an executable not linked with libntcopy).
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "../spawn_util.h"
#include "../test_util.h"

using namespace ntc_test;
using namespace ntc_spawn;

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define NTC_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NTC_TEST_SANITIZED 1
#endif

#if !defined(NTCOPY_FIRST_CALL_CHILD) || !defined(NTCOPY_EARLY_CHILD) || \
    !defined(NTCOPY_SECURE_CHILD) || !defined(NTCOPY_LOADING_DIR)
#error "CMakeLists.txt defines the helper paths"
#endif

namespace {

std::string best_family() {
  const auto f = supported_families();
  REQUIRE(!f.empty());
  return f.front();
}

// A supported family other than the best when there is one (so that a
// forced choice is visible), else the only one.
std::string forced_family() {
  const auto f = supported_families();
  REQUIRE(!f.empty());
  return f.back();
}

std::string describe(const Run& r) {
  return r.status() + "\n--- stdout:\n" + r.out + "--- stderr:\n" + r.err;
}

// The threshold a fresh process chooses with no NTCOPY_* variables.
std::size_t default_threshold() {
  static const std::size_t t = [] {
    const Run r = run({NTCOPY_FIRST_CALL_CHILD, "main", "1", best_family(), "-"}, child_env({}));
    INFO(describe(r));
    REQUIRE(r.ok());
    const std::string v = field(r.out, "threshold");
    REQUIRE(!v.empty());
    return static_cast<std::size_t>(std::stoull(v));
  }();
  return t;
}

// Processes per mode: NTCOPY_TEST_FIRST_CALL_PROCESSES, else 200, or 50 in
// sanitizer builds (where each process takes a fifth of a second to start).
int first_call_processes() {
  if (const char* e = std::getenv("NTCOPY_TEST_FIRST_CALL_PROCESSES"); e != nullptr && *e != '\0')
    if (const long v = std::strtol(e, nullptr, 10); v >= 1 && v <= 100000)
      return static_cast<int>(v);
#if defined(NTC_TEST_SANITIZED)
  return 50;
#else
  return 200;
#endif
}

struct Variant {
  std::vector<std::string> env;
  std::string kernel;
  std::string threshold;  // decimal, checked by every thread
};

// Fresh processes whose threads make their first calls together; each thread
// checks its results, the kernel and the threshold it sees (first_call_child).
void race_first_calls(const char* mode, const std::vector<Variant>& variants) {
  const int processes = first_call_processes();
  int failed = 0;
  for (int i = 0; i < processes && failed < 5; ++i) {
    const Variant& v = variants[static_cast<std::size_t>(i) % variants.size()];
    const std::string threads = std::to_string(4 + i % 5);
    const Run r =
        run({NTCOPY_FIRST_CALL_CHILD, mode, threads, v.kernel, v.threshold}, child_env(v.env));
    std::string env_text;
    for (const auto& e : v.env) env_text += e + " ";
    INFO("process ", i, " of ", processes, ": ", std::string(mode), " mode, ", threads,
         " threads, env: ", env_text.empty() ? std::string("(no NTCOPY_*)") : env_text);
    INFO(describe(r));
    const bool ok = r.ok() && r.out.starts_with("ok ") && r.err.empty();
    if (!ok) {
      ++failed;
      FAIL_CHECK("a racing first call went wrong");
    }
  }
  MESSAGE(processes, " processes (", std::string(mode), " mode), 4-8 threads each");
  CHECK(failed == 0);
}

}  // namespace

TEST_CASE("first calls: threads of fresh processes race them (started from main)") {
  // By the time main() runs, ntcopy's constructor has initialised it: the
  // threads race the first calls of every entry point, with each
  // environment variant.
  const std::string threshold = std::to_string(default_threshold());
  std::vector<Variant> variants = {{{}, best_family(), threshold}};
  for (const auto& f : supported_families())
    variants.push_back({{"NTCOPY_KERNEL=" + f}, f, threshold});
  variants.push_back({{"NTCOPY_NT_THRESHOLD=4096"}, best_family(), "4096"});
  variants.push_back(
      {{"NTCOPY_KERNEL=" + forced_family(), "NTCOPY_NT_THRESHOLD=1M"}, forced_family(), "1048576"});
  race_first_calls("main", variants);
}

TEST_CASE("first calls: threads started from .preinit_array race ntcopy's initialisation") {
  // The threads start before any shared library's constructor, so their
  // first calls race ntcopy's load-time constructor: whichever comes first
  // initialises the library (std::call_once), the others must wait for it.
  // No NTCOPY_* variables here: .preinit_array runs before libc has set
  // `environ` (see the known-issue test below).
  const std::string threshold = std::to_string(default_threshold());
  race_first_calls("preinit", {{{}, best_family(), threshold}});
}

namespace {

const char* const kFirstCalls[] = {"kernel", "threshold", "fill",       "patched",
                                   "memcpy", "kernels",   "use_kernel", "drain"};

// Runs the early-call helper with NTCOPY_KERNEL forced and a bad
// NTCOPY_NT_THRESHOLD, whose one warning line shows when ntcopy initialises.
Run run_early(const std::string& mode, const std::string& first,
              std::vector<std::string> extra_env = {}) {
  extra_env.insert(extra_env.end(),
                   {"NTC_EARLY_MODE=" + mode, "NTC_EARLY_FIRST=" + first,
                    "NTCOPY_KERNEL=" + forced_family(), "NTCOPY_NT_THRESHOLD=12X"});
  return run({NTCOPY_EARLY_CHILD}, child_env(extra_env));
}

// The symbols the library defines as IFUNCs on x86-64 (src/api.cpp).
const char* const kIfuncSymbols[] = {"ntc_memcpy", "ntc_fill"};

// libntcopy_early_probe is under-linked on purpose (early_lib.cpp), so the
// loader relocates it before libntcopy. Where it binds an IFUNC symbol during
// that relocation (clang's build reaches ntc_memcpy and ntc_fill through the
// GOT; any build under LD_BIND_NOW), glibc's loader says on stderr that it is
// calling the resolver of an object it has not relocated yet, "Relink `<probe>'
// with `<libntcopy>' for IFUNC symbol `<symbol>'", and calls it: the resolvers
// need no relocation (src/api.cpp). Returns `err` without those lines, at most
// one per symbol; *count says how many there were.
std::string without_relink_notices(const std::string& err, std::size_t* count = nullptr) {
  std::string rest;
  std::vector<std::string> seen;
  for (const std::string& line : lines_of(err)) {
    bool notice = false;
    for (const char* symbol : kIfuncSymbols) {
      const std::string tail = std::string("libntcopy.so.0' for IFUNC symbol `") + symbol + "'";
      if (line.find(": Relink `") != std::string::npos &&
          line.find("libntcopy_early_probe.so' with `") != std::string::npos &&
          line.ends_with(tail) && std::find(seen.begin(), seen.end(), symbol) == seen.end()) {
        seen.emplace_back(symbol);
        notice = true;
      }
    }
    if (!notice) rest += line + "\n";
  }
  if (count != nullptr) *count = seen.size();
  return rest;
}

// The early calls of `who` made the first call, initialised ntcopy there
// (its warning between the markers), saw the forced kernel and the default
// threshold, and got correct results.
void check_early(const Run& r, const std::string& who, const std::string& first) {
  INFO("first call: ", first, "\n", describe(r));
  REQUIRE(r.ok());
  const std::vector<std::string> err = lines_of(without_relink_notices(r.err));
  const std::string start = "ntcopy early call from " + who + ": start";
  const std::string done = "ntcopy early call from " + who + ": done";
  REQUIRE(err.size() == 3);
  if (err[0] != start && err[1] == start)
    FAIL_CHECK(
        "ntcopy was initialised before the early call (its warning came first): "
        "the early call did not come first");
  CHECK(err[0] == start);
  CHECK(err[1].find("NTCOPY_NT_THRESHOLD") != std::string::npos);
  CHECK(err[2] == done);
  const std::string threshold = std::to_string(default_threshold());
  const std::vector<std::string> out = lines_of(r.out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].starts_with("early: who=" + who + " "));
  CHECK(field(out[0], "first") == first);
  CHECK(field(out[0], "first_ok") == "1");
  CHECK(field(out[0], "kernel") == forced_family());
  CHECK(field(out[0], "threshold") == threshold);
  CHECK(out[0].ends_with(" checks=ok"));
  CHECK(field(out[1], "kernel") == forced_family());
  CHECK(field(out[1], "threshold") == threshold);
}

}  // namespace

TEST_CASE("early calls: from another library's constructor, before ntcopy's own") {
  // libntcopy_early_probe's constructor runs before libntcopy's (see
  // early_lib.cpp for the mechanism); its first call must initialise the
  // library, honouring the environment, whichever entry point it is.
  for (const char* first : kFirstCalls)
    check_early(run_early("ctor", first), "library constructor", first);
}

TEST_CASE("early calls: from the executable's .preinit_array, before every constructor") {
  // The gABI runs DT_PREINIT_ARRAY before any shared object's initialisation.
  // Without NTCOPY_* variables (the test below sets them): only the two
  // markers on stderr, the best kernel, correct results.
  const std::string threshold = std::to_string(default_threshold());
  for (const char* first : kFirstCalls) {
    const Run r =
        run({NTCOPY_EARLY_CHILD},
            child_env({"NTC_EARLY_MODE=preinit", std::string("NTC_EARLY_FIRST=") + first}));
    INFO("first call: ", std::string(first), "\n", describe(r));
    REQUIRE(r.ok());
    CHECK(without_relink_notices(r.err) ==
          "ntcopy early call from preinit_array: start\n"
          "ntcopy early call from preinit_array: done\n");
    const std::vector<std::string> out = lines_of(r.out);
    REQUIRE(out.size() == 2);
    CHECK(out[0].starts_with("early: who=preinit_array "));
    CHECK(field(out[0], "first_ok") == "1");
    CHECK(field(out[0], "kernel") == best_family());
    CHECK(field(out[0], "threshold") == threshold);
    CHECK(out[0].ends_with(" checks=ok"));
    CHECK(field(out[1], "kernel") == best_family());
  }
}

#if defined(__x86_64__)
TEST_CASE("early calls under LD_BIND_NOW: the IFUNC resolvers run before libntcopy is relocated") {
  // Every symbol is bound while the loader relocates, the probe library (see
  // without_relink_notices) before libntcopy: the loader's notices prove that
  // both resolvers ran first, and every call must still work.
  for (const char* first : {"memcpy", "fill", "kernel"}) {
    const Run r = run_early("ctor", first, {"LD_BIND_NOW=1"});
    std::size_t notices = 0;
    (void)without_relink_notices(r.err, &notices);
    INFO(describe(r));
    CHECK(notices == std::size(kIfuncSymbols));
    check_early(r, "library constructor", first);
  }
}
#endif

// .preinit_array functions run before libc's own initialisation has set
// `environ`, so getenv/secure_getenv see nothing there; ntcopy then reads the
// process's initial environment from /proc/self/environ (src/dispatch.cpp).
// Without that, a first call from .preinit_array would initialise ntcopy as if
// NTCOPY_KERNEL and NTCOPY_NT_THRESHOLD were unset, for the whole process.
TEST_CASE("early calls from .preinit_array honour NTCOPY_* (environ not set yet)") {
  check_early(run_early("preinit", "kernel"), "preinit_array", "kernel");
}

namespace {

// Removes the files and the directory of the secure-mode test.
struct TempDir {
  std::string path;
  std::vector<std::string> files;
  ~TempDir() {
    for (const auto& f : files) unlink(f.c_str());
    if (!path.empty()) rmdir(path.c_str());
  }
};

bool copy_file(const std::string& from, const std::string& to, mode_t mode) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary);
  out << in.rdbuf();
  out.close();
  return in && out && chown(to.c_str(), 0, 0) == 0 && chmod(to.c_str(), mode) == 0;
}

const char* find_setpriv() {
  for (const char* p : {"/usr/bin/setpriv", "/bin/setpriv"})
    if (access(p, X_OK) == 0) return p;
  return nullptr;
}

}  // namespace

TEST_CASE("secure mode: a setuid run (AT_SECURE) ignores NTCOPY_KERNEL and NTCOPY_NT_THRESHOLD") {
  // A root-owned setuid copy of the helper, started as nobody with setpriv:
  // real uid nobody, effective uid root, so the kernel sets AT_SECURE and
  // secure_getenv returns NULL. The same copy without the setuid bit, started
  // the same way, is the control in which the variables are honoured.
  const char* setpriv = find_setpriv();
  const passwd* nobody = getpwnam("nobody");
  const group* nogroup = getgrnam("nogroup");
  if (nogroup == nullptr) nogroup = getgrnam("nobody");
  if (geteuid() != 0 || setpriv == nullptr || nobody == nullptr || nogroup == nullptr) {
    MESSAGE("skipped: secure-mode run (needs root, setpriv and a nobody user and group)");
    return;
  }
  TempDir dir;
  std::string tmpl = std::string(NTCOPY_LOADING_DIR) + "/secure-XXXXXX";
  REQUIRE(mkdtemp(tmpl.data()) != nullptr);
  dir.path = tmpl;
  REQUIRE(chmod(dir.path.c_str(), 0755) == 0);
  const std::string plain = dir.path + "/plain", setuid = dir.path + "/setuid";
  dir.files = {plain, setuid};
  REQUIRE(copy_file(NTCOPY_SECURE_CHILD, plain, 0755));
  REQUIRE(copy_file(NTCOPY_SECURE_CHILD, setuid, 04755));

  const std::string as_nobody_user = std::string("--reuid=") + nobody->pw_name;
  const std::string as_nobody_group = std::string("--regid=") + nogroup->gr_name;
  auto run_as_nobody = [&](const std::string& exe, const std::vector<std::string>& extra) {
    return run({setpriv, as_nobody_user, as_nobody_group, "--clear-groups", exe}, child_env(extra));
  };
  const std::string best = best_family(), forced = forced_family();

  // The default threshold as this user sees it, and whether nobody can run
  // the helper at all (it must read libntcopy from the build tree).
  const Run base = run_as_nobody(plain, {});
  if (base.exit_code == 127 ||
      base.err.find("error while loading shared libraries") != std::string::npos) {
    MESSAGE("skipped: secure-mode run (user nobody cannot run the helper here: ", base.err, ")");
    return;
  }
  std::string threshold;
  {
    INFO("control run, no variables: ", describe(base));
    REQUIRE(base.ok());
    REQUIRE(field(base.out, "at_secure") == "0");
    threshold = field(base.out, "threshold");
    REQUIRE(!threshold.empty());
    CHECK(field(base.out, "kernel") == best);
  }

  const std::vector<std::string> good = {"NTCOPY_KERNEL=" + forced, "NTCOPY_NT_THRESHOLD=4096"};
  const std::vector<std::string> bad = {"NTCOPY_KERNEL=" + forced, "NTCOPY_NT_THRESHOLD=12X"};

  // Control: not secure, the variables are honoured (and a bad one warned about).
  {
    const Run r = run_as_nobody(plain, good);
    INFO("control run, good values: ", describe(r));
    REQUIRE(r.ok());
    CHECK(field(r.out, "at_secure") == "0");
    CHECK(field(r.out, "secure_env") == "set");
    CHECK(field(r.out, "kernel") == forced);
    CHECK(field(r.out, "threshold") == "4096");
    CHECK(r.out.ends_with(" checks=ok\n"));
    CHECK(r.err.empty());
  }
  {
    const Run r = run_as_nobody(plain, bad);
    INFO("control run, bad threshold: ", describe(r));
    REQUIRE(r.ok());
    CHECK(field(r.out, "kernel") == forced);
    CHECK(field(r.out, "threshold") == threshold);
    CHECK(lines_of(r.err).size() == 1);
    CHECK(r.err.find("NTCOPY_NT_THRESHOLD") != std::string::npos);
  }

  // Secure: the same variables are in the environment but ignored, silently.
  for (const auto* env : {&good, &bad}) {
    const Run r = run_as_nobody(setuid, *env);
    INFO("setuid run, ", std::string(*env == good ? "good values: " : "bad threshold: "),
         describe(r));
    REQUIRE(r.ok());
    if (field(r.out, "at_secure") != "1") {
      MESSAGE(
          "skipped: secure-mode run (the setuid bit had no effect here, e.g. a nosuid "
          "mount: AT_SECURE is 0)");
      return;
    }
    CHECK(field(r.out, "env") == "set");
    CHECK(field(r.out, "secure_env") == "unset");
    CHECK(field(r.out, "kernel") == best);
    CHECK(field(r.out, "threshold") == threshold);
    CHECK(r.out.ends_with(" checks=ok\n"));
    CHECK(r.err.empty());
  }
}
