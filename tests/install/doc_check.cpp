// Keeps the documentation's code from drifting: every fenced code block in
// README.md and docs/*.md follows a marker line that says where it comes from.
//
//   <!-- quote: PATH -->   the block is a run of consecutive lines of PATH
//                          (relative to the repository root), possibly with
//                          their common indentation removed; PATH is a file
//                          that a test builds or runs (examples/), the public
//                          header, or a script that runs the quoted commands
//                          (.ci/, scripts/)
//   <!-- run: NAME -->     shell commands that a test extracts and runs
//   <!-- output: NAME -->  sample output that a test compares with the real one
//
// A block without a marker, a marker without a block, a quote that does not
// match its file, or a name used twice is an error. docs/api.md must also
// quote every function, type and flag line of include/ntcopy/ntcopy.h.
//
//   ntcopy_doc_check ROOT                       check, one line per problem
//   ntcopy_doc_check ROOT --extract KIND:NAME   print that block (run, output)
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Block {
  std::string doc;   // the Markdown file, relative to the root
  int line = 0;      // of the opening fence, 1-based
  std::string kind;  // quote, run or output
  std::string name;  // the path for quote
  std::vector<std::string> lines;
};

std::optional<std::vector<std::string>> read_lines(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> errors;

void error(const std::string& where, int line, const std::string& what) {
  errors.push_back(where + ":" + std::to_string(line) + ": " + what);
}

// The fenced blocks of one Markdown file, with their markers.
std::vector<Block> parse(const fs::path& root, const std::string& doc) {
  std::vector<Block> blocks;
  const auto lines = read_lines(root / doc);
  if (!lines) {
    error(doc, 0, "cannot read it");
    return blocks;
  }
  static const std::regex fence("[ \t]*```[A-Za-z0-9+_-]*[ \t]*");
  static const std::regex marker("<!-- (quote|run|output): (.+) -->[ \t]*");
  std::optional<Block> pending;  // a marker waiting for its block
  for (std::size_t i = 0; i < lines->size(); ++i) {
    const std::string& line = (*lines)[i];
    const int number = static_cast<int>(i) + 1;
    std::smatch m;
    if (std::regex_match(line, m, marker)) {
      if (pending) error(doc, pending->line, "marker without a code block after it");
      pending = Block{doc, number, m[1], m[2], {}};
      continue;
    }
    if (!std::regex_match(line, fence)) {
      if (pending) error(doc, pending->line, "marker without a code block right after it");
      pending.reset();
      continue;
    }
    Block block = pending.value_or(Block{doc, number, "", "", {}});
    block.line = number;
    pending.reset();
    std::size_t end = i + 1;
    auto closes = [](const std::string& l) {
      const std::size_t at = l.find("```");
      return at != std::string::npos && l.find_first_not_of(" \t") == at;
    };
    while (end < lines->size() && !closes((*lines)[end])) ++end;
    if (end == lines->size()) {
      error(doc, number, "code block never closed");
      break;
    }
    block.lines.assign(lines->begin() + static_cast<long>(i) + 1,
                       lines->begin() + static_cast<long>(end));
    if (block.kind.empty())
      error(doc, number,
            "code block without a marker (<!-- quote: PATH -->, <!-- run: NAME --> or "
            "<!-- output: NAME -->): examples must come from files a test builds");
    else
      blocks.push_back(block);
    i = end;
  }
  if (pending) error(doc, pending->line, "marker without a code block after it");
  return blocks;
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t") == std::string::npos; }

// How many lines of `block` match `file` from line `at`, with one common
// indentation removed from the file's lines.
std::size_t matching_lines(const std::vector<std::string>& file, std::size_t at,
                           const std::vector<std::string>& block) {
  const std::string& first = file[at];
  if (first.size() < block[0].size()) return 0;
  const std::string indent = first.substr(0, first.size() - block[0].size());
  if (!blank(indent)) return 0;
  std::size_t k = 0;
  for (; k < block.size() && at + k < file.size(); ++k) {
    const std::string& f = file[at + k];
    const bool same = block[k].empty() ? blank(f) : f == indent + block[k];
    if (!same) break;
  }
  return k;
}

// Checks one quote block; returns true when it matches its file.
bool check_quote(const fs::path& root, const Block& b) {
  const auto file = read_lines(root / b.name);
  if (!file) {
    error(b.doc, b.line, "quotes " + b.name + ", which cannot be read");
    return false;
  }
  if (b.lines.empty()) {
    error(b.doc, b.line, "empty quote of " + b.name);
    return false;
  }
  std::size_t best = 0, best_at = 0;
  for (std::size_t at = 0; at < file->size(); ++at) {
    const std::size_t n = matching_lines(*file, at, b.lines);
    if (n == b.lines.size()) return true;
    if (n > best) best = n, best_at = at;
  }
  if (best == 0)
    error(b.doc, b.line,
          "the block's first line is not a line of " + b.name + ": \"" + b.lines[0] + "\"");
  else
    error(b.doc, b.line + 1 + static_cast<int>(best),
          "differs from " + b.name + ":" + std::to_string(best_at + best + 1) +
              " (the lines before match " + b.name + " from line " + std::to_string(best_at + 1) +
              ")");
  return false;
}

// docs/api.md quotes every declaration line of the public C header.
void check_api_complete(const fs::path& root, const std::vector<Block>& blocks) {
  const std::string header = "include/ntcopy/ntcopy.h", doc = "docs/api.md";
  const auto lines = read_lines(root / header);
  if (!lines) return error(header, 0, "cannot read it");
  static const std::regex declaration("(NTC_API |#define NTC_F_|typedef ).*");
  for (std::size_t i = 0; i < lines->size(); ++i) {
    const std::string& line = (*lines)[i];
    if (!std::regex_match(line, declaration)) continue;
    const bool quoted = std::any_of(blocks.begin(), blocks.end(), [&](const Block& b) {
      return b.doc == doc && b.kind == "quote" && b.name == header &&
             std::find(b.lines.begin(), b.lines.end(), line) != b.lines.end();
    });
    if (!quoted)
      error(header, static_cast<int>(i) + 1, doc + " does not quote this declaration: " + line);
  }
}

std::vector<std::string> markdown_files(const fs::path& root) {
  std::vector<std::string> docs{"README.md"};
  std::vector<std::string> in_docs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root / "docs", ec))
    if (entry.path().extension() == ".md")
      in_docs.push_back("docs/" + entry.path().filename().string());
  std::sort(in_docs.begin(), in_docs.end());
  docs.insert(docs.end(), in_docs.begin(), in_docs.end());
  return docs;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && !(argc == 4 && std::string(argv[2]) == "--extract")) {
    std::fprintf(stderr, "usage: ntcopy_doc_check ROOT [--extract KIND:NAME]\n");
    return 2;
  }
  const fs::path root = argv[1];
  std::vector<Block> blocks;
  for (const std::string& doc : markdown_files(root)) {
    std::vector<Block> b = parse(root, doc);
    blocks.insert(blocks.end(), b.begin(), b.end());
  }

  if (argc == 4) {
    const std::string wanted = argv[3];
    for (const Block& b : blocks) {
      if (b.kind + ":" + b.name != wanted) continue;
      for (const std::string& line : b.lines) std::printf("%s\n", line.c_str());
      return 0;
    }
    std::fprintf(stderr, "ntcopy_doc_check: no block marked %s in README.md or docs/\n",
                 wanted.c_str());
    return 1;
  }

  std::map<std::string, const Block*> names;
  int quotes = 0;
  for (const Block& b : blocks) {
    if (b.kind == "quote") {
      quotes += check_quote(root, b) ? 1 : 0;
      continue;
    }
    const auto [it, fresh] = names.emplace(b.kind + ":" + b.name, &b);
    if (!fresh)
      error(b.doc, b.line,
            b.kind + ": " + b.name + " is also used at " + it->second->doc + ":" +
                std::to_string(it->second->line));
  }
  check_api_complete(root, blocks);

  for (const std::string& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
  if (!errors.empty()) return 1;
  std::printf("%zu code blocks: %d quotes match their files, %zu run or output blocks\n",
              blocks.size(), quotes, names.size());
  return 0;
}
