package io.krill.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * {@code krill daemon}: the warm daemon of one containerd namespace, in the foreground, for a
 * service manager ({@code packaging/systemd/krill@.service}). {@code bin/krill} hands this command
 * (unless it asks for help) to the shim launcher before any CLI JVM starts, so the launcher
 * computes the socket and run dir exactly as for containerd's {@code start} and then execs the
 * daemon in place; {@link #call} only runs when the CLI is started some other way, and then the
 * daemon is a child of this JVM. The options here are the launcher's, for {@code --help} and for
 * refusing typos early.
 */
@Command(
    name = "daemon",
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = {
      "run a namespace's daemon in the foreground, never idle-exiting (systemd: krill@NS)",
      "(bin/krill has the shim launcher exec it in place, as containerd's start would spawn it)"
    })
final class DaemonCommand implements Callable<Integer> {
  private final Console console;

  @Option(
      names = "--namespace",
      paramLabel = "NS",
      description = "the containerd namespace (default: k8s.io)")
  String namespace;

  @Option(
      names = "--address",
      paramLabel = "SOCK",
      description = "containerd's socket (default: /run/containerd/containerd.sock)")
  String address;

  @Option(
      names = "--ttrpc-address",
      paramLabel = "ADDR.ttrpc",
      description =
          "containerd's ttrpc socket for events (default: $TTRPC_ADDRESS, else <address>.ttrpc)")
  String ttrpcAddress;

  @Option(names = "--debug", description = "log at debug level")
  boolean debug;

  @Option(
      names = "--dry-run",
      description = "print the socket, run dir and java command line; start nothing")
  boolean dryRun;

  @Mixin Options.Help help;

  DaemonCommand(Console console) {
    this.console = console;
  }

  /** The launcher's command line for these options; refuses options the launcher would refuse. */
  static List<String> launcherCommand(Path home, List<String> argv) {
    DaemonCommand c = new DaemonCommand(null);
    try {
      new CommandLine(c).parseArgs(argv.toArray(String[]::new));
    } catch (ParameterException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    return c.launcherCommand(home);
  }

  private List<String> launcherCommand(Path home) {
    List<String> cmd =
        new ArrayList<>(List.of(home.resolve("bin").resolve(Node.SHIM).toString(), "daemon"));
    if (namespace != null) {
      cmd.addAll(List.of("--namespace", namespace));
    }
    if (address != null) {
      cmd.addAll(List.of("--address", address));
    }
    if (ttrpcAddress != null) {
      cmd.addAll(List.of("--ttrpc-address", ttrpcAddress));
    }
    if (debug) {
      cmd.add("--debug");
    }
    if (dryRun) {
      cmd.add("--dry-run");
    }
    return cmd;
  }

  @Override
  public Integer call() throws Exception {
    Process p = new ProcessBuilder(launcherCommand(console.home())).inheritIO().start();
    // SIGTERM to this JVM must reach the daemon, which then removes its socket.
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  p.destroy();
                  try {
                    p.waitFor();
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                }));
    return p.waitFor();
  }
}
