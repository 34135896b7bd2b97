package io.krill.it.chaos;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CtrEvents;
import io.krill.it.harness.CtrProcess;
import io.krill.it.harness.Host;
import io.krill.it.harness.Result;
import io.krill.it.harness.Tasks;
import io.krill.it.harness.TestImages;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.IntStream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What an operator's accidents do to the shared daemon: the daemon killed under load, containerd
 * restarted under load, garbage written to the daemon's socket. Each asserts that nothing was lost:
 * every task is where it should be, every exit is reported once with the right status, every byte
 * of output arrived. The numbers each measures are printed for docs/reliability.md.
 */
class DaemonChaosE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private static final String NS = "krill-chaos";
  private static final int PARALLEL = 8;

  private static List<String> ids(String prefix, int n) {
    return IntStream.range(0, n).mapToObj(i -> id(prefix)).toList();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void killedDaemonReportsEachOfFiftyTasksExitedOnce(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    List<String> ids = ids("kill9", 50);
    runDetachedAll(c, NS, image, ids, PARALLEL, "/sleep.wasm", "600");
    long daemon = onlyDaemon(c);
    Map<String, Tasks.Task> before = tasks(c, NS);
    for (String id : ids) {
      assertEquals(new Tasks.Task(id, daemon, "RUNNING"), before.get(id));
    }

    try (CtrEvents events = CtrEvents.subscribe(c)) {
      long killed = System.nanoTime();
      assertEquals(0, Host.run("kill", "-9", Long.toString(daemon)));
      events.awaitExits(ids);
      long reportedMs = (System.nanoTime() - killed) / 1_000_000;

      // containerd still lists and deletes the dead daemon's tasks.
      Map<String, Tasks.Task> after = tasks(c, NS);
      for (String id : ids) {
        Tasks.Task t = after.get(id);
        assertTrue(t == null || t.status().equals("STOPPED"), id + " after kill -9: " + t);
        if (t != null) {
          c.ok("-n", NS, "task", "rm", id);
        }
        c.ok("-n", NS, "container", "rm", id);
      }

      // The next run brings up a fresh daemon.
      String next = id("after-kill9");
      Tasks.Task fresh = runDetached(c, NS, image, next, "/sleep.wasm", "600");
      assertNotEquals(daemon, fresh.pid());
      assertEquals(fresh.pid(), onlyDaemon(c));
      assertEquals(HELLO, runOk(c, NS, image, id("hello"), "/hello.wasm").stdout());
      killAndRemove(c, NS, next);

      // Counted after the deletes and the fresh runs: nothing reported an exit twice.
      for (String id : ids) {
        assertEquals(
            List.of(new CtrEvents.Exit(id, id, SIGKILL_EXIT)),
            events.exitsOf(id),
            "exit events of " + id + " on " + v);
      }
      System.out.printf(
          "chaos kill-9 %s: %d tasks, %d exit events (all %d), all reported within %d ms of the kill%n",
          v,
          ids.size(),
          ids.stream().mapToInt(id -> events.exitsOf(id).size()).sum(),
          SIGKILL_EXIT,
          reportedMs);
    }
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void containerdRestartUnderLoadLosesNoTask(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    List<String> steady = ids("steady", 10);
    runDetachedAll(c, NS, image, steady, PARALLEL, "/sleep.wasm", "600");
    // These end (after 2 s) while containerd is away (4 s); they must be STOPPED with status 0.
    // No stdio: a guest of ctr run -d that opens its stdout FIFO after ctr has exited waits in
    // open(2) for a reader that never comes, and would never end.
    List<String> brief = ids("brief", 5);
    for (String id : brief) {
      c.ok("-n", NS, "run", "-d", "--null-io", "--runtime", RUNTIME, image, id, "/sleep.wasm", "2");
    }
    long daemon = onlyDaemon(c);

    // ctr run -d goes on all the time containerd is stopped and started again.
    List<String> created = Collections.synchronizedList(new ArrayList<>());
    List<String> refused = Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean creating = new AtomicBoolean(true);
    Thread creator =
        new Thread(
            () -> {
              while (creating.get()) {
                String id = id("during");
                Result r =
                    c.ctr(
                        "-n",
                        NS,
                        "run",
                        "-d",
                        "--runtime",
                        RUNTIME,
                        image,
                        id,
                        "/sleep.wasm",
                        "600");
                (r.ok() ? created : refused).add(id);
                if (!r.ok()) {
                  Host.sleep(200);
                }
              }
            },
            "creator");
    creator.start();
    try {
      Host.sleep(1_000);
      c.restart(Duration.ofSeconds(4));
      while (created.size() < 3 && creator.isAlive()) {
        Host.sleep(100);
      }
    } finally {
      creating.set(false);
      creator.join();
    }

    // The daemon survived and every task containerd acknowledged is still there.
    assertEquals(daemon, onlyDaemon(c));
    List<String> running = new ArrayList<>(steady);
    running.addAll(created);
    Map<String, Tasks.Task> after = tasks(c, NS);
    for (String id : running) {
      assertEquals(new Tasks.Task(id, daemon, "RUNNING"), after.get(id), "after restart on " + v);
    }
    for (String id : brief) {
      Tasks.awaitStopped(c, NS, id);
      Result rm = c.ok("-n", NS, "task", "rm", id);
      // ctr warns only about a non-zero status: these slept and exited 0.
      assertTrue(!rm.stderr().contains("exit code"), "task rm " + id + ": " + rm);
      c.ok("-n", NS, "container", "rm", id);
    }
    // A run cut off by the restart may have left a container or task that containerd knows.
    for (String id : refused) {
      c.ctr("-n", NS, "task", "rm", "-f", id);
      c.ctr("-n", NS, "container", "rm", id);
    }

    // Exits after the restart reach containerd: the daemon's publisher reconnected.
    try (CtrEvents events = CtrEvents.subscribe(c)) {
      for (String id : running) {
        c.ok("-n", NS, "task", "kill", "-s", "SIGKILL", id);
      }
      events.awaitExits(running);
      for (String id : running) {
        assertEquals(List.of(new CtrEvents.Exit(id, id, SIGKILL_EXIT)), events.exitsOf(id));
      }
    }
    for (String id : running) {
      Tasks.awaitStopped(c, NS, id);
      c.ok("-n", NS, "task", "rm", id);
      c.ok("-n", NS, "container", "rm", id);
    }
    System.out.printf(
        "chaos containerd-restart %s: %d running before, %d ending in the 4 s downtime,"
            + " %d created around it (%d refused while containerd was away), 0 lost, daemon pid kept%n",
        v, steady.size(), brief.size(), created.size(), refused.size());
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void garbageOnTheDaemonSocketLeavesABusyTaskAlone(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    String sibling = id("sibling");
    runDetached(c, NS, image, sibling, "/sleep.wasm", "600");
    long daemon = onlyDaemon(c);

    String id = id("busy");
    String tag = "busy";
    int lines = 200_000;
    StringBuilder expected = new StringBuilder(lines * 14);
    for (int i = 1; i <= lines; i++) {
      expected.append(String.format("%s %08d%n", tag, i));
    }
    int rounds = 0;
    Result r;
    try (CtrProcess run =
        c.ctrBackground(
            "-n",
            NS,
            "run",
            "--rm",
            "--runtime",
            RUNTIME,
            image,
            id,
            "/stream.wasm",
            tag,
            Integer.toString(lines),
            "100")) {
      run.awaitStdout(tag + " 00000001\n", Duration.ofSeconds(60));
      Path socket = c.shimSocket(NS);
      Random random = new Random(12);
      // One connection that sent half a header stays open throughout.
      try (SocketChannel stalled = connect(socket)) {
        stalled.write(ByteBuffer.wrap(new byte[] {0, 0, 0}));
        do {
          for (byte[] garbage : garbage(random)) {
            try (SocketChannel ch = connect(socket)) {
              ch.write(ByteBuffer.wrap(garbage));
            } catch (IOException e) {
              // the daemon may hang up before reading everything; that is its right
            }
          }
          rounds++;
        } while (run.isAlive() && rounds < 10_000);
      }
      r = run.await(Containerd.CTR_TIMEOUT);
    }
    assertExit(c, 0, r);
    assertEquals(expected.length(), r.stdout().length(), "bytes of stdout on " + v);
    assertTrue(expected.toString().equals(r.stdout()), "stdout differs from the stream sent");
    assertTrue(Host.alive(daemon), "the daemon died of garbage on " + v);
    assertEquals(new Tasks.Task(sibling, daemon, "RUNNING"), tasks(c, NS).get(sibling));
    assertEquals(HELLO, runOk(c, NS, image, id("hello"), "/hello.wasm").stdout());
    assertEquals(daemon, onlyDaemon(c));
    killAndRemove(c, NS, sibling);
    System.out.printf(
        "chaos garbage %s: %d rounds of %d malformed connections while the task printed %d bytes;"
            + " all bytes arrived, exit 0, daemon and sibling alive%n",
        v, rounds, garbage(new Random(0)).size(), r.stdout().length());
    c.assertNoLeaks();
  }

  private static SocketChannel connect(Path socket) throws IOException {
    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
    ch.connect(UnixDomainSocketAddress.of(socket));
    return ch;
  }

  /**
   * One round of malformed input: random bytes, and ttrpc frames (4-byte length, 4-byte stream id,
   * type, flags) that lie about their length, carry no protobuf, name no service, use a server's
   * (even) stream id or an unknown type.
   */
  private static List<byte[]> garbage(Random random) {
    byte[] noise = new byte[64 * 1024];
    random.nextBytes(noise);
    byte[] request = request("containerd.task.v2.Nope", "Nothing");
    byte[] realService = request("containerd.task.v2.Task", "State");
    return List.of(
        noise,
        frame(0xFFFFFFFF, 1, 1, new byte[0]),
        frame(5 * 1024 * 1024, 1, 1, new byte[100]),
        frame(16, 1, 1, "not a protobuf!!".getBytes(StandardCharsets.US_ASCII)),
        frame(request.length, 1, 1, request),
        frame(realService.length, 2, 1, realService),
        frame(request.length, 1, 0x7f, request),
        frame(realService.length, 3, 1, realService), // State of no container
        frame(request.length + 10, 5, 1, request));
  }

  private static byte[] frame(int length, int streamId, int type, byte[] payload) {
    ByteBuffer b = ByteBuffer.allocate(10 + payload.length);
    b.putInt(length).putInt(streamId).put((byte) type).put((byte) 0).put(payload);
    return b.array();
  }

  /** A ttrpc Request{service = 1, method = 2} with no payload, protobuf by hand. */
  private static byte[] request(String service, String method) {
    byte[] s = service.getBytes(StandardCharsets.US_ASCII);
    byte[] m = method.getBytes(StandardCharsets.US_ASCII);
    ByteBuffer b = ByteBuffer.allocate(4 + s.length + m.length);
    b.put((byte) 0x0a).put((byte) s.length).put(s).put((byte) 0x12).put((byte) m.length).put(m);
    return b.array();
  }
}
