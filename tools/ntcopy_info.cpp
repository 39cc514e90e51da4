// ntcopy-info: what ntcopy detects on this machine, what it chose, and why.
//
// Two views, side by side. The selection is recomputed here with the library's
// own pure policy (src/select.cpp, src/cpu.cpp compiled in), which says why:
// which features NTCOPY_CPU_MASK hid, where the threshold came from, which
// environment values were rejected. The library itself is then loaded with
// dlopen and asked through its C API what it really chose (ntc_kernel,
// ntc_kernels, ntc_nt_threshold). The library prints its warnings on stderr
// while it loads; that stderr is captured into a temporary file during dlopen,
// so the lines appear once, inside the report, and are compared with the
// recomputed ones. docs/kernels.md explains the output; the JSON keys are
// documented there and stable.
#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "cpu.h"
#include "select.h"

#if defined(NTCOPY_X86_64)
#include <cpuid.h>
#include <cpuinfo_x86.h>
#endif

#ifndef NTCOPY_VERSION
#error "the build defines NTCOPY_VERSION (CMake's project version)"
#endif
#ifndef NTCOPY_SONAME
#error "the build defines NTCOPY_SONAME (the library's SONAME, e.g. libntcopy.so.0)"
#endif

namespace {

using ntcopy::Family;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;   // the library could not be loaded, or output failed
constexpr int kExitUsage = 2;     // bad command line
constexpr int kExitMismatch = 3;  // the library's state differs from the recomputed one

constexpr const char* kHelp =
    "Usage: ntcopy-info [--json]\n"
    "Shows what ntcopy detects on this machine and what it chose: the CPU, the\n"
    "features that matter, the cache size behind the streaming threshold, each\n"
    "kernel family, the threshold, the NTCOPY_* variables and any warning.\n"
    "\n"
    "  --json      print one JSON object (keys: docs/kernels.md)\n"
    "  --help      print this help and exit\n"
    "  --version   print the version and exit\n"
    "\n"
    "Exit status: 0 report printed; 1 " NTCOPY_SONAME
    " could not be loaded or the\n"
    "output could not be written; 2 usage error; 3 report printed, but the\n"
    "library's choice differs from the one ntcopy-info recomputes.\n";

// ---------------------------------------------------------------------------
// Facts about the machine, for display. Selection itself uses probe_cpu().

struct CacheLevel {
  int level;
  const char* type;  // "data" or "unified": the kinds the threshold considers
  std::size_t bytes;
};

struct Machine {
  bool x86_64 = false;
  const char* arch = "unknown";
  std::optional<std::string> vendor, brand;
  std::optional<int> family, model, stepping;
  // As cpu_features reports them: avx, avx2 and avx512f only when the OS also
  // saves the registers (XCR0). nullopt: cpu_features cannot tell.
  std::optional<bool> sse2, avx, avx2, avx512f, erms, fsrm;
  // XCR0 as read here with XGETBV; nullopt when the OS has not enabled XSAVE
  // (then neither YMM nor ZMM state is saved) or off x86-64.
  std::optional<std::uint64_t> xcr0;
  std::optional<bool> ymm_state, zmm_state;
  std::vector<CacheLevel> cpu_features_caches;
  std::optional<std::size_t> sysconf_l1d, sysconf_l2, sysconf_l3;
};

#if defined(NTCOPY_X86_64)
std::optional<std::uint64_t> read_xcr0() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0 || (c & bit_OSXSAVE) == 0) return std::nullopt;
  std::uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (std::uint64_t{hi} << 32) | lo;
}
#endif

Machine describe_machine() {
  Machine m;
#if defined(NTCOPY_X86_64)
  m.x86_64 = true;
  m.arch = "x86_64";
  const cpu_features::X86Info info = cpu_features::GetX86Info();
  m.vendor = info.vendor;
  m.brand = info.brand_string;
  // CPUID pads the brand string with spaces; they carry nothing.
  while (!m.brand->empty() && m.brand->back() == ' ') m.brand->pop_back();
  while (!m.brand->empty() && m.brand->front() == ' ') m.brand->erase(0, 1);
  m.family = info.family;
  m.model = info.model;
  m.stepping = info.stepping;
  const cpu_features::X86Features& f = info.features;
  m.sse2 = f.sse2 != 0;
  m.avx = f.avx != 0;
  m.avx2 = f.avx2 != 0;
  m.avx512f = f.avx512f != 0;
  m.erms = f.erms != 0;
  // cpu_features 0.7 has no FSRM field: m.fsrm stays unknown.
  m.xcr0 = read_xcr0();
  m.ymm_state = m.xcr0 && (*m.xcr0 & 0x6) == 0x6;    // XMM and YMM state
  m.zmm_state = m.xcr0 && (*m.xcr0 & 0xe6) == 0xe6;  // ... and opmask, ZMM_Hi256, Hi16_ZMM
  const cpu_features::CacheInfo caches = cpu_features::GetX86CacheInfo();
  for (int i = 0; i < caches.size; ++i) {
    const cpu_features::CacheLevelInfo& c = caches.levels[i];
    if (c.cache_size <= 0) continue;
    if (c.cache_type == cpu_features::CPU_FEATURE_CACHE_DATA)
      m.cpu_features_caches.push_back({c.level, "data", static_cast<std::size_t>(c.cache_size)});
    else if (c.cache_type == cpu_features::CPU_FEATURE_CACHE_UNIFIED)
      m.cpu_features_caches.push_back({c.level, "unified", static_cast<std::size_t>(c.cache_size)});
  }
#elif defined(__aarch64__)
  m.arch = "aarch64";
#endif
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE) && \
    defined(_SC_LEVEL3_CACHE_SIZE)
  auto sysconf_bytes = [](int name) -> std::optional<std::size_t> {
    const long v = sysconf(name);
    if (v <= 0) return std::nullopt;
    return static_cast<std::size_t>(v);
  };
  m.sysconf_l1d = sysconf_bytes(_SC_LEVEL1_DCACHE_SIZE);
  m.sysconf_l2 = sysconf_bytes(_SC_LEVEL2_CACHE_SIZE);
  m.sysconf_l3 = sysconf_bytes(_SC_LEVEL3_CACHE_SIZE);
#endif
  return m;
}

// ---------------------------------------------------------------------------
// The library as loaded: what it reports through its C API.

struct Library {
  std::string path;                  // as the dynamic loader found it
  std::string file;                  // the file behind it (symlinks resolved)
  std::string kernel;                // ntc_kernel()
  std::vector<std::string> kernels;  // ntc_kernels()
  std::size_t nt_threshold = 0;      // ntc_nt_threshold()
  bool stderr_captured = false;
  std::vector<std::string> warnings;  // lines starting "ntcopy: " it printed while loading
};

// Reads `f` from the start, line by line. Lines that are not the library's go
// back to the real stderr (a loader diagnostic, say), unchanged.
std::vector<std::string> library_lines(std::FILE* f) {
  std::vector<std::string> lines;
  std::rewind(f);
  std::string line;
  for (int c; (c = std::fgetc(f)) != EOF;) {
    if (c != '\n') {
      line += static_cast<char>(c);
      continue;
    }
    if (line.rfind("ntcopy: ", 0) == 0)
      lines.push_back(line);
    else
      std::fprintf(stderr, "%s\n", line.c_str());
    line.clear();
  }
  if (!line.empty()) std::fprintf(stderr, "%s\n", line.c_str());
  return lines;
}

// Loads the library with its load-time stderr captured. On failure returns
// false with a one-line reason.
bool load_library(Library& lib, std::string& error) {
  std::fflush(stderr);
  std::FILE* capture = std::tmpfile();
  const int saved = capture != nullptr ? dup(STDERR_FILENO) : -1;
  const bool capturing = saved >= 0 && dup2(fileno(capture), STDERR_FILENO) >= 0;
  void* handle = dlopen(NTCOPY_SONAME, RTLD_NOW | RTLD_LOCAL);
  const char* why = handle == nullptr ? dlerror() : nullptr;
  const std::string load_error = why != nullptr ? why : "unknown dlopen error";
  if (capturing) {
    std::fflush(stderr);
    dup2(saved, STDERR_FILENO);
  }
  if (saved >= 0) close(saved);
  if (capturing) {
    lib.stderr_captured = true;
    lib.warnings = library_lines(capture);
  }
  if (capture != nullptr) std::fclose(capture);
  if (handle == nullptr) {
    error = "cannot load " NTCOPY_SONAME ": " + load_error;
    return false;
  }

  using KernelFn = const char* (*)();
  using KernelsFn = std::size_t (*)(const char**, std::size_t);
  using ThresholdFn = std::size_t (*)();
  auto kernel = reinterpret_cast<KernelFn>(dlsym(handle, "ntc_kernel"));
  auto kernels = reinterpret_cast<KernelsFn>(dlsym(handle, "ntc_kernels"));
  auto threshold = reinterpret_cast<ThresholdFn>(dlsym(handle, "ntc_nt_threshold"));
  if (kernel == nullptr || kernels == nullptr || threshold == nullptr) {
    error = NTCOPY_SONAME " lacks ntc_kernel, ntc_kernels or ntc_nt_threshold";
    return false;
  }
  link_map* map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr && map->l_name != nullptr)
    lib.path = map->l_name;
  if (char* real = realpath(lib.path.c_str(), nullptr)) {
    lib.file = real;
    std::free(real);
  }
  // A real libntcopy never returns NULL names; another file of that name might.
  auto name = [](const char* s) { return std::string(s != nullptr ? s : "(null)"); };
  lib.kernel = name(kernel());
  const char* names[16] = {};
  const std::size_t n = kernels(names, 16);
  for (std::size_t i = 0; i < n && i < 16; ++i) lib.kernels.push_back(name(names[i]));
  lib.nt_threshold = threshold();
  return true;
}

// ---------------------------------------------------------------------------
// The report: the machine, the recomputed selection and the library's state.

struct EnvVar {
  const char* name;
  const char* value;  // nullptr: unset
};

struct FamilyRow {
  Family family;
  bool supported;  // the library lists it (ntc_kernels)
  bool active;     // the library uses it (ntc_kernel)
  bool hidden;     // the CPU has it, NTCOPY_CPU_MASK hides it
};

struct Report {
  Machine machine;
  ntcopy::CpuFeatures probed;
  ntcopy::Selection selection;
  std::vector<EnvVar> env;
  std::vector<std::string> hidden_features;
  std::vector<FamilyRow> families;
  std::size_t default_threshold = 0;
  const char* default_rule = "";  // how default_threshold follows from the cache size
  Library library;
  std::vector<std::string> mismatches;  // empty: the library agrees with the selection
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= s.size() && !s.empty()) {
    const std::size_t comma = std::min(s.find(',', start), s.size());
    parts.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

Report build_report(Library library) {
  Report r;
  r.machine = describe_machine();
  r.probed = ntcopy::probe_cpu();
  // The library reads the variables with secure_getenv: so does this.
  r.env = {{"NTCOPY_KERNEL", secure_getenv("NTCOPY_KERNEL")},
           {"NTCOPY_NT_THRESHOLD", secure_getenv("NTCOPY_NT_THRESHOLD")},
           {"NTCOPY_CPU_MASK", secure_getenv("NTCOPY_CPU_MASK")}};
  r.selection = ntcopy::make_selection(r.probed, {r.env[0].value, r.env[1].value, r.env[2].value});
  r.hidden_features = split_commas(r.selection.hidden_features);
  r.library = std::move(library);

  const std::size_t llc = r.selection.cpu.llc_bytes;
  r.default_threshold = ntcopy::default_threshold(llc);
  r.default_rule = llc == 0                      ? "unknown_llc"
                   : llc < ntcopy::kMinThreshold ? "llc_below_min"
                   : llc > ntcopy::kMaxThreshold ? "llc_above_max"
                                                 : "llc";

  std::vector<std::string> expected_kernels;
  for (Family f : ntcopy::families_best_first()) {
    const std::string name(ntcopy::family_name(f));
    FamilyRow row{
        f, false, name == r.library.kernel,
        ntcopy::family_supported(f, r.probed) && !ntcopy::family_supported(f, r.selection.cpu)};
    for (const std::string& k : r.library.kernels) row.supported = row.supported || k == name;
    r.families.push_back(row);
    if (ntcopy::family_supported(f, r.selection.cpu)) expected_kernels.push_back(name);
  }

  const std::string family(ntcopy::family_name(r.selection.family));
  if (r.library.kernel != family)
    r.mismatches.push_back("active family: the library uses " + r.library.kernel +
                           ", the selection gives " + family);
  if (r.library.kernels != expected_kernels)
    r.mismatches.push_back("supported families: the library lists " + join(r.library.kernels, ",") +
                           ", the selection gives " + join(expected_kernels, ","));
  if (r.library.nt_threshold != r.selection.threshold.bytes)
    r.mismatches.push_back("threshold: the library uses " + std::to_string(r.library.nt_threshold) +
                           " bytes, the selection gives " +
                           std::to_string(r.selection.threshold.bytes));
  if (r.library.stderr_captured && r.library.warnings != r.selection.warnings)
    r.mismatches.push_back(
        "warnings: the library printed " + std::to_string(r.library.warnings.size()) +
        " line(s), the selection gives " + std::to_string(r.selection.warnings.size()));
  return r;
}

// ---------------------------------------------------------------------------
// Text.

std::string format(const char* fmt, auto... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

// 67108864 -> "64 MiB"; sizes that are not whole KiB, MiB or GiB stay bytes.
std::string human_bytes(std::size_t bytes) {
  static constexpr const char* kUnits[] = {"GiB", "MiB", "KiB"};
  for (int i = 0; i < 3; ++i) {
    const unsigned shift = 30 - 10 * static_cast<unsigned>(i);
    const std::size_t unit = std::size_t{1} << shift;
    if (bytes >= unit && bytes % unit == 0) return std::to_string(bytes >> shift) + " " + kUnits[i];
  }
  return std::to_string(bytes) + " bytes";
}

std::string yes_no(const std::optional<bool>& v, const char* unknown) {
  if (!v) return unknown;
  return *v ? "yes" : "no";
}

// A label column, then the value.
void row(std::string& out, const char* label, const std::string& value) {
  out += format("  %-20s ", label) + value + "\n";
}

// Where the threshold came from, in words.
std::string threshold_origin(const Report& r) {
  if (r.selection.threshold.from_env)
    return "from NTCOPY_NT_THRESHOLD (the default is " + human_bytes(r.default_threshold) + ")";
  const std::string rule = r.default_rule;
  const std::string llc = human_bytes(r.selection.cpu.llc_bytes);
  if (rule == "unknown_llc") return "default: the cache size is unknown";
  if (rule == "llc_below_min")
    return "default: the last-level cache (" + llc + ") raised to " +
           human_bytes(ntcopy::kMinThreshold);
  if (rule == "llc_above_max")
    return "default: the last-level cache (" + llc + ") cut to " +
           human_bytes(ntcopy::kMaxThreshold);
  return "default: the last-level cache size";
}

std::string text_report(const Report& r) {
  const Machine& m = r.machine;
  const std::string unknown = "unknown";
  const char* na = "n/a (not x86-64)";
  std::string out = "ntcopy-info " NTCOPY_VERSION "\n";
  out += "library                " + r.library.path;
  if (!r.library.file.empty() && r.library.file != r.library.path)
    out += " (" + r.library.file + ")";
  out += "\n";

  out += "cpu\n";
  row(out, "architecture", m.arch);
  row(out, "vendor", m.vendor.value_or(unknown));
  row(out, "brand", m.brand.value_or(unknown));
  row(out, "family/model",
      m.family ? format("%d/%d (0x%x/0x%x), stepping %d", *m.family, *m.model, *m.family, *m.model,
                        *m.stepping)
               : unknown);

  out +=
      "features               as cpu_features reports them: avx, avx2 and avx512f only\n"
      "                       when the OS also saves their registers\n";
  row(out, "sse2", yes_no(m.sse2, na));
  row(out, "avx", yes_no(m.avx, na));
  row(out, "avx2", yes_no(m.avx2, na));
  row(out, "avx512f", yes_no(m.avx512f, na));
  row(out, "erms", yes_no(m.erms, na));
  row(out, "fsrm", m.x86_64 ? yes_no(m.fsrm, "unknown (cpu_features 0.7 does not detect it)") : na);
  std::string state = na;
  if (m.x86_64 && m.xcr0)
    state = format("XCR0 0x%llx: YMM %s, ZMM %s", static_cast<unsigned long long>(*m.xcr0),
                   *m.ymm_state ? "saved" : "not saved", *m.zmm_state ? "saved" : "not saved");
  else if (m.x86_64)
    state = "XSAVE not enabled: YMM and ZMM not saved";
  row(out, "os register state", state);

  out += "cache                  the default threshold follows the last-level size\n";
  std::vector<std::string> levels;
  for (const CacheLevel& c : m.cpu_features_caches)
    levels.push_back(format("L%d %s ", c.level, c.type) + human_bytes(c.bytes));
  row(out, "cpu_features", levels.empty() ? "none reported" : join(levels, ", "));
  std::vector<std::string> sys;
  if (m.sysconf_l1d) sys.push_back("L1d " + human_bytes(*m.sysconf_l1d));
  if (m.sysconf_l2) sys.push_back("L2 " + human_bytes(*m.sysconf_l2));
  if (m.sysconf_l3) sys.push_back("L3 " + human_bytes(*m.sysconf_l3));
  row(out, "sysconf", sys.empty() ? "none reported" : join(sys, ", "));
  const std::size_t llc = r.selection.cpu.llc_bytes;
  row(out, "last level", llc == 0 ? unknown : human_bytes(llc));

  out += "families               best first; * marks the active one\n";
  for (const FamilyRow& f : r.families) {
    std::string what = f.supported ? "supported" : "unsupported";
    if (f.hidden) what += " (hidden by NTCOPY_CPU_MASK)";
    std::string label = f.active ? "* " : "  ";
    label += family_name(f.family);
    out += format("%-22s ", label.c_str()) + what + "\n";
  }

  out += "threshold              " + human_bytes(r.library.nt_threshold) + ", " +
         threshold_origin(r) + "\n";

  out += "environment\n";
  for (const EnvVar& e : r.env) {
    std::string value = "unset";
    if (e.value != nullptr) {
      value = '"';
      value += ntcopy::printable_env_value(e.value);
      value += '"';
    }
    row(out, e.name, value);
  }

  const std::size_t n = r.selection.warnings.size();
  out += "warnings               ";
  if (n == 0)
    out += "none\n";
  else if (r.library.stderr_captured)
    out += std::to_string(n) + ", printed by the library while loading (captured here)\n";
  else
    out += std::to_string(n) + ", printed by the library on stderr as well\n";
  for (const std::string& w : r.selection.warnings) out += "  " + w + "\n";
  for (const std::string& mismatch : r.mismatches)
    out += "mismatch               " + mismatch + "\n";
  return out;
}

// ---------------------------------------------------------------------------
// JSON. Strings are written as ASCII: UTF-8 sequences as \u escapes, bytes that
// are not valid UTF-8 as U+FFFD; JSON cannot carry arbitrary bytes.

// The code point of the valid UTF-8 sequence at s[i] and its length, or
// nothing for a byte that does not start one (overlong forms, surrogates and
// values past U+10FFFF are not valid).
std::optional<std::pair<char32_t, std::size_t>> utf8_at(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b = byte(i);
  std::size_t len = 0;
  char32_t cp = 0, min = 0;
  if (b < 0x80) return std::pair{char32_t{b}, std::size_t{1}};
  if (b >= 0xc2 && b <= 0xdf)
    len = 2, cp = b & 0x1f, min = 0x80;
  else if (b >= 0xe0 && b <= 0xef)
    len = 3, cp = b & 0x0f, min = 0x800;
  else if (b >= 0xf0 && b <= 0xf4)
    len = 4, cp = b & 0x07, min = 0x10000;
  else
    return std::nullopt;
  if (i + len > s.size()) return std::nullopt;
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;
  return std::pair{cp, len};
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    const auto decoded = utf8_at(s, i);
    const char32_t cp = decoded ? decoded->first : 0xfffd;
    i += decoded ? decoded->second : 1;
    switch (cp) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      default: break;
    }
    if (cp >= 0x20 && cp < 0x7f) {
      out += static_cast<char>(cp);
    } else if (cp < 0x10000) {
      out += format("\\u%04x", static_cast<unsigned>(cp));
    } else {  // a surrogate pair
      const char32_t v = cp - 0x10000;
      out += format("\\u%04x\\u%04x", static_cast<unsigned>(0xd800 + (v >> 10)),
                    static_cast<unsigned>(0xdc00 + (v & 0x3ff)));
    }
  }
  return out + "\"";
}

// Writes nested objects and arrays with two-space indentation.
class JsonWriter {
 public:
  std::string take() { return std::move(out_) + "\n"; }

  JsonWriter& key(std::string_view k) {
    next_item();
    out_ += json_string(k) + ": ";
    after_key_ = true;
    return *this;
  }
  void open(char bracket) {
    next_item();
    out_ += bracket;
    empty_.push_back(true);
  }
  void close(char bracket) {
    const bool was_empty = empty_.back();
    empty_.pop_back();
    if (!was_empty) newline();
    out_ += bracket;
  }
  void raw(const std::string& text) {
    next_item();
    out_ += text;
  }
  void string(std::string_view s) { raw(json_string(s)); }
  void number(std::size_t v) { raw(std::to_string(v)); }
  void boolean(bool v) { raw(v ? "true" : "false"); }
  void null() { raw("null"); }
  template <class T>
  void optional(const std::optional<T>& v) {
    if (!v) return null();
    if constexpr (std::is_same_v<T, bool>)
      boolean(*v);
    else if constexpr (std::is_same_v<T, std::string>)
      string(*v);
    else
      number(static_cast<std::size_t>(*v));
  }
  void strings(const std::vector<std::string>& items) {
    open('[');
    for (const std::string& s : items) string(s);
    close(']');
  }

 private:
  void newline() {
    out_ += '\n';
    out_.append(2 * empty_.size(), ' ');
  }
  // Before an item: the comma and new line that separate it from the last.
  void next_item() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (empty_.empty()) return;
    if (!empty_.back()) out_ += ",";
    empty_.back() = false;
    newline();
  }

  std::string out_;
  std::vector<bool> empty_;  // one per open object or array: nothing in it yet
  bool after_key_ = false;
};

std::string json_report(const Report& r) {
  const Machine& m = r.machine;
  JsonWriter j;
  j.open('{');
  j.key("version").string(NTCOPY_VERSION);
  j.key("library").open('{');
  j.key("path").string(r.library.path);
  j.key("file").string(r.library.file);
  j.close('}');

  j.key("cpu").open('{');
  j.key("architecture").string(m.arch);
  j.key("vendor").optional(m.vendor);
  j.key("brand").optional(m.brand);
  j.key("family").optional(m.family);
  j.key("model").optional(m.model);
  j.key("stepping").optional(m.stepping);
  j.close('}');

  j.key("features").open('{');
  j.key("sse2").optional(m.sse2);
  j.key("avx").optional(m.avx);
  j.key("avx2").optional(m.avx2);
  j.key("avx512f").optional(m.avx512f);
  j.key("erms").optional(m.erms);
  j.key("fsrm").optional(m.fsrm);
  j.close('}');

  j.key("os_register_state").open('{');
  j.key("xcr0").optional(m.xcr0);
  j.key("ymm").optional(m.ymm_state);
  j.key("zmm").optional(m.zmm_state);
  j.close('}');

  j.key("cache").open('{');
  j.key("cpu_features").open('[');
  for (const CacheLevel& c : m.cpu_features_caches) {
    j.open('{');
    j.key("level").number(static_cast<std::size_t>(c.level));
    j.key("type").string(c.type);
    j.key("bytes").number(c.bytes);
    j.close('}');
  }
  j.close(']');
  j.key("sysconf").open('{');
  j.key("l1d").optional(m.sysconf_l1d);
  j.key("l2").optional(m.sysconf_l2);
  j.key("l3").optional(m.sysconf_l3);
  j.close('}');
  j.key("llc_bytes").number(r.selection.cpu.llc_bytes);
  j.close('}');

  j.key("hidden_features").strings(r.hidden_features);
  j.key("families").open('[');
  for (const FamilyRow& f : r.families) {
    j.open('{');
    j.key("name").string(ntcopy::family_name(f.family));
    j.key("supported").boolean(f.supported);
    j.key("active").boolean(f.active);
    j.key("hidden").boolean(f.hidden);
    j.close('}');
  }
  j.close(']');
  j.key("kernel").string(r.library.kernel);

  j.key("threshold").open('{');
  j.key("bytes").number(r.library.nt_threshold);
  j.key("source").string(r.selection.threshold.from_env ? "NTCOPY_NT_THRESHOLD" : "default");
  j.key("default_bytes").number(r.default_threshold);
  j.key("default_rule").string(r.default_rule);
  j.close('}');

  j.key("environment").open('{');
  for (const EnvVar& e : r.env) {
    j.key(e.name);
    if (e.value == nullptr)
      j.null();
    else
      j.string(e.value);
  }
  j.close('}');

  j.key("warnings").strings(r.selection.warnings);
  j.key("library_warnings");
  if (r.library.stderr_captured)
    j.strings(r.library.warnings);
  else
    j.null();
  j.key("consistent").boolean(r.mismatches.empty());
  j.key("mismatches").strings(r.mismatches);
  j.close('}');
  return j.take();
}

// ---------------------------------------------------------------------------

// Writes `text` to stdout and flushes it; false (errno set) when that fails.
bool write_stdout(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) return false;
  return std::fflush(stdout) == 0;
}

int finish(const std::string& text, int status) {
  if (!write_stdout(text)) {
    std::fprintf(stderr, "ntcopy-info: cannot write the output: %s\n", std::strerror(errno));
    return kExitFailure;
  }
  return status;
}

int usage_error(const std::string& what, std::string_view arg) {
  std::fprintf(stderr, "ntcopy-info: %s '%s'; try 'ntcopy-info --help'\n", what.c_str(),
               ntcopy::printable_env_value(arg).c_str());
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return finish(kHelp, kExitOk);
    if (arg == "--version") return finish("ntcopy-info " NTCOPY_VERSION "\n", kExitOk);
    if (arg == "--json") {
      json = true;
      continue;
    }
    return usage_error(arg.starts_with("-") ? "unknown option" : "unexpected argument", arg);
  }

  Library library;
  std::string error;
  if (!load_library(library, error)) {
    for (const std::string& line : library.warnings) std::fprintf(stderr, "%s\n", line.c_str());
    std::fprintf(stderr, "ntcopy-info: %s\n", error.c_str());
    return kExitFailure;
  }
  const Report report = build_report(std::move(library));
  return finish(json ? json_report(report) : text_report(report),
                report.mismatches.empty() ? kExitOk : kExitMismatch);
}
