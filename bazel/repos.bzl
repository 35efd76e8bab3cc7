"""Repository rules that wire Debian's packages into the workspace without downloading anything."""

def _patched_local_repository_impl(rctx):
    result = rctx.execute(["cp", "-r", rctx.attr.path + "/.", "."])
    if result.return_code != 0:
        fail("copying %s failed: %s" % (rctx.attr.path, result.stderr))
    for patch in rctx.attr.patches:
        rctx.patch(patch, strip = 1)

patched_local_repository = repository_rule(
    implementation = _patched_local_repository_impl,
    attrs = {
        "path": attr.string(mandatory = True, doc = "Absolute path of the directory to copy."),
        "patches": attr.label_list(doc = "Patches applied with strip = 1, in order."),
    },
    doc = "A local_repository copied into the output base, then patched.",
)

def _stub_repository_impl(rctx):
    rctx.file("WORKSPACE", "")
    rctx.file("BUILD.bazel", rctx.attr.build_file_content)

stub_repository = repository_rule(
    implementation = _stub_repository_impl,
    attrs = {"build_file_content": attr.string(mandatory = True)},
    doc = "A repository made of one BUILD file, for implicit dependencies that must not download.",
)

def _pkg_config(rctx, modules, flag):
    result = rctx.execute(["pkg-config", flag] + modules)
    if result.return_code != 0:
        fail("pkg-config %s %s failed (run scripts/setup.sh): %s" %
             (flag, " ".join(modules), result.stderr))
    return [word for word in result.stdout.strip().split(" ") if word]

def _dedup(items):
    seen = {}
    out = []
    for item in items:
        if item not in seen:
            seen[item] = True
            out.append(item)
    return out

def _system_libs_impl(rctx):
    build = ['package(default_visibility = ["//visibility:public"])', ""]
    include_count = 0
    for name, modules in rctx.attr.libs.items():
        linkopts = _dedup(_pkg_config(rctx, modules, "--libs"))
        defines = [f[2:] for f in _dedup(_pkg_config(rctx, modules, "--cflags-only-other")) if f.startswith("-D")]
        includes = []
        for flag in _dedup(_pkg_config(rctx, modules, "--cflags-only-I")):
            directory = flag[2:]

            # GCC's default search path; re-adding it as -isystem could put Debian's OpenSSL
            # headers ahead of BoringSSL's.
            if directory in ("/usr/include", "/usr/include/x86_64-linux-gnu"):
                continue
            link = "inc%d" % include_count
            include_count += 1
            rctx.symlink(directory, link)
            includes.append(link)
        build.append("cc_library(")
        build.append("    name = %r," % name)
        build.append("    hdrs = glob([%s])," % ", ".join(['"%s/**"' % i for i in includes]))
        build.append("    includes = %r," % includes)
        build.append("    defines = %r," % defines)
        build.append("    linkopts = %r," % linkopts)
        build.append(")")
        build.append("")
    for name, libs in rctx.attr.plain_libs.items():
        build.append("cc_library(name = %r, linkopts = %r, deps = %r)" %
                     (name, ["-l" + lib for lib in libs], [":" + d for d in rctx.attr.plain_lib_deps.get(name, [])]))
    for name in rctx.attr.header_only:
        build.append("cc_library(name = %r)" % name)
    rctx.file("WORKSPACE", "")
    rctx.file("BUILD.bazel", "\n".join(build) + "\n")

system_libs = repository_rule(
    implementation = _system_libs_impl,
    attrs = {
        "libs": attr.string_list_dict(doc = "target name -> pkg-config modules."),
        "plain_libs": attr.string_list_dict(doc = "target name -> libraries without a .pc file."),
        "plain_lib_deps": attr.string_list_dict(doc = "plain_libs target -> targets of this repository it needs."),
        "header_only": attr.string_list(doc = "targets for header-only libraries under /usr/include."),
    },
    doc = "cc_library targets for Debian's -dev packages, from pkg-config at fetch time. " +
          "After an apt upgrade: bazel sync --only=system_libs.",
)
