package io.krill.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.krill.daemon.DaemonConfigFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code krill doctor}: checks a node's krill setup, one ok/FAIL line each with the fix. */
@Command(
    name = "doctor",
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = "check that containerd, its config and krill fit together on this node")
final class DoctorCommand implements Callable<Integer> {
  record Check(String name, boolean ok, String detail, String fix) {}

  private final Console console;

  @Mixin Options.NodeOptions where;

  @Option(
      names = "--containerd",
      paramLabel = "BIN",
      description = "the containerd binary (default: on PATH)")
  String containerd;

  @Option(
      names = "--address",
      paramLabel = "SOCK",
      defaultValue = "/run/containerd/containerd.sock",
      description = "containerd's socket (default: /run/containerd/containerd.sock)")
  String address;

  @Option(
      names = "--handler",
      paramLabel = "NAME",
      defaultValue = "krill",
      description = "the runtime handler name in containerd's config (default: krill)")
  String handler;

  @Mixin Options.Help help;

  DoctorCommand(Console console) {
    this.console = console;
  }

  @Override
  public Integer call() {
    Node node = where.node();
    List<Check> checks = checks(node, console);
    for (Check c : checks) {
      console.out().printf("%-5s %s: %s%n", c.ok ? "ok" : "FAIL", c.name, c.detail);
      if (!c.ok) {
        console.out().println("      fix: " + c.fix);
      }
    }
    long failed = checks.stream().filter(c -> !c.ok).count();
    console.out().println(failed == 0 ? "all checks passed" : failed + " check(s) failed");
    return failed == 0 ? 0 : 1;
  }

  private List<Check> checks(Node node, Console console) {
    List<Check> out = new ArrayList<>();
    String uid = NodeFacts.uid();
    out.add(
        new Check(
            "root", uid.equals("0"), "uid " + uid, "run krill doctor (and containerd) as root"));
    Optional<ContainerdBinary> bin = Optional.empty();
    try {
      bin = ContainerdBinary.find(Optional.ofNullable(containerd), node, console.env());
      out.add(
          bin.map(b -> new Check("containerd", true, b.version() + " at " + b.path(), ""))
              .orElse(
                  new Check(
                      "containerd",
                      false,
                      "not found",
                      "install containerd or pass --containerd BIN")));
    } catch (Console.Refusal e) {
      out.add(
          new Check(
              "containerd", false, e.getMessage(), "pass a working containerd with --containerd"));
    }
    out.add(configCheck(node, bin, handler));
    Optional<Path> shim = NodeFacts.onPath(Node.SHIM, node, console.env());
    out.add(
        new Check(
            "shim on PATH",
            shim.isPresent(),
            shim.map(Path::toString).orElse("no " + Node.SHIM),
            "run krill install (it links " + node.shimLink() + ")"));
    Path java = console.home().resolve("jre/bin/java");
    out.add(
        new Check(
            "bundled java",
            Files.isExecutable(java),
            java.toString(),
            "reinstall from a krill release tarball or .deb (they bundle a Java runtime)"));
    Path jni = console.home().resolve("lib/native/libwasmtime_jni.so");
    String load = NodeFacts.tryLoad(jni);
    out.add(
        new Check(
            "wasmtime native library",
            load == null,
            load == null ? "loads: " + jni : load,
            "reinstall krill for this machine's architecture ("
                + System.getProperty("os.arch")
                + ")"));
    Path runDir = Path.of(console.env().getOrDefault("KRILL_RUN_DIR", "/run/krill"));
    String rd = NodeFacts.runDirState(runDir);
    out.add(
        new Check(
            "run dir",
            rd.startsWith("ok"),
            rd,
            "make " + runDir + " a writable directory for root"));
    Path sock = Path.of(address);
    out.add(
        new Check(
            "containerd socket",
            NodeFacts.isSocket(sock),
            sock.toString(),
            "start containerd (systemctl start containerd) or pass --address"));
    out.add(new Check("cgroups", true, NodeFacts.cgroupVersion(), ""));
    out.add(krillConfigCheck(node));
    return out;
  }

  static Check configCheck(Node node, Optional<ContainerdBinary> bin, String handler) {
    Path file = node.containerdConfig();
    String name = "containerd config";
    try {
      Optional<String> text = AtomicFile.read(file);
      if (text.isEmpty()) {
        return new Check(name, false, file + " does not exist", "run krill install");
      }
      JsonNode doc = new ContainerdConfig(text.get()).parse();
      int version = doc.path("version").asInt(1);
      if (version == 3 && bin.isPresent() && bin.get().major() < 2) {
        return new Check(
            name,
            false,
            "version 3 config but containerd " + bin.get().version(),
            "containerd 1.x needs a version 2 config: restore "
                + node.backup()
                + " or regenerate it");
      }
      if (version != 2 && version != 3) {
        return new Check(
            name,
            false,
            "config version " + version,
            "run containerd config migrate, then krill install");
      }
      Optional<JsonNode> rt = ContainerdConfig.runtime(doc, version, handler);
      String table = ContainerdConfig.runtimesTable(version) + "." + handler;
      if (rt.isEmpty()) {
        return new Check(
            name,
            false,
            "no [" + table + "] in " + file,
            "run krill install, then restart containerd");
      }
      String type = rt.get().path("runtime_type").asText();
      if (!ContainerdConfig.RUNTIME_TYPE.equals(type)) {
        return new Check(
            name,
            false,
            table + " has runtime_type " + type,
            "set runtime_type = \"" + ContainerdConfig.RUNTIME_TYPE + "\"");
      }
      return new Check(name, true, "version " + version + ", [" + table + "] in " + file, "");
    } catch (Exception e) {
      return new Check(name, false, e.getMessage(), "fix the TOML in " + file);
    }
  }

  private static Check krillConfigCheck(Node node) {
    Path file = node.krillConfig();
    if (!Files.exists(file)) {
      return new Check("krill config", true, file + " absent (defaults apply)", "");
    }
    try {
      DaemonConfigFile.parse(file, Files.readString(file));
      return new Check("krill config", true, file.toString(), "");
    } catch (Exception e) {
      return new Check(
          "krill config", false, e.getMessage(), "fix " + file + " (see docs/install.md)");
    }
  }
}
