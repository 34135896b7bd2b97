package io.krill.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code krill uninstall}: removes exactly what install added to containerd's config (the marked
 * block), krill's links from PATH and its systemd unit. The install tree and {@code /etc/krill}
 * stay, so running daemons are not pulled from under containerd; delete {@code /opt/krill} after a
 * restart.
 */
@Command(
    name = "uninstall",
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = "remove krill's runtime from containerd's config and the shim from PATH")
final class UninstallCommand implements Callable<Integer> {
  private final Console console;

  @Mixin Options.NodeOptions where;

  @Mixin Options.Help help;

  UninstallCommand(Console console) {
    this.console = console;
  }

  @Override
  public Integer call() throws Exception {
    Node node = where.node();
    Optional<String> text = AtomicFile.read(node.containerdConfig());
    if (text.isPresent() && new ContainerdConfig(text.get()).hasBlock()) {
      ContainerdConfig without = new ContainerdConfig(text.get()).withoutBlock();
      if (without.text().isEmpty()) {
        // Only krill's block was left: install created this file, so the node goes back to having
        // none.
        Files.delete(node.containerdConfig());
        console.out().println("removed " + node.containerdConfig() + " (krill had created it)");
      } else {
        without.parse();
        AtomicFile.write(node.containerdConfig(), without.text());
        console.out().println("removed krill's runtime from " + node.containerdConfig());
      }
      Optional<String> backup = AtomicFile.read(node.backup());
      if (backup.isPresent() && backup.get().equals(without.text())) {
        Files.delete(node.backup());
      }
      console.out().println("restart containerd to unload it, e.g. systemctl restart containerd");
    } else {
      console.out().println("no krill runtime block in " + node.containerdConfig());
    }
    for (Path link : List.of(node.shimLink(), node.isolatedShimLink(), node.cliLink())) {
      if (InstallTree.unlink(link)) {
        console.out().println("removed " + link);
      }
    }
    removeUnit(node, console);
    return 0;
  }

  /**
   * An enabled instance would be left pointing at nothing, so the unit stays until it is disabled.
   */
  private static void removeUnit(Node node, Console console) throws IOException {
    if (!Files.exists(node.systemdUnit())) {
      return;
    }
    List<String> enabled = enabledInstances(node.systemdUnit().getParent());
    if (!enabled.isEmpty()) {
      console
          .err()
          .println(
              "warning: left "
                  + node.systemdUnit()
                  + ": "
                  + String.join(", ", enabled)
                  + " still enabled; run systemctl disable --now "
                  + String.join(" ", enabled)
                  + ", then krill uninstall again");
      return;
    }
    Files.delete(node.systemdUnit());
    console.out().println("removed " + node.systemdUnit());
  }

  private static List<String> enabledInstances(Path systemDir) throws IOException {
    try (var wants =
        Files.find(
            systemDir,
            2,
            (p, a) ->
                p.getParent().getFileName().toString().endsWith(".wants")
                    && p.getFileName().toString().matches("krill@.+\\.service"))) {
      return wants.map(p -> p.getFileName().toString()).distinct().sorted().toList();
    }
  }
}
