"""cc_grpc_library: C++ gRPC stubs from a proto_library, with Debian's protoc and grpc_cpp_plugin."""

def _grpc_stubs_impl(ctx):
    info = ctx.attr.proto[ProtoInfo]
    outputs_h = []
    outputs_cc = []
    import_paths = []
    for src in info.direct_sources:
        path = src.short_path
        if path.startswith("../"):
            fail("cc_grpc_library supports only protos of the main repository: %s" % path)
        if not path.startswith(ctx.label.package + "/"):
            fail("cc_grpc_library must be in the package of its .proto files: %s" % path)
        import_paths.append(path)
        stem = path[len(ctx.label.package) + 1:][:-len(".proto")]
        outputs_h.append(ctx.actions.declare_file(stem + ".grpc.pb.h"))
        outputs_cc.append(ctx.actions.declare_file(stem + ".grpc.pb.cc"))
    descriptor_sets = info.transitive_descriptor_sets.to_list()
    args = ctx.actions.args()
    args.add("--plugin=protoc-gen-grpc=" + ctx.executable._plugin.path)
    args.add("--grpc_out=" + ctx.bin_dir.path)
    args.add("--descriptor_set_in=" + ":".join([d.path for d in descriptor_sets]))
    args.add_all(import_paths)
    ctx.actions.run(
        executable = ctx.executable._protoc,
        arguments = [args],
        inputs = descriptor_sets,
        tools = [ctx.executable._plugin],
        outputs = outputs_h + outputs_cc,
        mnemonic = "GrpcCppStubs",
        progress_message = "Generating gRPC stubs for %s" % ctx.label,
    )
    return [
        DefaultInfo(files = depset(outputs_h + outputs_cc)),
        OutputGroupInfo(hdrs = depset(outputs_h), srcs = depset(outputs_cc)),
    ]

_grpc_stubs = rule(
    implementation = _grpc_stubs_impl,
    attrs = {
        "proto": attr.label(mandatory = True, providers = [ProtoInfo]),
        "_protoc": attr.label(
            default = "@com_google_protobuf//:protoc",
            executable = True,
            cfg = "exec",
        ),
        "_plugin": attr.label(
            default = "@com_google_protobuf//:grpc_cpp_plugin",
            executable = True,
            cfg = "exec",
        ),
    },
)

def cc_grpc_library(name, proto, cc_proto, visibility = None, testonly = None):
    """C++ gRPC service stubs for `proto`, linked against `cc_proto` and Debian's grpc++.

    Must be declared in the same package as the .proto files, which must not use strip_import_prefix.

    Args:
      name: the cc_library with the stubs (`<file>.grpc.pb.h`).
      proto: the proto_library with the services.
      cc_proto: the cc_proto_library of `proto`.
      visibility: visibility of the cc_library.
      testonly: whether the targets are testonly.
    """
    _grpc_stubs(name = name + "_gen", proto = proto, testonly = testonly)
    native.filegroup(name = name + "_hdrs", srcs = [":" + name + "_gen"], output_group = "hdrs", testonly = testonly)
    native.filegroup(name = name + "_srcs", srcs = [":" + name + "_gen"], output_group = "srcs", testonly = testonly)
    native.cc_library(
        name = name,
        srcs = [":" + name + "_srcs"],
        hdrs = [":" + name + "_hdrs"],
        deps = [cc_proto, "@system_libs//:grpcpp"],
        visibility = visibility,
        testonly = testonly,
    )
