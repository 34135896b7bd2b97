package io.krill.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.engine.Guest;
import io.krill.engine.GuestIo;
import io.krill.engine.GuestResult;
import io.krill.runtime.TaskFixture.Bundle;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code krill.io/wagi} annotation at Create: the listener opened, the routes parsed and each
 * module compiled once into a {@code Program} whose instances run with their own stdio, all handed
 * to the daemon's {@link RequestServers}; refusals name the container and the annotation.
 */
class TaskManagerRequestServersTest {
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

  private Bundle hello(String id, String annotations) {
    return f.bundle(
        id,
        "/hello.wat",
        "hello.wat",
        TaskFixture.resource("wasm/hello.wat"),
        ",\"annotations\":{" + annotations + "}");
  }

  /** Servers whose guest runs one instance of the first route when started, then waits. */
  private static final class Recording implements RequestServers {
    final AtomicReference<RequestService> service = new AtomicReference<>();
    final ByteArrayOutputStream firstOutput = new ByteArrayOutputStream();
    final CountDownLatch ran = new CountDownLatch(1);
    final java.util.concurrent.atomic.AtomicBoolean drained =
        new java.util.concurrent.atomic.AtomicBoolean();

    @Override
    public long maxRunMillis(String containerId, Map<String, String> annotations) {
      return 1000;
    }

    @Override
    public Guest serve(RequestService s) {
      service.set(s);
      CountDownLatch stopped = new CountDownLatch(1);
      return new Guest() {
        @Override
        public GuestResult run() {
          Guest g =
              s.routes()
                  .get(0)
                  .program()
                  .instantiate(
                      List.of("/hello.wat"),
                      s.env(),
                      new GuestIo(new byte[0], Channels.newChannel(firstOutput), null));
          g.run();
          g.close();
          ran.countDown();
          try {
            stopped.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return new GuestResult.Interrupted();
        }

        @Override
        public void interrupt() {
          stopped.countDown();
        }

        @Override
        public boolean terminateGracefully() {
          drained.set(true);
          stopped.countDown();
          return true;
        }

        @Override
        public long linearMemoryBytes() {
          return 0;
        }

        @Override
        public void close() {
          s.routes().forEach(r -> r.program().close());
        }
      };
    }
  }

  @Test
  void withoutRequestServers_theCreateIsRefused() {
    Bundle b = hello("c-nowagi", "\"krill.io/wagi\":\"tcp://127.0.0.1:" + 1 + "\"");
    KrillException e = assertThrows(KrillException.class, () -> f.tasks.create(b.spec()));
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertTrue(e.getMessage().contains("container c-nowagi"), e.getMessage());
    assertTrue(e.getMessage().contains("krill.io/wagi"), e.getMessage());
    assertTrue(f.tasks.isEmpty());
  }

  @Test
  void theServersGetTheListenerRoutesAndAProgramPerModule() throws Exception {
    Recording servers = new Recording();
    f.tasks.servingRequestsWith(servers);
    int port = freePort();
    Bundle b =
        hello(
            "c-wagi",
            "\"krill.io/wagi\":\"tcp://127.0.0.1:"
                + port
                + "\",\"krill.io/wagi-routes\":\"/a/...=/hello.wat,/b=/hello.wat\"");
    f.tasks.create(b.spec());
    RequestService s = servers.service.get();
    assertEquals("c-wagi", s.containerId());
    assertEquals(
        new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port),
        s.listener().getLocalAddress());
    assertEquals(
        List.of("/a/...", "/b"), s.routes().stream().map(RequestService.Route::pattern).toList());
    assertTrue(
        s.routes().get(0).program() == s.routes().get(1).program(), "one compile per module");
    f.tasks.start(b.id());
    servers.ran.await();
    f.tasks.kill(b.id(), 9);
    assertEquals(137, f.await(b.id()).code());
    assertEquals("hello\n", new String(servers.firstOutput.toByteArray(), StandardCharsets.UTF_8));
    f.tasks.delete(b.id());
    new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1")).close();
  }

  @Test
  void aMalformedRoute_refusesTheCreate_withTheForm() throws Exception {
    f.tasks.servingRequestsWith(new Recording());
    int port = freePort();
    Bundle b =
        hello(
            "c-route",
            "\"krill.io/wagi\":\"tcp://127.0.0.1:"
                + port
                + "\",\"krill.io/wagi-routes\":\"hello\"");
    KrillException e = assertThrows(KrillException.class, () -> f.tasks.create(b.spec()));
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertTrue(e.getMessage().contains("container c-route"), e.getMessage());
    assertTrue(e.getMessage().contains("ROUTE=MODULE"), e.getMessage());
    // the listener opened before the routes were read is closed again
    new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1")).close();
  }

  private static void krillToml(Bundle b, int port) throws IOException {
    java.nio.file.Files.writeString(
        b.rootfs().resolve("krill.toml"),
        "[wagi]\nlisten = \"tcp://127.0.0.1:"
            + port
            + "\"\ntimeout = \"3s\"\n[[wagi.route]]\npath = \"/a/...\"\nmodule = \"/hello.wat\"\n"
            + "[[wagi.route]]\npath = \"/b\"\nmodule = \"/hello.wat\"\n");
  }

  @Test
  void anImagesKrillToml_makesItARequestContainer_drainedOnSigterm() throws Exception {
    Recording servers = new Recording();
    f.tasks.servingRequestsWith(servers);
    int port = freePort();
    Bundle b = hello("c-toml", "\"other\":\"x\"");
    krillToml(b, port);
    f.tasks.create(b.spec());
    RequestService s = servers.service.get();
    assertEquals(
        new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port),
        s.listener().getLocalAddress());
    assertEquals(
        List.of("/a/...", "/b"), s.routes().stream().map(RequestService.Route::pattern).toList());
    assertEquals("3s", s.annotations().get("krill.io/wagi-timeout"));
    f.tasks.start(b.id());
    servers.ran.await();
    // SIGTERM drains it in its server, as for a container with the annotation
    f.tasks.kill(b.id(), 15);
    assertEquals(143, f.await(b.id()).code());
    assertTrue(servers.drained.get());
    f.tasks.delete(b.id());
    new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1")).close();
  }

  @Test
  void theAnnotationsWinOverTheImagesKrillToml() throws Exception {
    Recording servers = new Recording();
    f.tasks.servingRequestsWith(servers);
    int filePort = freePort();
    int port = freePort();
    Bundle b =
        hello(
            "c-toml-over",
            "\"krill.io/wagi\":\"tcp://127.0.0.1:"
                + port
                + "\",\"krill.io/wagi-routes\":\"/only=/hello.wat\"");
    krillToml(b, filePort);
    f.tasks.create(b.spec());
    RequestService s = servers.service.get();
    assertEquals(
        new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port),
        s.listener().getLocalAddress());
    assertEquals(List.of("/only"), s.routes().stream().map(RequestService.Route::pattern).toList());
    assertEquals("3s", s.annotations().get("krill.io/wagi-timeout"));
    f.tasks.start(b.id());
    servers.ran.await();
    f.tasks.kill(b.id(), 9);
    assertEquals(137, f.await(b.id()).code());
    f.tasks.delete(b.id());
    new ServerSocket(filePort, 1, InetAddress.getByName("127.0.0.1")).close();
    new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1")).close();
  }

  @Test
  void aMalformedKrillToml_refusesTheCreate_namingTheFileAndKey() throws Exception {
    f.tasks.servingRequestsWith(new Recording());
    Bundle b = hello("c-badtoml", "\"other\":\"x\"");
    java.nio.file.Files.writeString(
        b.rootfs().resolve("krill.toml"), "[wagi]\nconcurrency = \"many\"\n");
    KrillException e = assertThrows(KrillException.class, () -> f.tasks.create(b.spec()));
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertTrue(
        e.getMessage().startsWith("container c-badtoml: /krill.toml in its image has"),
        e.getMessage());
    assertTrue(e.getMessage().contains("wagi.concurrency"), e.getMessage());
    assertTrue(f.tasks.isEmpty());
  }

  @Test
  void aKrillTomlListenAddressInUse_isNamedAsTheFilesKey() throws Exception {
    f.tasks.servingRequestsWith(new Recording());
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      Bundle b = hello("c-taken", "\"other\":\"x\"");
      java.nio.file.Files.writeString(
          b.rootfs().resolve("krill.toml"),
          "[wagi]\nlisten = \"tcp://127.0.0.1:" + taken.getLocalPort() + "\"\n");
      KrillException e = assertThrows(KrillException.class, () -> f.tasks.create(b.spec()));
      assertTrue(e.getMessage().contains("container c-taken"), e.getMessage());
      assertTrue(
          e.getMessage().contains("(key wagi.listen of /krill.toml in its image)"), e.getMessage());
      assertTrue(f.tasks.isEmpty());
    }
  }
}
