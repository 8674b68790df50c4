// gfemu_rewrite IN.cu OUT.cpp: turns CUDA C++ into C++ that g++ compiles
// against the emulator (with -include gfemu/kernel.h). Two constructs are not
// C++ and cannot be macros, so they are rewritten in the text:
//
//   kernel<<<grid, block, shared, stream>>>(args);
//     -> ::gfemu::launch(::gfemu::launch_config(grid, block, shared, stream),
//          "kernel", __FILE__, __LINE__,
//          [](auto&&... a) { kernel(a...); }, args);
//     The generic lambda keeps template-argument deduction for kernels called
//     without explicit template arguments.
//   __shared__ T name[N];
//     -> static thread_local ::gfemu::SharedVar<T[N]> gfemu_shared_name("name");
//        auto& name = gfemu_shared_name.get();
//     (per block on the running host thread, poisoned when each block starts)
//   extern __shared__ T name[];
//     -> T* name = reinterpret_cast<T*>(::gfemu::dynamic_shared());
//
// Comments and literals are left alone. Every replacement keeps the line
// count, and the output starts with #line naming the input, so compiler
// messages, ASan and UBSan point at the .cu file's own lines.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string g_path;

[[noreturn]] void fail(const std::string& text, size_t pos, const std::string& why) {
  size_t line = 1;
  for (size_t i = 0; i < pos && i < text.size(); ++i) line += text[i] == '\n';
  std::cerr << g_path << ":" << line << ": gfemu_rewrite: " << why << "\n";
  std::exit(1);
}

// code[i]: whether text[i] is outside comments and string/char literals.
std::vector<bool> code_mask(const std::string& s) {
  std::vector<bool> code(s.size(), true);
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 2, "//") == 0) {
      while (i < s.size() && s[i] != '\n') code[i++] = false;
    } else if (s.compare(i, 2, "/*") == 0) {
      const size_t e = s.find("*/", i + 2);
      const size_t end = e == std::string::npos ? s.size() : e + 2;
      while (i < end) code[i++] = false;
    } else if (s[i] == 'R' && i + 1 < s.size() && s[i + 1] == '"' && (i == 0 || !isalnum((unsigned char)s[i - 1]))) {
      const size_t open = s.find('(', i + 2);
      if (open == std::string::npos) fail(s, i, "unterminated raw string");
      const std::string close = ")" + s.substr(i + 2, open - i - 2) + "\"";
      const size_t e = s.find(close, open);
      const size_t end = e == std::string::npos ? s.size() : e + close.size();
      while (i < end) code[i++] = false;
    } else if (s[i] == '"' || (s[i] == '\'' && !(i > 0 && isalnum((unsigned char)s[i - 1])))) {
      const char q = s[i];
      code[i++] = false;
      while (i < s.size() && s[i] != q) {
        if (s[i] == '\\') code[i++] = false;
        if (i < s.size()) code[i++] = false;
      }
      if (i < s.size()) code[i++] = false;
    } else {
      ++i;
    }
  }
  return code;
}

bool ident(char c) { return isalnum((unsigned char)c) || c == '_'; }

// Index of the bracket closing the one at `open`, skipping non-code.
size_t match_forward(const std::string& s, const std::vector<bool>& code, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (!code[i]) continue;
    const char c = s[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    else if (c == ')' || c == ']' || c == '}') {
      if (--depth == 0) return i;
    }
  }
  fail(s, open, "unbalanced brackets");
}

size_t match_backward(const std::string& s, const std::vector<bool>& code, size_t close, char open_c, char close_c) {
  int depth = 0;
  for (size_t i = close + 1; i-- > 0;) {
    if (!code[i]) continue;
    if (s[i] == close_c) ++depth;
    else if (s[i] == open_c && --depth == 0) return i;
  }
  fail(s, close, std::string("unbalanced ") + open_c + close_c);
}

size_t count_newlines(const std::string& s, size_t b, size_t e) {
  size_t n = 0;
  for (size_t i = b; i < e; ++i) n += s[i] == '\n';
  return n;
}

std::string collapse(const std::string& s) {  // whitespace runs to one space
  std::string r;
  for (char c : s) {
    if (isspace((unsigned char)c)) {
      if (!r.empty() && r.back() != ' ') r += ' ';
    } else {
      r += c;
    }
  }
  while (!r.empty() && r.back() == ' ') r.pop_back();
  return r;
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

struct Edit {
  size_t begin, end;  // [begin, end) of the input
  std::string text;
};

// Pads `text` with the newlines [b, e) had and it lacks.
std::string keep_lines(const std::string& s, size_t b, size_t e, std::string text) {
  const size_t had = count_newlines(s, b, e), has = count_newlines(text, 0, text.size());
  if (had > has) text.append(had - has, '\n');
  return text;
}

void rewrite_launches(const std::string& s, const std::vector<bool>& code, std::vector<Edit>& edits) {
  for (size_t i = s.find("<<<"); i != std::string::npos; i = s.find("<<<", i + 3)) {
    if (!code[i]) continue;
    // The kernel: [::]name[::name...][<template args>] or (expression).
    size_t j = i;
    while (j > 0 && isspace((unsigned char)s[j - 1])) --j;
    if (j == 0) fail(s, i, "a launch with no kernel before <<<");
    size_t k0;
    if (s[j - 1] == ')') {
      k0 = match_backward(s, code, j - 1, '(', ')');
    } else {
      size_t p = j;
      if (s[p - 1] == '>') {
        // Template arguments: match the angle brackets, skipping nested ones.
        int depth = 0;
        size_t q = p;
        do {
          --q;
          if (!code[q]) continue;
          if (s[q] == '>') ++depth;
          else if (s[q] == '<') --depth;
        } while (q > 0 && depth > 0);
        if (depth) fail(s, i, "unbalanced template arguments before <<<");
        p = q;
        while (p > 0 && isspace((unsigned char)s[p - 1])) --p;
      }
      while (p > 0 && (ident(s[p - 1]) || s[p - 1] == ':')) --p;
      k0 = p;
    }
    const std::string kernel = collapse(s.substr(k0, j - k0));
    if (kernel.empty()) fail(s, i, "a launch with no kernel before <<<");
    // The configuration, up to >>> outside brackets.
    size_t c = i + 3;
    int depth = 0;
    for (; c + 2 < s.size(); ++c) {
      if (!code[c]) continue;
      if (s[c] == '(' || s[c] == '[' || s[c] == '{') ++depth;
      else if (s[c] == ')' || s[c] == ']' || s[c] == '}') --depth;
      else if (depth == 0 && s.compare(c, 3, ">>>") == 0) break;
    }
    if (c + 2 >= s.size()) fail(s, i, "no >>> closing the launch configuration");
    const std::string cfg = s.substr(i + 3, c - i - 3);
    size_t a = c + 3;
    while (a < s.size() && isspace((unsigned char)s[a])) ++a;
    if (a >= s.size() || s[a] != '(') fail(s, i, "no argument list after >>>");
    const size_t a_end = match_forward(s, code, a);
    const std::string args = trim(s.substr(a + 1, a_end - a - 1));
    std::string name = kernel;
    for (char& ch : name)
      if (ch == '"' || ch == '\\') ch = '\'';
    std::string call = "::gfemu::launch(::gfemu::launch_config(" + cfg + "), \"" + name +
                       "\", __FILE__, __LINE__, [](auto&&... gfemu_args) { " + kernel + "(gfemu_args...); }" +
                       (args.empty() ? "" : ", " + args) + ")";
    edits.push_back({k0, a_end + 1, keep_lines(s, k0, a_end + 1, call)});
    i = a_end;
  }
}

// The words before `__shared__` that belong to the declaration.
bool qualifier(const std::string& w) { return w == "extern" || w == "static" || w == "volatile" || w == "const"; }

void rewrite_shared(const std::string& s, const std::vector<bool>& code, std::vector<Edit>& edits) {
  const std::string kw = "__shared__";
  for (size_t i = s.find(kw); i != std::string::npos; i = s.find(kw, i + kw.size())) {
    if (!code[i] || (i > 0 && ident(s[i - 1])) || (i + kw.size() < s.size() && ident(s[i + kw.size()]))) continue;
    // The statement: from after the previous ; { } (skipping preprocessor
    // lines) to the next ; outside brackets.
    size_t b = i;
    while (b > 0 && !(code[b - 1] && (s[b - 1] == ';' || s[b - 1] == '{' || s[b - 1] == '}'))) --b;
    for (;;) {  // skip whitespace and whole preprocessor lines
      while (b < i && isspace((unsigned char)s[b])) ++b;
      if (b < i && s[b] == '#') {
        const size_t nl = s.find('\n', b);
        b = nl == std::string::npos ? i : nl + 1;
      } else {
        break;
      }
    }
    size_t e = i;
    int depth = 0;
    for (; e < s.size(); ++e) {
      if (!code[e]) continue;
      if (s[e] == '(' || s[e] == '[' || s[e] == '{' || s[e] == '<') ++depth;
      else if (s[e] == ')' || s[e] == ']' || s[e] == '}' || s[e] == '>') --depth;
      else if (s[e] == ';' && depth <= 0) break;
    }
    if (e >= s.size()) fail(s, i, "no ; ending the __shared__ declaration");
    std::string decl = s.substr(b, e - b);
    if (decl.find('=') != std::string::npos) fail(s, i, "a __shared__ variable cannot have an initializer");
    // Take out __shared__, the storage words and the alignment.
    bool is_extern = false;
    std::string rest;
    size_t p = 0;
    while (p < decl.size()) {
      if (isspace((unsigned char)decl[p])) {
        rest += decl[p++];
        continue;
      }
      size_t q = p;
      while (q < decl.size() && ident(decl[q])) ++q;
      const std::string word = decl.substr(p, q - p);
      if (word == "__shared__" || word == "static") {
        p = q;
      } else if (word == "extern") {
        is_extern = true;
        p = q;
      } else if (word == "__align__" || word == "alignas") {
        size_t o = decl.find('(', q);
        int d = 0;
        for (; o < decl.size(); ++o) {
          if (decl[o] == '(') ++d;
          else if (decl[o] == ')' && --d == 0) break;
        }
        p = o + 1;
      } else if (!word.empty() && qualifier(word)) {
        rest += word;
        p = q;
      } else {
        break;
      }
    }
    rest = trim(rest + " " + decl.substr(p));
    // Split the declarators at top-level commas.
    std::vector<std::string> parts;
    {
      int d = 0;
      std::string cur;
      for (char ch : rest) {
        if (ch == '(' || ch == '[' || ch == '<' || ch == '{') ++d;
        if (ch == ')' || ch == ']' || ch == '>' || ch == '}') --d;
        if (ch == ',' && d == 0) {
          parts.push_back(cur);
          cur.clear();
        } else {
          cur += ch;
        }
      }
      parts.push_back(cur);
    }
    // The first part holds the type: "TYPE [*]name[dims]".
    auto split_name = [&](const std::string& part, std::string* before, std::string* name, std::string* dims) {
      const std::string t = trim(part);
      size_t br = std::string::npos;
      int d = 0;
      for (size_t k = 0; k < t.size(); ++k) {
        if (t[k] == '<' || t[k] == '(') ++d;
        if (t[k] == '>' || t[k] == ')') --d;
        if (t[k] == '[' && d == 0) {
          br = k;
          break;
        }
      }
      const size_t name_end_raw = br == std::string::npos ? t.size() : br;
      size_t ne = name_end_raw;
      while (ne > 0 && isspace((unsigned char)t[ne - 1])) --ne;
      size_t nb = ne;
      while (nb > 0 && ident(t[nb - 1])) --nb;
      if (nb == ne) fail(s, i, "cannot find the name in the __shared__ declaration '" + collapse(decl) + "'");
      *before = trim(t.substr(0, nb));
      *name = t.substr(nb, ne - nb);
      *dims = br == std::string::npos ? "" : collapse(t.substr(br));
    };
    std::string type, name, dims, out;
    split_name(parts[0], &type, &name, &dims);
    if (type.empty()) fail(s, i, "cannot find the type in the __shared__ declaration '" + collapse(decl) + "'");
    for (size_t k = 0; k < parts.size(); ++k) {
      std::string extra;
      if (k > 0) split_name(parts[k], &extra, &name, &dims);  // extra: a '*' of this declarator
      const std::string t = collapse(type + (extra.empty() ? "" : " " + extra));
      if (is_extern) {
        if (dims != "[]") fail(s, i, "extern __shared__ must be an unsized array");
        out += t + "* " + name + " = reinterpret_cast<" + t + "*>(::gfemu::dynamic_shared()); ";
      } else {
        out += "static thread_local ::gfemu::SharedVar<" + t + " " + dims + "> gfemu_shared_" + name + "(\"" + name +
               "\"); auto& " + name + " = gfemu_shared_" + name + ".get(); ";
      }
    }
    edits.push_back({b, e + 1, keep_lines(s, b, e + 1, trim(out))});
    i = e;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: gfemu_rewrite IN.cu OUT.cpp\n";
    return 2;
  }
  g_path = argv[1];
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::cerr << "gfemu_rewrite: cannot read " << argv[1] << "\n";
    return 1;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string s = buf.str();
  const std::vector<bool> code = code_mask(s);
  std::vector<Edit> edits;
  rewrite_launches(s, code, edits);
  rewrite_shared(s, code, edits);
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.begin < b.begin; });
  std::string out = "#line 1 \"" + g_path + "\"\n";
  size_t pos = 0;
  for (const Edit& e : edits) {
    if (e.begin < pos) fail(s, e.begin, "overlapping rewrites");
    out += s.substr(pos, e.begin - pos);
    out += e.text;
    pos = e.end;
  }
  out += s.substr(pos);
  std::ofstream f(argv[2], std::ios::binary | std::ios::trunc);
  f << out;
  if (!f) {
    std::cerr << "gfemu_rewrite: cannot write " << argv[2] << "\n";
    return 1;
  }
  return 0;
}
