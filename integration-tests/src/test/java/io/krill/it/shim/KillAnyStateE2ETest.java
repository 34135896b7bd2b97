package io.krill.it.shim;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CtrProcess;
import io.krill.it.harness.Host;
import io.krill.it.harness.Result;
import io.krill.it.harness.Tasks;
import io.krill.it.harness.TestImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A kill stops a guest in any state on either engine — spinning in wasm, sleeping in {@code
 * poll_oneoff}, blocked reading a stdin nobody writes, blocked writing a stdout FIFO nobody reads,
 * blocked in {@code sock_accept} on a {@code krill.io/listen} socket — with exit status 137, and
 * once the task is deleted the daemon holds nothing of it: its guest thread is gone (the daemon's
 * {@code /proc/PID/task/*} before and after) and no descriptor refers to its bundle, FIFOs or
 * socket (the daemon's {@code /proc/PID/fd}).
 */
class KillAnyStateE2ETest {
  private static final String NS = "krill-killany";

  /** Generous for an e2e run on a loaded machine; the daemon reports a kill within 0.7 s. */
  private static final Duration KILL_BOUND = Duration.ofSeconds(5);

  /** How long a killed guest's thread and descriptors may take to go after the delete. */
  private static final Duration RELEASE_BOUND = Duration.ofSeconds(5);

  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private record State(String name, boolean foreground, boolean listens, String... args) {}

  private static final List<State> STATES =
      List.of(
          new State("spin", false, false, "/spin.wasm"),
          new State("poll", false, false, "/sleep.wasm", "300"),
          new State("stdin", true, false, "/stdin.wasm"),
          // ctr run -d: ctr exits, nobody reads the stdout FIFO, the guest fills it and blocks.
          new State("stdout", false, false, "/stream.wasm", "x", "100000000"),
          new State("accept", false, true, "/httpd.wasm"));

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void killStopsAGuestInAnyState_itsThreadAndDescriptorsGo(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    // Keeps the daemon (one per namespace, gone when idle) alive across the cases.
    String keeper = id("keeper");
    runDetached(c, NS, image, keeper, "/sleep.wasm", "3600");
    long daemon = onlyDaemon(c);
    Map<Long, String> threadsBefore = Host.threads(daemon);
    Map<Integer, String> fdsBefore = Host.fds(daemon);

    List<String> report = new ArrayList<>();
    for (String engine : new String[] {"wasmtime", "chicory"}) {
      for (State s : STATES) {
        report.add(killOne(c, image, daemon, engine, s, threadsBefore));
      }
    }
    killAndRemove(c, NS, keeper);
    System.out.println(c.version() + ": " + String.join("; ", report));

    Map<Integer, String> fdsAfter = Host.fds(daemon);
    List<String> left =
        fdsAfter.entrySet().stream()
            .filter(e -> !fdsBefore.containsValue(e.getValue()))
            .map(e -> e.getKey() + " -> " + e.getValue())
            .filter(f -> f.contains("/run/") || f.contains("fifo") || f.contains(NS))
            .toList();
    assertEquals(List.of(), left, "descriptors to containerd's run state left: " + report);
    c.assertNoLeaks();
  }

  private static String killOne(
      Containerd c,
      String image,
      long daemon,
      String engine,
      State s,
      Map<Long, String> threadsBefore)
      throws Exception {
    String id = id(s.name() + "-" + engine);
    String what = s.name() + " on " + engine + " (" + id + ")";
    List<String> run = new ArrayList<>(List.of("-n", NS, "run", "--runtime", RUNTIME));
    run.add(s.foreground() ? "--rm" : "-d");
    run.addAll(List.of("--annotation", "krill.io/engine=" + engine));
    long socketInode = -1;
    int port = -1;
    if (s.listens()) {
      port = Host.freeLoopbackPort();
      run.addAll(List.of("--annotation", "krill.io/listen=tcp://127.0.0.1:" + port));
    }
    run.add(image);
    run.add(id);
    run.addAll(List.of(s.args()));

    CtrProcess foreground = null;
    if (s.foreground()) {
      // stdin stays an open, silent pipe: the reader blocks until the kill.
      foreground = c.ctrBackground(run.toArray(String[]::new));
    } else {
      c.ok(run.toArray(String[]::new));
    }
    try {
      Tasks.awaitRunning(c, NS, id);
      // Let the guest reach its state: the stream fills the FIFO's 64 KiB, the others block at
      // once.
      Host.sleep(1000);
      Map<Long, String> guestThreads = new TreeMap<>(Host.threads(daemon));
      guestThreads.keySet().removeAll(threadsBefore.keySet());
      guestThreads.values().removeIf(n -> !Host.isGuestThreadOf(n, id));
      assertFalse(guestThreads.isEmpty(), what + ": no guest thread in daemon " + daemon);
      if (s.listens()) {
        socketInode = listeningInode(daemon, port);
        assertTrue(socketInode > 0, what + ": nothing listens on port " + port);
        long inode = socketInode;
        assertTrue(
            Host.fds(daemon).containsValue("socket:[" + inode + "]"),
            what + ": the daemon holds no descriptor of its listening socket");
      }
      String guestTid =
          guestThreads.entrySet().stream()
              .filter(e -> e.getValue().startsWith("guest-"))
              .map(e -> e.getKey().toString())
              .findFirst()
              .orElseThrow();
      String wchan = wchan(daemon, guestTid);
      if (s.name().equals("stdin") || s.name().equals("stdout")) {
        // Blocked in the kernel on the FIFO's pipe, not spinning somewhere in krill.
        assertTrue(wchan.contains("pipe"), what + ": guest thread waits in " + wchan);
      }
      if (s.name().equals("stdout")) {
        assertTrue(
            Host.fds(daemon).values().stream().anyMatch(f -> f.contains(id + "-stdout")),
            what + ": the daemon holds no stdout FIFO: " + Host.fds(daemon));
      }

      long killed = System.nanoTime();
      c.ok("-n", NS, "task", "kill", "-s", "SIGKILL", id);
      if (s.foreground()) {
        Result r = foreground.await(Containerd.CTR_TIMEOUT);
        assertExit(c, SIGKILL_EXIT, r);
      } else {
        Tasks.awaitStopped(c, NS, id);
      }
      Duration took = Duration.ofNanos(System.nanoTime() - killed);
      assertTrue(
          took.compareTo(KILL_BOUND) <= 0,
          what + ": stopped " + took.toMillis() + " ms after kill");
      if (!s.foreground()) {
        Result rm = c.ok("-n", NS, "task", "rm", id);
        assertTrue(rm.stderr().contains("exit code " + SIGKILL_EXIT), what + ": " + rm);
        c.ok("-n", NS, "container", "rm", id);
      } else {
        assertFalse(tasks(c, NS).containsKey(id), "ctr run --rm left task " + id);
      }

      long inode = socketInode;
      long deadline = System.nanoTime() + RELEASE_BOUND.toNanos();
      List<String> threadsLeft;
      List<String> fdsLeft;
      do {
        Map<Long, String> now = Host.threads(daemon);
        threadsLeft =
            guestThreads.entrySet().stream()
                .filter(e -> e.getValue().equals(now.get(e.getKey())))
                .map(e -> e.getKey() + " " + e.getValue())
                .toList();
        fdsLeft =
            Host.fds(daemon).entrySet().stream()
                .filter(
                    e -> e.getValue().contains(id) || e.getValue().equals("socket:[" + inode + "]"))
                .map(e -> e.getKey() + " -> " + e.getValue())
                .toList();
        if (threadsLeft.isEmpty() && fdsLeft.isEmpty()) {
          return what
              + ": in "
              + wchan
              + ", stopped in "
              + took.toMillis()
              + " ms, threads "
              + guestThreads.values()
              + " gone";
        }
        Host.sleep(100);
      } while (System.nanoTime() < deadline);
      fail(
          what
              + ": "
              + RELEASE_BOUND.toSeconds()
              + " s after the delete the daemon still has threads "
              + threadsLeft
              + " and descriptors "
              + fdsLeft
              + "\n"
              + stacks(daemon, threadsLeft));
      return null;
    } finally {
      if (foreground != null) {
        foreground.close();
      }
    }
  }

  /** The inode of the socket listening on 127.0.0.1:{@code port} in the daemon's network. */
  private static long listeningInode(long pid, int port) throws IOException {
    String local = String.format("0100007F:%04X", port);
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "net", "tcp"))) {
      String[] f = line.strip().split("\\s+");
      if (f.length > 9 && f[1].equals(local) && f[3].equals("0A")) {
        return Long.parseLong(f[9]);
      }
    }
    return -1;
  }

  /** Where in the kernel a thread of the daemon waits. */
  private static String wchan(long pid, String tid) throws IOException {
    return Files.readString(Path.of("/proc", Long.toString(pid), "task", tid, "wchan")).strip();
  }

  /** Where the threads left are stuck, from the kernel's view (wchan, syscall). */
  private static String stacks(long pid, List<String> threads) {
    Set<String> tids =
        threads.stream().map(t -> t.substring(0, t.indexOf(' '))).collect(Collectors.toSet());
    StringBuilder out = new StringBuilder();
    for (String tid : tids) {
      Path t = Path.of("/proc", Long.toString(pid), "task", tid);
      try {
        out.append(tid)
            .append(": wchan ")
            .append(Files.readString(t.resolve("wchan")))
            .append(", syscall ")
            .append(Files.readString(t.resolve("syscall")).strip())
            .append('\n');
      } catch (IOException gone) {
        out.append(tid).append(": gone\n");
      }
    }
    return out.toString();
  }
}
