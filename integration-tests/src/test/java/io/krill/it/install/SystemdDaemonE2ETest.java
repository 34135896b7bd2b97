package io.krill.it.install;

import static io.krill.it.harness.InstalledNode.must;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.Dist;
import io.krill.it.harness.Host;
import io.krill.it.harness.InstalledNode;
import io.krill.it.harness.Result;
import io.krill.it.harness.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The warm daemon of {@code krill@.service}, without systemd: {@code krill install} writes the
 * unit, its ExecStart is run from the installed tree (pointed at a private containerd), and
 * containerd's wasm tasks then run in that very process, which outlives its idle timeout and
 * removes its socket on SIGTERM.
 */
class SystemdDaemonE2ETest {
  private static final String NS = "warm";
  private static final int SIGTERM_EXIT = 128 + 15;

  @Test
  void unitExecStart_servesNamespaceNeverIdlesAndStopsCleanlyOnSigterm() throws Exception {
    ContainerdVersion version = ContainerdVersion.V1_7;
    try (InstalledNode node = new InstalledNode(version)) {
      String root = node.root().toString();
      Result install =
          node.krill("install", "--root", root, "--containerd", version.containerd().toString());
      must(0, install);
      assertTrue(
          install.stdout().contains("systemctl enable --now krill@k8s.io"), install.toString());
      Path unit = node.root().resolve("etc/systemd/system/krill@.service");
      assertEquals(
          Files.readString(Path.of("../packaging/systemd/krill@.service")), Files.readString(unit));
      // A daemon that honoured the file would leave 1 s after its last task.
      Path krillConfig = node.root().resolve("etc/krill/config.toml");
      Files.writeString(
          krillConfig,
          Files.readString(krillConfig).replace("idle_timeout = 30", "idle_timeout = 1"));
      node.startContainerd();

      List<String> execStart = execStart(Files.readString(unit));
      execStart.addAll(List.of("--address", node.socket().toString()));
      Path socket = daemonSocket(node, execStart);
      Path journal = node.dir().resolve("journal.log");
      Process daemon = node.startInstalled(execStart, journal);
      try {
        awaitListening(daemon, socket, journal);
        assertEquals(
            List.of(daemon.pid()),
            node.daemons().stream().map(Host.Proc::pid).toList(),
            "the started process is the daemon (exec'd in place)");

        Result second = InstalledNode.run(withEnv(node, execStart));
        assertEquals(1, second.exitCode(), second.toString());
        assertTrue(second.stderr().contains("already serves " + socket), second.toString());
        assertTrue(
            Files.exists(socket), "a refused daemon must leave the serving one's socket alone");

        must(0, node.ctr("-n", NS, "images", "import", TestImages.PROGS.tarball().toString()));
        String id = "warm-" + ProcessHandle.current().pid();
        must(
            0,
            node.ctr(
                "-n",
                NS,
                "run",
                "-d",
                "--runtime",
                Dist.RUNTIME,
                TestImages.PROGS.ref(),
                id,
                "/sleep.wasm",
                "300"));
        assertEquals(daemon.pid(), awaitTaskPid(node, id), "task pid is the unit's daemon");
        assertEquals(1, node.daemons().size(), "no second daemon spawned: " + node.daemons());
        must(0, node.ctr("-n", NS, "task", "kill", "-s", "SIGKILL", id));
        awaitNoTask(node, id);
        must(0, node.ctr("-n", NS, "container", "rm", id));

        Host.sleep(4000);
        assertTrue(daemon.isAlive(), "daemon left when idle:\n" + Files.readString(journal));
        assertTrue(
            Files.readString(journal).contains("serving namespace " + NS),
            "logs reach stdout/stderr");

        daemon.destroy();
        assertTrue(daemon.waitFor(30, TimeUnit.SECONDS), "daemon ignored SIGTERM");
        assertEquals(SIGTERM_EXIT, daemon.exitValue());
        assertFalse(Files.exists(socket), "socket left after SIGTERM");
      } finally {
        daemon.destroyForcibly();
      }
      node.stopContainerd();
      must(0, node.krill("uninstall", "--root", root));
      assertFalse(Files.exists(unit), "uninstall removes the unit");
    }
  }

  /**
   * The unit's ExecStart for instance {@value #NS}, split as systemd splits it (no quoting used).
   */
  private static List<String> execStart(String unit) {
    String line = unit.lines().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow();
    return new ArrayList<>(
        Arrays.asList(line.substring("ExecStart=".length()).replace("%i", NS).split(" ")));
  }

  private static Path daemonSocket(InstalledNode node, List<String> execStart) {
    List<String> dry = new ArrayList<>(execStart);
    dry.add("--dry-run");
    Result r = InstalledNode.run(withEnv(node, dry));
    must(0, r);
    return Path.of(r.stdoutLines().get(0).replaceFirst("^socket ", ""));
  }

  private static List<String> withEnv(InstalledNode node, List<String> argv) {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "env",
                "-i",
                "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                "KRILL_RUN_DIR=" + node.runDir(),
                "KRILL_CONFIG=" + node.root().resolve("etc/krill/config.toml")));
    cmd.add(node.root().resolve(argv.get(0).replaceFirst("^/", "")).toString());
    cmd.addAll(argv.subList(1, argv.size()));
    return cmd;
  }

  private static void awaitListening(Process daemon, Path socket, Path journal) throws Exception {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (!Files.exists(socket)) {
      if (!daemon.isAlive() || System.nanoTime() > deadline) {
        fail("daemon not listening on " + socket + ":\n" + Files.readString(journal));
      }
      Host.sleep(100);
    }
  }

  private static long awaitTaskPid(InstalledNode node, String id) {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (System.nanoTime() < deadline) {
      for (String line : node.ctr("-n", NS, "tasks", "ls").stdoutLines()) {
        String[] f = line.trim().split("\\s+");
        if (f.length >= 3 && f[0].equals(id) && f[2].equals("RUNNING")) {
          return Long.parseLong(f[1]);
        }
      }
      Host.sleep(100);
    }
    fail("task " + id + " never RUNNING:\n" + node.logTail());
    return -1;
  }

  private static void awaitNoTask(InstalledNode node, String id) {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (System.nanoTime() < deadline) {
      boolean stopped =
          node.ctr("-n", NS, "tasks", "ls").stdoutLines().stream()
              .map(l -> l.trim().split("\\s+"))
              .anyMatch(f -> f.length >= 3 && f[0].equals(id) && f[2].equals("STOPPED"));
      if (stopped) {
        must(0, node.ctr("-n", NS, "task", "rm", id));
        return;
      }
      Host.sleep(100);
    }
    fail("task " + id + " never STOPPED:\n" + node.logTail());
  }
}
