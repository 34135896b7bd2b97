package io.krill.it.shim;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.krill.containerd.task.v2.StateRequest;
import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CtrProcess;
import io.krill.it.harness.DaemonSocket;
import io.krill.it.harness.Host;
import io.krill.it.harness.Result;
import io.krill.it.harness.Tasks;
import io.krill.it.harness.TestImages;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The daemon's ttrpc socket under connection storms and garbage: every wasm task of a namespace
 * lives in one daemon, so no client of its socket may starve or kill the others. No wall-time
 * bounds; the thread count is what must stay bounded.
 */
class DaemonConnectionsE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private static final String NS = "krill-conns";
  private static final int IDLE_CLIENTS = 1000;

  /**
   * What the daemon may add while serving them: its bounded handler pool (32 threads) and a few
   * more for the task that runs meanwhile; not one per connection.
   */
  private static final int THREAD_ALLOWANCE = 64;

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void thousandIdleConnections_ctrRunStillWorksAndThreadsStayBounded(ContainerdVersion v)
      throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    // Keeps the daemon up for the whole test: it exits once it hosts no task.
    String keeper = id("keeper");
    runDetached(c, NS, image, keeper, "/sleep.wasm", "300");
    long daemon = onlyDaemon(c);
    Path socket = c.shimSocket(NS);
    int before = Host.threadCount(daemon);
    List<DaemonSocket> clients = new ArrayList<>();
    try {
      for (int i = 0; i < IDLE_CLIENTS; i++) {
        try {
          clients.add(DaemonSocket.connect(socket));
        } catch (IOException e) {
          fail(
              "connect "
                  + (i + 1)
                  + " of "
                  + IDLE_CLIENTS
                  + " to the daemon refused: "
                  + e.getMessage());
        }
      }
      Result hello = runOk(c, NS, image, id("hello"), "/hello.wasm");
      assertEquals(HELLO, hello.stdout());

      // Every one of them is served: a State call for a container the daemon does not host.
      for (int i = 0; i < clients.size(); i++) {
        clients
            .get(i)
            .request(
                1,
                DaemonSocket.TASK_SERVICE,
                "State",
                StateRequest.newBuilder().setId("absent-" + i).build());
      }
      for (int i = 0; i < clients.size(); i++) {
        DaemonSocket.Reply r = clients.get(i).readReply();
        assertEquals(1, r.streamId());
        assertEquals(5, r.code(), "NOT_FOUND expected for client " + i + ": " + r.message());
        assertTrue(r.message().contains("absent-" + i), r.message());
      }
      int after = Host.threadCount(daemon);
      System.out.printf(
          "%s: daemon threads %d before, %d with %d clients served%n",
          v, before, after, IDLE_CLIENTS);
      assertTrue(
          after - before < THREAD_ALLOWANCE,
          "daemon threads grew from " + before + " to " + after + " for " + IDLE_CLIENTS);
      assertEquals(daemon, onlyDaemon(c), "the daemon was replaced");
    } finally {
      for (DaemonSocket s : clients) {
        s.close();
      }
    }
    assertEquals("RUNNING", Tasks.list(c, NS).get(keeper).status(), "the keeper task");
    killAndRemove(c, NS, keeper);
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void garbageFramesBesideABusyTask_taskKeepsRunningAndAllOutputArrives(ContainerdVersion v)
      throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    String id = id("busy");
    int lines = 20_000;
    try (CtrProcess run =
        runInBackground(
            c, NS, image, id, "/count.wasm", String.valueOf(lines), String.valueOf(200_000))) {
      long daemon = onlyDaemon(c);
      run.awaitStdout("line 1\n", Containerd.CTR_TIMEOUT);
      Path socket = c.shimSocket(NS);
      Random random = new Random(12);
      int dropped = 0;
      for (int round = 0; round < 20; round++) {
        dropped += garbageRound(socket, random);
      }
      assertEquals(20 * 2, dropped, "garbage connections the daemon closed");
      assertEquals(
          "RUNNING",
          Tasks.list(c, NS).get(id).status(),
          "the busy task should still be running after the garbage");

      Result r = run.await(Containerd.CTR_TIMEOUT.multipliedBy(3));
      assertExit(c, 0, r);
      String expected =
          IntStream.rangeClosed(1, lines)
              .mapToObj(i -> "line " + i + "\n")
              .collect(Collectors.joining());
      if (!expected.equals(r.stdout())) {
        fail(
            "stdout lost bytes: "
                + r.stdout().length()
                + " of "
                + expected.length()
                + " chars, last line "
                + r.stdout().strip().lines().reduce((a, b) -> b).orElse("(none)"));
      }
      assertEquals(daemon, onlyDaemon(c), "the daemon was replaced");
    }
    c.assertNoLeaks();
  }

  /**
   * Five hostile connections; returns how many of the two that must be dropped were dropped, after
   * checking that the others are answered.
   */
  private static int garbageRound(Path socket, Random random) throws IOException {
    int dropped = 0;
    // An HTTP request: its first four bytes read as a 1.2 GB frame length.
    try (DaemonSocket s = DaemonSocket.connect(socket)) {
      s.write("GET / HTTP/1.1\r\nHost: krill\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      dropped += s.awaitClosedByDaemon() ? 1 : 0;
    }
    // A header claiming 4 GiB.
    try (DaemonSocket s = DaemonSocket.connect(socket)) {
      s.write(ByteBuffer.allocate(10).putInt(-1).putInt(1).put((byte) 1).array());
      dropped += s.awaitClosedByDaemon() ? 1 : 0;
    }
    // Random bytes in a well-framed request: an error reply, and the connection stays usable.
    try (DaemonSocket s = DaemonSocket.connect(socket)) {
      byte[] junk = new byte[4096];
      random.nextBytes(junk);
      s.write(DaemonSocket.frame(1, (byte) 1, junk));
      DaemonSocket.Reply r = s.readReply();
      assertTrue(r.code() != 0, "random request answered OK: " + r);
      s.request(
          3, DaemonSocket.TASK_SERVICE, "State", StateRequest.newBuilder().setId("z").build());
      assertEquals(5, s.readReply().code(), "NOT_FOUND after the junk request");
    }
    // An envelope that is not protobuf, and an even stream id: answered, connection kept.
    try (DaemonSocket s = DaemonSocket.connect(socket)) {
      s.write(DaemonSocket.frame(1, (byte) 1, new byte[] {0x0a, 0x7f, 0x01}));
      DaemonSocket.Reply bad = s.readReply();
      assertEquals(3, bad.code(), "INVALID_ARGUMENT for a malformed envelope: " + bad.message());
      s.request(
          2, DaemonSocket.TASK_SERVICE, "State", StateRequest.newBuilder().setId("x").build());
      DaemonSocket.Reply even = s.readReply();
      assertEquals(3, even.code(), even.message());
    }
    // A request cut short by the client closing: nothing to answer, nothing to break.
    try (DaemonSocket s = DaemonSocket.connect(socket)) {
      byte[] frame =
          DaemonSocket.requestFrame(
              1, DaemonSocket.TASK_SERVICE, "State", StateRequest.newBuilder().setId("y").build());
      s.write(java.util.Arrays.copyOf(frame, frame.length - 3));
    }
    return dropped;
  }
}
