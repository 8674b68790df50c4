#!/usr/bin/env python3
"""Names two source files of one library each define for themselves.

A unity build (CMake's UNITY_BUILD, GF_UNITY_LIBRARIES) compiles several
.cpp files of a library as one translation unit, so a name each file keeps
to itself (an anonymous namespace's, a namespace-scope `static`, a `const`
or `constexpr` variable, a type or alias defined in the .cpp) becomes one
name there: a redefinition error, or an overload set where the signatures
differ, decided by which files share a unit today. This lists such names
defined in two files of one library, whichever unit they fall in.

    file_local_names.py --library NAME FILE... [--library NAME FILE...]...

A FILE may be a `;`-separated list (CMake's SOURCES property); files other
than .cpp are ignored. Prints one line per repeated name
(`library: namespace::name in a.cpp, b.cpp`) and exits 1 when there is one,
0 when there is none, 2 on a usage error or a file it cannot read.

It reads the sources with a tokenizer, not a compiler: preprocessor lines
are dropped (both branches of an #if count), and an alias that repeats the
same type (`using Clock = DeadlineClock;` in two files) is allowed, as C++
allows it. A declaration it misreads can slip through; where that name
collides, cpu.unity_libraries_one_unit (tools/unity_one_unit.py, the
compiler on each library as one unit) fails instead, unless the two
meanings form an overload set, the case this check is for.
"""
import collections
import os
import re
import sys

TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<ident>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<number>\.?[0-9](?:[eEpP][+-]|[A-Za-z0-9_.']|)*)
  | (?P<punct>::|->|\.\.\.|.)
""", re.VERBOSE | re.DOTALL)

TYPE_KEYS = {"struct", "class", "union", "enum"}

# One name a namespace-scope statement introduces. kind: "type", "function",
# "object", or "declaration" (a function declared, not defined: never
# counted); file_local: marked so (static, or const without inline);
# alias_of: an alias's type, as text (None for anything else).
Decl = collections.namedtuple("Decl", "kind name file_local alias_of")
SKIP_HEADS = {"static_assert", "friend", "extern", "template", "using"}


def strip_source(text):
    """The text without comments, literals (kept as a placeholder token) and
    preprocessor lines."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c == "#":
            # A directive runs to the end of the line, with its continuations.
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    i += 1
                elif text.startswith("/*", i):
                    end = text.find("*/", i + 2)
                    i = n if end < 0 else end + 1
                i += 1
            continue
        if c == "\n":
            line_start = True
            out.append(c)
            i += 1
            continue
        if not c.isspace():
            line_start = False
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
            continue
        raw = re.match(r'(?:u8|u|U|L)?R"([^()\\\s]{0,16})\(', text[i:i + 40])
        if raw and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = text.find(")" + raw.group(1) + '"', i + raw.end())
            i = n if end < 0 else end + len(raw.group(1)) + 2
            out.append(' "" ')
            continue
        if c in "\"'":
            # A digit separator (1'000, 0xFF'FF) is not a character literal;
            # a prefix (L'x', u8'x') is not a number.
            run = i
            while run > 0 and (text[run - 1].isalnum() or text[run - 1] in "_'"):
                run -= 1
            if c == "'" and run < i and text[run].isdigit() and i + 1 < n and text[i + 1].isalnum():
                out.append(c)
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            out.append(' "" ')
            continue
        out.append(c)
        i += 1
    return "".join(out)


def tokens_of(text):
    toks = []
    for m in TOKEN.finditer(strip_source(text)):
        if m.lastgroup != "ws":
            toks.append(m.group())
    # Attributes ([[noreturn]], [[maybe_unused]]) name nothing.
    out, i = [], 0
    while i < len(toks):
        if toks[i] == "[" and i + 1 < len(toks) and toks[i + 1] == "[":
            i = matching(toks, i) + 1
            continue
        out.append(toks[i])
        i += 1
    return out


def matching(toks, i):
    """Index of the bracket that closes toks[i]."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    open_, close = toks[i], pairs[toks[i]]
    depth = 0
    for j in range(i, len(toks)):
        if toks[j] == open_:
            depth += 1
        elif toks[j] == close:
            depth -= 1
            if depth == 0:
                return j
    return len(toks) - 1


def skip_angles(toks, i):
    """Index past a template's <...> starting at toks[i] == '<'."""
    depth = 0
    while i < len(toks):
        t = toks[i]
        if t in "([{":
            i = matching(toks, i)
        elif t == "<":
            depth += 1
        elif t == ">":
            depth -= 1
            if depth == 0:
                return i + 1
        elif t == ">>":
            depth -= 2
        i += 1
    return i


def top_level(stmt):
    """The statement's tokens outside any (), [] or {} (each bracket kept)."""
    out, i = [], 0
    while i < len(stmt):
        out.append((i, stmt[i]))
        if stmt[i] in "([{":
            i = matching(stmt, i)
            out.append((i, stmt[i]))
        i += 1
    return out


def declared(stmt, body):
    """The Decls of a namespace-scope statement (its tokens, ending in ';' or
    '{'); body: the tokens of its braces, None when it has none."""
    head = stmt[0] if stmt else ""
    if head == "template":
        i = skip_angles(stmt, 1)
        stmt = stmt[i:]
        head = stmt[0] if stmt else ""
    if head == "using" and len(stmt) > 2 and stmt[2] == "=":
        return [Decl("type", stmt[1], False, " ".join(stmt[3:]))]
    if head == "typedef" and body is not None:
        return []  # typedef struct { ...: its name comes at the ';'
    if head == "typedef":
        names = [t for t in stmt if re.match(r"[A-Za-z_]", t)]
        # typedef struct { ... } Pair: a new type each time, never one alias again.
        alias = None if "{" in stmt else " ".join(stmt[1:-1])
        return [Decl("type", names[-1], False, alias)] if names else []
    if head in SKIP_HEADS or head == "namespace" or not stmt:
        return []
    words = [t for _, t in top_level(stmt)]
    lead = [w for w in words if w in ("static", "const", "constexpr", "inline", "thread_local")]
    if head in TYPE_KEYS or (head in ("static", "constexpr", "const") and len(stmt) > 1 and stmt[1] in TYPE_KEYS):
        k = stmt.index(next(t for t in stmt if t in TYPE_KEYS))
        j = k + 1
        if j < len(stmt) and stmt[j] in ("class", "struct"):
            j += 1
        while j < len(stmt) and stmt[j] in ("alignas",):
            j = matching(stmt, j + 1) + 1
        out = []
        nested = j + 1 < len(stmt) and stmt[j + 1] in ("::", "<")
        if j < len(stmt) and re.match(r"[A-Za-z_]\w*$", stmt[j]) and not nested:
            # (Foo::Impl is a member, hash<X> a specialization: neither new here.)
            if body is not None:
                out.append(Decl("type", stmt[j], False, None))
            j += 1
        # Objects declared with the type: struct { ... } state, *other;
        if "}" in stmt and body is None:
            after = stmt[stmt.index("}") + 1:]
            for n, t in enumerate(after):
                if re.match(r"[A-Za-z_]\w*$", t) and (n == 0 or after[n - 1] in (",", "*", "&")):
                    out.append(Decl("object", t, "static" in lead or "const" in after[:n] or "constexpr" in lead, None))
        # An unscoped enum's enumerators are names of the namespace too.
        if stmt[k] == "enum" and stmt[k + 1] not in ("class", "struct") and body:
            depth = 0
            expect = True
            for t in body:
                if t in "([{":
                    depth += 1
                elif t in ")]}":
                    depth -= 1
                elif depth == 0 and t == ",":
                    expect = True
                elif depth == 0 and expect and re.match(r"[A-Za-z_]\w*$", t):
                    out.append(Decl("object", t, False, None))
                    expect = False
        return out
    # A function or a variable: the name before the first top-level
    # (, =, {, [ or ; (an out-of-line member, `a::b(`, is not a new name).
    tl = top_level(stmt)
    for pos, (i, t) in enumerate(tl):
        if t in ("(", "=", "{", "[", ";", ":"):
            if pos == 0:
                return []
            name = tl[pos - 1][1]
            if t == "(" and name in ("decltype", "alignas", "noexcept", "sizeof", "__attribute__"):
                continue  # part of the type (decltype(auto) pick(...)), not the name
            if name == ">" or name == "]":
                return []
            if pos >= 2 and tl[pos - 2][1] == "operator":
                name = "operator" + name
            elif pos >= 2 and tl[pos - 2][1] in ("::", "~"):
                return []
            if not re.match(r"[A-Za-z_]\w*$", name) and not name.startswith("operator"):
                return []
            if name == "operator":
                return []
            kind = "function" if t == "(" and body is not None else "object"
            if t == "(" and body is None:
                # A function's declaration, or a variable built by a
                # constructor call (std::atomic<int> n(0)): a literal inside
                # tells the variable.
                inside = stmt[i + 1:matching(stmt, i)]
                kind = "object" if any(re.match(r'[0-9.]|""', x) for x in inside) else "declaration"
            # Internal linkage: static, or (a variable) const itself, not
            # through a pointer (const char* p is a shared variable).
            before = [w for _, w in tl[:pos - 1]]
            if "constexpr" in before:
                const_itself = True
            else:
                refs = [n for n, w in enumerate(before) if w in ("*", "&", "&&")]
                const_itself = "const" in before[(refs[-1] + 1 if refs else 0):]
            file_local = "static" in lead or (kind == "object" and const_itself and "inline" not in lead)
            return [Decl(kind, name, bool(file_local), None)]
    return []


def file_local_names(path):
    """{(namespace path, name): alias_of} for the names a .cpp defines for itself."""
    with open(path, encoding="utf-8", errors="replace") as f:
        toks = tokens_of(f.read())
    found = {}
    # Scopes: (named path, inside an anonymous namespace).
    stack = [((), False)]

    def add(decls, anon, path):
        # A type defined in a .cpp counts in any namespace: two files'
        # definitions of one class would break the one-definition rule.
        for d in decls:
            if d.kind != "declaration" and (anon or d.file_local or d.kind == "type"):
                found.setdefault(("::".join(path), d.name), d.alias_of)

    stmt = []
    i = 0
    while i < len(toks):
        t = toks[i]
        path, anon = stack[-1]
        if t == "}" and not stmt:
            if len(stack) > 1:
                stack.pop()
            i += 1
            continue
        if t == ";":
            add(declared(stmt + [";"], None), anon, path)
            stmt = []
            i += 1
            continue
        if t == "{":
            if stmt[:1] == ["namespace"] or stmt[:2] == ["inline", "namespace"]:
                names = [s for s in stmt if re.match(r"[A-Za-z_]\w*$", s) and s not in ("namespace", "inline")]
                stack.append((path + tuple(names), anon or not names))
                stmt = []
                i += 1
                continue
            if stmt[:1] == ["extern"] and stmt[1:2] == ['""']:
                stack.append((path, anon))
                stmt = []
                i += 1
                continue
            end = matching(toks, i)
            body = toks[i + 1:end]
            tl = [x for _, x in top_level(stmt)]
            is_type = any(x in TYPE_KEYS for x in tl[:4]) and "(" not in tl
            is_init = "=" in tl
            if not is_type and not is_init and "(" in tl:
                # A function's body ends its definition.
                add(declared(stmt + ["{"], body), anon, path)
                stmt = []
            else:
                if is_type:
                    add(declared(stmt + ["{"], body), anon, path)
                stmt = stmt + ["{", "}"]
            i = end + 1
            continue
        stmt.append(t)
        i += 1
    return found


def libraries_of(args):
    """[(name, [.cpp files])] from `--library NAME FILE...` arguments (a FILE
    may be a `;`-separated list), each file once, in the order given (CMake's
    SOURCES order; tools/unity_one_unit.py relies on it); None on a usage
    error."""
    libraries = []
    i = 0
    while i < len(args):
        if args[i] != "--library" or i + 1 >= len(args):
            return None
        name, files = args[i + 1], []
        i += 2
        while i < len(args) and args[i] != "--library":
            files += [f for f in args[i].split(";") if f.endswith(".cpp") and f not in files]
            i += 1
        libraries.append((name, files))
    return libraries or None


def main(argv):
    libraries = libraries_of(argv[1:])
    if libraries is None:
        print("usage: file_local_names.py --library NAME FILE... [--library NAME FILE...]...", file=sys.stderr)
        return 2
    repeats = 0
    for library, files in libraries:
        owners = {}
        aliases = {}
        for path in files:
            try:
                names = file_local_names(path)
            except OSError as e:
                print(f"file_local_names: cannot read {path}: {e.strerror}", file=sys.stderr)
                return 2
            for key, alias_of in names.items():
                owners.setdefault(key, []).append(path)
                aliases.setdefault(key, set()).add(alias_of)
        for key in sorted(owners):
            if len(owners[key]) < 2:
                continue
            # Aliases of one type may repeat (C++ allows it); nothing else may.
            if len(aliases[key]) == 1 and None not in aliases[key]:
                continue
            ns, name = key
            shown = ", ".join(os.path.relpath(p) for p in owners[key])
            print(f"{library}: {ns + '::' if ns else ''}{name} in {shown}")
            repeats += 1
    if repeats:
        print(f"{repeats} file-local name(s) defined in two files of one library: "
              "a unity build (GF_UNITY_LIBRARIES) would make them one")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
