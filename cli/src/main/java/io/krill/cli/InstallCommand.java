package io.krill.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code krill install}: install tree, shim on containerd's PATH, krill's runtime in containerd's
 * config, a default {@code /etc/krill/config.toml}, the systemd unit (never enabled). Every step is
 * idempotent; the config is the last thing written, so containerd never sees a runtime whose shim
 * is not there yet.
 */
@Command(
    name = "install",
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = "put krill on this node and add its runtime to containerd's config")
final class InstallCommand implements Callable<Integer> {
  private final Console console;

  @Mixin Options.NodeOptions where;

  @Option(
      names = "--containerd",
      paramLabel = "BIN",
      description = "the containerd binary to ask for its config version (default: on PATH)")
  String containerd;

  @Option(
      names = "--handler",
      paramLabel = "NAME",
      defaultValue = "krill",
      description = "the runtime handler name in containerd's config (default: krill)")
  String handler;

  @Option(
      names = "--dry-run",
      description = "print what would be done and the config diff; change nothing")
  boolean dryRun;

  @Mixin Options.Help help;

  InstallCommand(Console console) {
    this.console = console;
  }

  /** The edit {@code install} would make, worked out before anything is touched. */
  record ConfigPlan(Optional<String> before, String after, int version, String table) {
    boolean changes() {
      return before.isEmpty() || !before.get().equals(after);
    }
  }

  static ConfigPlan plan(Node node, String handler, Optional<String> containerdBin, Console console)
      throws IOException {
    Optional<String> before = AtomicFile.read(node.containerdConfig());
    ContainerdConfig current = new ContainerdConfig(before.orElse(""));
    current.parse();
    ContainerdConfig base = current.withoutBlock();
    JsonNode baseDoc = base.parse();
    int version;
    boolean declare = false;
    if (baseDoc.has("version")) {
      version = baseDoc.get("version").asInt();
    } else if (baseDoc.isEmpty()) {
      ContainerdBinary bin =
          ContainerdBinary.find(containerdBin, node, console.env())
              .orElseThrow(
                  () ->
                      new Console.Refusal(
                          "no containerd config and no containerd binary to ask for its version; pass --containerd"));
      version = bin.configVersion();
      declare = true;
      console
          .out()
          .println(
              "containerd " + bin.version() + " (" + bin.path() + "): config version " + version);
    } else {
      throw new Console.Refusal(
          node.containerdConfig()
              + " has settings but no `version` key (a version 1 config);"
              + " convert it with `containerd config migrate` first");
    }
    String table = ContainerdConfig.runtimesTable(version) + "." + handler;
    if (ContainerdConfig.runtime(baseDoc, version, handler).isPresent()) {
      console
          .out()
          .println(
              "runtime "
                  + handler
                  + " is already configured outside krill's block; config left as is");
      return new ConfigPlan(before, current.text(), version, table);
    }
    String isolated = handler + ContainerdConfig.ISOLATED_SUFFIX;
    boolean withIsolated = ContainerdConfig.runtime(baseDoc, version, isolated).isEmpty();
    if (!withIsolated) {
      console
          .out()
          .println(
              "runtime " + isolated + " is already configured outside krill's block; kept as is");
    }
    ContainerdConfig after = current.withBlock(handler, version, declare, withIsolated);
    JsonNode runtime =
        ContainerdConfig.runtime(after.parse(), version, handler)
            .orElseThrow(
                () -> new Console.Refusal("internal error: edited config has no " + table));
    if (!ContainerdConfig.RUNTIME_TYPE.equals(runtime.path("runtime_type").asText())) {
      throw new Console.Refusal(
          "edited config does not give "
              + table
              + " runtime_type "
              + ContainerdConfig.RUNTIME_TYPE);
    }
    for (JsonNode d : baseDoc.path("disabled_plugins")) {
      if (d.asText().contains(".cri") || d.asText().equals("cri")) {
        console
            .err()
            .println(
                "warning: containerd config disables "
                    + d.asText()
                    + "; Kubernetes pods cannot use krill until it is enabled (ctr run --runtime still works)");
      }
    }
    return new ConfigPlan(before, after.text(), version, table);
  }

  @Override
  public Integer call() throws Exception {
    Node node = where.node();
    if (!handler.matches("[A-Za-z0-9_-]+")) {
      throw new IllegalArgumentException("--handler must be letters, digits, - or _");
    }
    ConfigPlan plan = plan(node, handler, Optional.ofNullable(containerd), console);
    boolean copyTree = !sameFile(console.home(), node.installTree());
    if (dryRun) {
      List<String> steps = new ArrayList<>();
      if (copyTree) {
        steps.add("copy " + console.home() + " to " + node.installTree());
      }
      steps.add(
          "link "
              + node.shimLink()
              + ", "
              + node.isolatedShimLink()
              + " and "
              + node.cliLink()
              + " into "
              + node.installTree()
              + "/bin");
      if (!Files.exists(node.krillConfig())) {
        steps.add("write default " + node.krillConfig());
      }
      steps.add("write " + node.systemdUnit() + " (not enabled)");
      steps.forEach(s -> console.out().println("would " + s));
      String diff =
          UnifiedDiff.of(
              node.containerdConfig().toString(),
              plan.before().orElse(""),
              node.containerdConfig().toString(),
              plan.after());
      console
          .out()
          .print(
              plan.changes()
                  ? diff.isEmpty() ? "would create an empty config\n" : diff
                  : "containerd config already has runtime " + handler + "\n");
      return 0;
    }
    if (copyTree) {
      InstallTree.copy(console.home(), node.installTree());
      console.out().println("copied krill to " + node.installTree());
    }
    InstallTree.link(node.shimLink(), node.installTree().resolve("bin").resolve(Node.SHIM));
    // containerd runs a shim by the name its runtime_type gives, and the launcher reads that name.
    InstallTree.link(
        node.isolatedShimLink(), node.installTree().resolve("bin").resolve(Node.ISOLATED_SHIM));
    InstallTree.link(node.cliLink(), node.installTree().resolve("bin/krill"));
    console.out().println("linked " + node.shimLink() + " and " + node.isolatedShimLink());
    if (!Files.exists(node.krillConfig())) {
      AtomicFile.write(node.krillConfig(), resource("config.toml"));
      console.out().println("wrote " + node.krillConfig());
    }
    // Always rewritten: the unit's ExecStart must match the release just installed.
    AtomicFile.write(node.systemdUnit(), resource("systemd/" + Node.UNIT));
    console
        .out()
        .println(
            "wrote "
                + node.systemdUnit()
                + " (not enabled; to keep a daemon warm for the pods of"
                + " this node: systemctl daemon-reload && systemctl enable --now krill@k8s.io)");
    if (plan.changes()) {
      if (plan.before().isPresent()) {
        AtomicFile.write(node.backup(), plan.before().get());
      }
      AtomicFile.write(node.containerdConfig(), plan.after());
      console
          .out()
          .println(
              "added ["
                  + plan.table()
                  + "] to "
                  + node.containerdConfig()
                  + (plan.before().isPresent() ? " (previous file: " + node.backup() + ")" : ""));
      console.out().println("restart containerd to load it, e.g. systemctl restart containerd");
    } else {
      console
          .out()
          .println(
              "containerd config already has runtime "
                  + handler
                  + " ("
                  + node.containerdConfig()
                  + ")");
    }
    console.out().println("\nFor Kubernetes, apply these RuntimeClasses once per cluster:\n");
    console
        .out()
        .print(
            resource("runtimeclass.yaml")
                .replace("krill-isolated", handler + ContainerdConfig.ISOLATED_SUFFIX)
                .replace("handler: krill\n", "handler: " + handler + "\n"));
    return 0;
  }

  private static boolean sameFile(Path a, Path b) {
    try {
      return Files.exists(b) && Files.isSameFile(a, b);
    } catch (IOException e) {
      return false;
    }
  }

  static String resource(String name) throws IOException {
    try (InputStream in = InstallCommand.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IOException("missing resource " + name + " in the krill CLI jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
