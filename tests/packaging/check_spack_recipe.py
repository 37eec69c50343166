#!/usr/bin/env python3
"""Checks that package.py (the Spack recipe) agrees with the CMake files, without Spack.

package.py is read with Python's ast (never imported); the CMake files are read as text. Checked:
  - every define_from_variant(VAR, variant) names a variant of the recipe and an option(VAR) of
    the CMake files; every self.define("RANKPOOL_...") names an option; every variant is passed
    to CMake; every option(RANKPOOL_BUILD_...) is set by cmake_args;
  - every find_package(X) and pkg_check_modules(... x ...) in the CMake files has a depends_on
    (through PACKAGE_MAP below), of the right kind: a package found only under tests/ is
    type="test", Google benchmark is when="+benchmarks", a build tool is type "build";
  - every depends_on (but the compiler and CMake themselves) comes from something CMake finds;
  - a minimum version in CMake (find_package(X 3), hwloc>=2, cmake_minimum_required) is also the
    recipe's lower bound (@3:).
Usage: check_spack_recipe.py [SOURCE_ROOT]   (default: the repository this file is in)
       check_spack_recipe.py --self-test     (the checks catch drift, on mutated copies)
"""
import ast
import os
import re
import shutil
import sys
import tempfile

# CMake package (find_package name, or pkg-config module) -> Spack package; None: nothing to
# depend on (part of the system or of CMake itself). A package missing here fails the check, so
# that whoever adds one decides what it maps to.
PACKAGE_MAP = {
    "MPI": "mpi",
    "cereal": "cereal",
    "CLI11": "cli11",
    "hwloc": "hwloc",
    "GTest": "googletest",
    "benchmark": "benchmark",
    "nlohmann_json": "nlohmann-json",
    "PkgConfig": "pkgconfig",
    "Python3": "python",
    "Threads": None,
    # Not used by rankpool today; mapped so that the self-test has a known package that
    # package.py lacks (every package rankpool finds is a depends_on now).
    "Boost": "boost",
}
# Spack packages that are build tools: their depends_on must include type "build".
BUILD_TOOLS = {"pkgconfig"}
# depends_on that no find_package stands for: the compiler, and CMake (cmake_minimum_required).
IMPLICIT_DEPENDENCIES = {"cxx", "c", "cmake"}
# Not part of rankpool's build: hidden directories, build trees (build*/ at the top), and the
# stand-alone consumer projects of the install tests (they find_package(rankpool) itself).
SKIP_PATHS = {os.path.join("tests", "install")}


# ---- package.py ---------------------------------------------------------------------------------


def literal(node):
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def call_name(node):
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return None


def parse_recipe(path):
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    classes = [
        n
        for n in tree.body
        if isinstance(n, ast.ClassDef)
        and any(isinstance(b, ast.Name) and b.id == "CMakePackage" for b in n.bases)
    ]
    if len(classes) != 1:
        raise SystemExit(f"{path}: expected one class deriving from CMakePackage")
    cls = classes[0]
    recipe = {"class": cls.name, "variants": {}, "depends": [], "from_variant": [], "define": []}
    recipe["docstring"] = ast.get_docstring(cls)
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    recipe[target.id] = literal(stmt.value)
        if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
            continue
        call = stmt.value
        kwargs = {k.arg: literal(k.value) for k in call.keywords}
        args = [literal(a) for a in call.args]
        name = call_name(call)
        if name == "variant":
            recipe["variants"][args[0]] = kwargs
        elif name == "depends_on":
            spec = args[0]
            m = re.match(r"[a-z0-9][a-z0-9-]*", spec)
            types = kwargs.get("type", ("build", "link"))
            types = (types,) if isinstance(types, str) else tuple(types)
            recipe["depends"].append(
                {"spec": spec, "name": m.group(0), "type": types, "when": kwargs.get("when", "")}
            )
    cmake_args = [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "cmake_args"]
    if not cmake_args:
        raise SystemExit(f"{path}: class {cls.name} has no cmake_args()")
    for node in ast.walk(cmake_args[0]):
        if isinstance(node, ast.Call) and call_name(node) in ("define_from_variant", "define"):
            key = "from_variant" if call_name(node) == "define_from_variant" else "define"
            recipe[key].append([literal(a) for a in node.args])
    return recipe


# ---- the CMake files ----------------------------------------------------------------------------


def cmake_files(root):
    for directory, subdirs, files in os.walk(root):
        rel = os.path.relpath(directory, root)
        subdirs[:] = sorted(
            d
            for d in subdirs
            if not d.startswith(".")
            and not (rel == "." and d.startswith("build"))
            and os.path.normpath(os.path.join(rel, d)) not in SKIP_PATHS
        )
        for name in sorted(files):
            if name == "CMakeLists.txt" or name.endswith(".cmake"):
                yield os.path.join(directory, name)


def strip_comments(text):
    # Bracket comments are not used in this project; line comments are.
    return re.sub(r"#[^\n]*", "", text)


def version_tuple(text):
    return tuple(int(x) for x in text.split("."))


def parse_cmake(root):
    found = {}  # CMake package -> {"files": [...], "min": version tuple or None}
    options = set()
    cmake_min = None
    pkg_keywords = {"REQUIRED", "QUIET", "IMPORTED_TARGET", "GLOBAL", "NO_CMAKE_PATH",
                    "NO_CMAKE_ENVIRONMENT_PATH"}
    for path in cmake_files(root):
        rel = os.path.relpath(path, root)
        with open(path, encoding="utf-8") as f:
            text = strip_comments(f.read())
        for m in re.finditer(r"\b(\w+)\s*\(([^)]*)\)", text):
            command, args = m.group(1).lower(), m.group(2).split()
            if not args:
                continue
            entries = []
            if command == "option":
                options.add(args[0])
            elif command == "cmake_minimum_required" and args[0] == "VERSION":
                cmake_min = max(cmake_min or (), version_tuple(args[1].split("...")[0]))
            elif command == "find_package":
                minimum = None
                if len(args) > 1 and re.fullmatch(r"\d+(\.\d+)*", args[1]):
                    minimum = version_tuple(args[1])
                entries.append((args[0], minimum))
            elif command in ("pkg_check_modules", "pkg_search_module"):
                for module in args[1:]:
                    if module in pkg_keywords:
                        continue
                    mm = re.fullmatch(r"([A-Za-z0-9_.+-]+?)(?:>=(\d+(?:\.\d+)*)|[<>=]=?.*)?", module)
                    minimum = version_tuple(mm.group(2)) if mm and mm.group(2) else None
                    entries.append((mm.group(1) if mm else module, minimum))
            for package, minimum in entries:
                entry = found.setdefault(package, {"files": [], "min": None})
                entry["files"].append(rel)
                if minimum and (entry["min"] is None or minimum > entry["min"]):
                    entry["min"] = minimum
    return found, options, cmake_min


# ---- the checks ---------------------------------------------------------------------------------


def spec_minimum(spec):
    m = re.search(r"@(\d+(?:\.\d+)*):", spec)
    return version_tuple(m.group(1)) if m else None


def check(root):
    problems = []
    recipe_path = os.path.join(root, "package.py")
    recipe = parse_recipe(recipe_path)
    found, options, cmake_min = parse_cmake(root)

    # Recipe style: what `spack info` shows and what fetches the code.
    if recipe["class"] != "Rankpool":
        problems.append(f"the recipe's class is {recipe['class']}, Spack expects Rankpool")
    for field in ("docstring", "homepage", "git"):
        if not recipe.get(field):
            problems.append(f"package.py has no {field}")

    # Variants and options.
    used_variants = set()
    for args in recipe["from_variant"]:
        var, variant = args[0], args[1] if len(args) > 1 else None
        used_variants.add(variant)
        if variant not in recipe["variants"]:
            problems.append(f'cmake_args uses variant "{variant}", which package.py does not declare')
        if var not in options:
            problems.append(f"cmake_args sets {var} from a variant; no option({var}) in CMake")
    for args in recipe["define"]:
        if args[0].startswith("RANKPOOL_") and args[0] not in options:
            problems.append(f"cmake_args sets {args[0]}; no option({args[0]}) in CMake")
    for variant in recipe["variants"]:
        if variant not in used_variants:
            problems.append(f'variant "{variant}" is not passed to CMake in cmake_args')
    set_by_recipe = {a[0] for a in recipe["from_variant"] + recipe["define"]}
    for option in sorted(options):
        if option.startswith("RANKPOOL_BUILD_") and option not in set_by_recipe:
            problems.append(f"option({option}) is not set by package.py's cmake_args")

    # Dependencies, CMake -> recipe.
    depends = {}
    for dep in recipe["depends"]:
        depends.setdefault(dep["name"], []).append(dep)
    wanted = set()
    for package, entry in sorted(found.items()):
        if package not in PACKAGE_MAP:
            problems.append(
                f"CMake finds {package} ({', '.join(entry['files'])}); add it to PACKAGE_MAP in "
                f"{os.path.relpath(__file__, root)} and a depends_on to package.py"
            )
            continue
        spack_name = PACKAGE_MAP[package]
        if spack_name is None:
            continue
        wanted.add(spack_name)
        if spack_name not in depends:
            problems.append(
                f'CMake finds {package} ({", ".join(entry["files"])}) but package.py has no '
                f'depends_on("{spack_name}")'
            )
            continue
        deps = depends[spack_name]
        test_only = all(f.startswith("tests" + os.sep) for f in entry["files"])
        if spack_name == "benchmark":
            if not all("+benchmarks" in d["when"] for d in deps):
                problems.append('depends_on("benchmark") must be conditional: when="+benchmarks"')
        elif spack_name in BUILD_TOOLS:
            if not all("build" in d["type"] for d in deps):
                problems.append(f'depends_on("{spack_name}") is a build tool: type must have "build"')
        elif test_only:
            if not all(d["type"] == ("test",) for d in deps):
                problems.append(
                    f'{package} is found only by the tests; depends_on("{spack_name}") must be '
                    'type="test"'
                )
        elif any(d["type"] == ("test",) or d["when"] for d in deps):
            problems.append(
                f"{package} is found by the build ({', '.join(entry['files'])}); "
                f'depends_on("{spack_name}") must be unconditional and not type="test"'
            )
        minimum = entry["min"]
        if minimum:
            for d in deps:
                got = spec_minimum(d["spec"])
                if got is None or got < minimum:
                    want = ".".join(map(str, minimum))
                    problems.append(
                        f'CMake needs {package} >= {want}; package.py says "{d["spec"]}" '
                        f'(want "{spack_name}@{want}:")'
                    )

    # Dependencies, recipe -> CMake.
    for name, deps in sorted(depends.items()):
        if name in IMPLICIT_DEPENDENCIES:
            continue
        if name not in wanted:
            problems.append(f'package.py depends_on("{name}"), but no CMake file finds it')
    if cmake_min:
        want = ".".join(map(str, cmake_min))
        cmake_specs = [d["spec"] for d in depends.get("cmake", [])]
        if not any((spec_minimum(s) or ()) >= cmake_min for s in cmake_specs):
            problems.append(f'cmake_minimum_required is {want}; package.py wants "cmake@{want}:"')
    return problems


# ---- self-test: each kind of drift is caught ----------------------------------------------------


def self_test():
    source = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if check(source):
        raise SystemExit("self-test: the real tree must pass first (run without --self-test)")

    def mutated(edit_file, old, new):
        with tempfile.TemporaryDirectory() as tmp:
            for path in list(cmake_files(source)) + [os.path.join(source, "package.py")]:
                dest = os.path.join(tmp, os.path.relpath(path, source))
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                shutil.copy(path, dest)
            target = os.path.join(tmp, edit_file)
            with open(target, encoding="utf-8") as f:
                text = f.read()
            if old not in text:
                raise SystemExit(f"self-test: {old!r} not in {edit_file}")
            with open(target, "w", encoding="utf-8") as f:
                f.write(text.replace(old, new, 1))
            return check(tmp)

    top_find = "find_package(MPI REQUIRED COMPONENTS CXX)"
    cases = [
        ("a new find_package", "CMakeLists.txt", top_find,
         top_find + "\nfind_package(Boost REQUIRED)", 'no depends_on("boost")'),
        ("an unmapped find_package", "CMakeLists.txt", top_find,
         top_find + "\nfind_package(ZLIB REQUIRED)", "CMake finds ZLIB"),
        ("a new pkg-config module", "CMakeLists.txt", top_find,
         top_find + "\npkg_check_modules(nlohmann_json REQUIRED nlohmann_json>=4)",
         "CMake needs nlohmann_json >= 4"),
        ("a dropped depends_on", "package.py", '    depends_on("cereal")\n', "", 'no depends_on("cereal")'),
        ("a stale depends_on", "package.py", 'depends_on("cereal")',
         'depends_on("cereal")\n    depends_on("zlib")', 'depends_on("zlib"), but no CMake'),
        ("a test dependency not type=test", "package.py", 'depends_on("googletest", type="test")',
         'depends_on("googletest")', 'depends_on("googletest") must be type="test"'),
        ("a variant without an option", "package.py", '"RANKPOOL_BUILD_APPS", "apps"',
         '"RANKPOOL_BUILD_EXAMPLES", "apps"', "no option(RANKPOOL_BUILD_EXAMPLES)"),
        ("an undeclared variant", "package.py", 'variant("apps"', 'variant("examples"',
         'variant "apps", which package.py does not declare'),
        ("a new build option", "CMakeLists.txt", "option(RANKPOOL_WERROR",
         'option(RANKPOOL_BUILD_DOCS "docs" OFF)\noption(RANKPOOL_WERROR',
         "option(RANKPOOL_BUILD_DOCS) is not set"),
    ]
    failed = 0
    for what, edit_file, old, new, expected in cases:
        problems = mutated(edit_file, old, new)
        ok = any(expected in p for p in problems)
        failed += not ok
        print(f"{'ok  ' if ok else 'MISS'} {what}: {problems if not ok else expected}")
    if failed:
        raise SystemExit(f"self-test: {failed} kind(s) of drift not caught")
    print(f"self-test: all {len(cases)} kinds of drift caught")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    root = os.path.abspath(root)
    problems = check(root)
    found, options, _ = parse_cmake(root)
    print(f"package.py against {len(list(cmake_files(root)))} CMake files: found "
          f"{', '.join(sorted(found))}; options {', '.join(sorted(options))}")
    for p in problems:
        print(f"package.py drift: {p}")
    if problems:
        raise SystemExit(1)
    print("package.py agrees with the CMake files")


if __name__ == "__main__":
    main()
