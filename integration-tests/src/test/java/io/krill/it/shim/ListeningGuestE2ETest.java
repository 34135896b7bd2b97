package io.krill.it.shim;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.Host;
import io.krill.it.harness.Result;
import io.krill.it.harness.Tasks;
import io.krill.it.harness.TestImages;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A listening guest through ctr: {@code --annotation krill.io/listen=tcp://127.0.0.1:PORT} has
 * krill open the socket before the guest starts and hand it over as fd 3; httpd.wasm answers each
 * connection on either engine, a kill ends it with 137 and the port is free again. A port in use
 * refuses the create.
 */
class ListeningGuestE2ETest {
  private static final String NS = "krill-listen";
  private static final String REPLY = "HTTP/1.0 200 OK\r\n\r\nhello\n";

  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private static InetAddress loopback() throws IOException {
    return InetAddress.getByName("127.0.0.1");
  }

  private static String get(int port) throws IOException {
    try (Socket s = new Socket(loopback(), port)) {
      s.setSoTimeout(20_000); // a server that took the connection but never answers fails the test
      s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    }
  }

  private static Result runListening(
      Containerd c, String image, String id, String listen, String engine) {
    List<String> args = new ArrayList<>(List.of("-n", NS, "run", "-d", "--runtime", RUNTIME));
    if (!engine.isEmpty()) {
      args.addAll(List.of("--annotation", "krill.io/engine=" + engine));
    }
    args.addAll(List.of("--annotation", "krill.io/listen=" + listen, image, id, "/httpd.wasm"));
    return c.ctr(args.toArray(String[]::new));
  }

  /**
   * SIGTERM (kubelet's stop, {@code ctr task kill}) stops a listening guest gracefully: its port
   * closes at once, the request it is serving completes, and it then ends, reported as 143.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void sigtermStopsAcceptingFinishesTheRequestInFlightAndExits143(ContainerdVersion v)
      throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    for (String engine : new String[] {"wasmtime", "chicory"}) {
      int port = Host.freeLoopbackPort();
      String id = id("graceful-" + engine);
      Result started = runListening(c, image, id, "tcp://127.0.0.1:" + port, engine);
      assertEquals(0, started.exitCode(), started.toString());
      Tasks.awaitRunning(c, NS, id);
      try (Socket inFlight = new Socket(loopback(), port)) {
        // the guest has accepted it and waits for the rest of the request line
        inFlight.getOutputStream().write("GET / HT".getBytes(StandardCharsets.US_ASCII));
        Thread.sleep(300);
        c.ok("-n", NS, "task", "kill", id); // SIGTERM
        Thread.sleep(1000);
        assertEquals("RUNNING", Tasks.list(c, NS).get(id).status(), "ended before its request");
        assertThrows(ConnectException.class, () -> get(port), "still accepting after SIGTERM");
        inFlight.getOutputStream().write("TP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertEquals(
            REPLY, new String(inFlight.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
      }
      Tasks.awaitStopped(c, NS, id);
      Result rm = c.ok("-n", NS, "task", "rm", id);
      assertTrue(rm.stderr().contains("exit code " + SIGTERM_EXIT), "task rm: " + rm);
      c.ok("-n", NS, "container", "rm", id);
      new ServerSocket(port, 1, loopback()).close();
    }
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void guestServesOnTheAnnotatedPort_killFreesIt(ContainerdVersion v) throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    // "": no krill.io/engine annotation, so a listening guest's own default, Chicory
    for (String engine : new String[] {"wasmtime", "chicory", ""}) {
      int port = Host.freeLoopbackPort();
      String id = id("httpd-" + (engine.isEmpty() ? "default" : engine));
      Result started = runListening(c, image, id, "tcp://127.0.0.1:" + port, engine);
      assertEquals(0, started.exitCode(), started.toString());
      Tasks.awaitRunning(c, NS, id);
      String created = "container " + id + ": created on engine ";
      String logs = Host.daemonLogs(c.runDir());
      assertTrue(
          logs.contains(created + (engine.isEmpty() ? "chicory" : engine)),
          "no '" + created + "...' as expected in: " + logs);
      assertEquals(REPLY, get(port));
      assertEquals(REPLY, get(port));
      killAndRemove(c, NS, id); // asserts exit 137
      assertThrows(ConnectException.class, () -> get(port));
      new ServerSocket(port, 1, loopback()).close();
    }

    try (ServerSocket busy = new ServerSocket(0, 1, loopback())) {
      String refusedId = id("busy");
      String at = "tcp://127.0.0.1:" + busy.getLocalPort();
      Result refused = runListening(c, image, refusedId, at, "wasmtime");
      assertNotEquals(0, refused.exitCode(), refused.toString());
      assertTrue(refused.stderr().contains("container " + refusedId), refused.toString());
      assertTrue(refused.stderr().contains("cannot listen on " + at), refused.toString());
      c.ctr("-n", NS, "container", "rm", refusedId);
    }
    c.assertNoLeaks();
  }

  /**
   * A server without an engine annotation runs on Chicory, krill's pick for it; a module too big
   * for Chicory's share of the daemon's heap runs on the daemon's default engine instead.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void moduleTooBigForChicory_noEngineAnnotation_runsOnTheDefaultEngine(ContainerdVersion v)
      throws Exception {
    Containerd c = containerds.get(v);
    String big = TestImages.BIG.importInto(c, NS);
    String id = id("big-server");
    String listen = "krill.io/listen=tcp://127.0.0.1:" + Host.freeLoopbackPort();

    // its _start returns at once
    Result r =
        c.ctr("-n", NS, "run", "--rm", "--runtime", RUNTIME, "--annotation", listen, big, id);

    assertEquals(0, r.exitCode(), r.toString());
    String log = Host.daemonLogs(c.runDir());
    assertTrue(
        log.lines()
            .anyMatch(
                l ->
                    l.contains(id)
                        && l.contains("engine chicory refused its module")
                        && l.contains("running it on wasmtime, the default engine")),
        log);
    assertTrue(
        log.lines().anyMatch(l -> l.contains(id) && l.contains("created on engine wasmtime")), log);
    c.assertNoLeaks();
  }
}
