package io.krill.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.krill.os.NetNamespaces;
import io.krill.runtime.TaskFixture.Bundle;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code krill.io/listen} annotation: krill opens the socket before the guest starts (in the
 * spec's network namespace when it names one), the guest serves on it, a kill frees the port.
 */
class TaskManagerListenTest {
  private static final String REPLY = "HTTP/1.0 200 OK\r\n\r\nhello\n";

  @TempDir Path tmp;
  private TaskFixture f;

  @BeforeEach
  void setUp() {
    f = new TaskFixture(tmp);
  }

  @AfterEach
  void tearDown() throws Exception {
    f.close();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    }
  }

  private Bundle httpd(String id, String listen, String extra) {
    return f.bundle(
        id,
        "/httpd.wat",
        "httpd.wat",
        TaskFixture.resource("wasm/httpd.wat"),
        ",\"annotations\":{\"krill.io/listen\":\"" + listen + "\"}" + extra);
  }

  static String get(Socket s) throws IOException {
    try (s) {
      OutputStream out = s.getOutputStream();
      out.write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    }
  }

  @Test
  void guestServesTwoRequestsAndAKillFreesThePort() throws Exception {
    int port = freePort();
    Bundle b = httpd("c-httpd", "tcp://127.0.0.1:" + port, "");
    f.tasks.create(b.spec());
    f.tasks.start(b.id());
    assertEquals(REPLY, get(new Socket("127.0.0.1", port)));
    assertEquals(REPLY, get(new Socket("127.0.0.1", port)));
    f.tasks.kill(b.id(), 9);
    assertEquals(137, f.await(b.id()).code());
    assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", port).close());
    new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1")).close();
    f.tasks.delete(b.id());
  }

  @Test
  void aDeleteWithoutStartClosesTheListener() throws Exception {
    int port = freePort();
    Bundle b = httpd("c-never", "tcp://127.0.0.1:" + port, "");
    f.tasks.create(b.spec());
    f.tasks.kill(b.id(), 9);
    f.await(b.id());
    f.tasks.delete(b.id());
    new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1")).close();
  }

  @Test
  void aPortInUse_refusesTheCreate_namingContainerAddressAndWhatToDo() throws Exception {
    try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      String at = "tcp://127.0.0.1:" + busy.getLocalPort();
      Bundle b = httpd("c-busy", at, "");
      KrillException e = assertThrows(KrillException.class, () -> f.tasks.create(b.spec()));
      assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
      assertTrue(e.getMessage().contains("container c-busy"), e.getMessage());
      assertTrue(e.getMessage().contains("cannot listen on " + at), e.getMessage());
      assertTrue(e.getMessage().contains("free the port or pick another"), e.getMessage());
      assertTrue(f.tasks.isEmpty());
    }
  }

  @Test
  void aMalformedAddress_refusesTheCreate_withTheFormToUse() throws Exception {
    int port = freePort();
    Bundle b = httpd("c-bad", "tcp://127.0.0.1:" + port + ",http://x:80", "");
    KrillException e = assertThrows(KrillException.class, () -> f.tasks.create(b.spec()));
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertTrue(e.getMessage().contains("container c-bad"), e.getMessage());
    assertTrue(e.getMessage().contains("\"http://x:80\""), e.getMessage());
    assertTrue(e.getMessage().contains("tcp://HOST:PORT"), e.getMessage());
    // the first address, opened before the second failed, is closed again
    new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1")).close();
  }

  @Test
  void withANetworkNamespacePath_theGuestListensInsideIt() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "needs root (setns)");
    Process holder =
        new ProcessBuilder("unshare", "-n", "sh", "-c", "ip link set lo up && echo up && sleep 600")
            .redirectErrorStream(true)
            .start();
    try {
      assertEquals("up\n", new String(holder.getInputStream().readNBytes(3)));
      String netns = "/proc/" + holder.pid() + "/ns/net";
      int port = freePort();
      Bundle b =
          httpd(
              "c-pod",
              "tcp://127.0.0.1:" + port,
              ",\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"" + netns + "\"}]}");
      f.tasks.create(b.spec());
      f.tasks.start(b.id());
      InetSocketAddress at = new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port);
      for (int i = 0; i < 2; i++) {
        assertEquals(
            REPLY,
            NetNamespaces.run(
                netns,
                () -> {
                  Socket s = new Socket();
                  s.connect(at);
                  return get(s);
                }));
      }
      // Not in the daemon's namespace: nothing listens there.
      assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", port).close());
      f.tasks.kill(b.id(), 9);
      assertEquals(137, f.await(b.id()).code());
      f.tasks.delete(b.id());
      assertEquals(List.of(), f.tasks.ids());
    } finally {
      holder.destroy();
      holder.waitFor(30, TimeUnit.SECONDS);
    }
  }
}
