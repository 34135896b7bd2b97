package io.krill.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code krill daemon}: the warm daemon of one containerd namespace, in the foreground, for a
 * service manager ({@code packaging/systemd/krill@.service}). {@code bin/krill} hands this command
 * to the shim launcher before any CLI JVM starts, so the launcher computes the socket and run dir
 * exactly as for containerd's {@code start} and then execs the daemon in place; this class only
 * runs when the CLI is started some other way, and then the daemon is a child of this JVM.
 */
final class DaemonCommand implements Command {
  static final Set<String> VALUES = Set.of("namespace", "address", "ttrpc-address");
  static final Set<String> FLAGS = Set.of("debug", "dry-run");

  @Override
  public String name() {
    return "daemon";
  }

  @Override
  public String summary() {
    return "run a namespace's daemon in the foreground, never idle-exiting (systemd: krill@NS)";
  }

  @Override
  public String usage() {
    return "[--namespace k8s.io] [--address /run/containerd/containerd.sock] [--ttrpc-address ADDR.ttrpc]"
        + " [--debug] [--dry-run]";
  }

  /** The launcher's command line for these options; refuses options the launcher would refuse. */
  static List<String> launcherCommand(Path home, List<String> argv) {
    Args.parse(argv, VALUES, FLAGS);
    List<String> cmd = new ArrayList<>(List.of(home.resolve("bin").resolve(Node.SHIM).toString(), "daemon"));
    cmd.addAll(argv);
    return cmd;
  }

  @Override
  public int run(List<String> argv, Console console) throws Exception {
    Process p = new ProcessBuilder(launcherCommand(console.home(), argv)).inheritIO().start();
    // SIGTERM to this JVM must reach the daemon, which then removes its socket.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
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
