package io.krill.ttrpc;

import static io.krill.ttrpc.TestSupport.WAIT_SECONDS;
import static io.krill.ttrpc.TestSupport.await;
import static io.krill.ttrpc.TestSupport.eventually;
import static io.krill.ttrpc.TestSupport.failure;
import static io.krill.ttrpc.TestSupport.str;
import static io.krill.ttrpc.TestSupport.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TtrpcRoundTripTest {
  @TempDir Path dir;
  private ExecutorService pool;
  private TtrpcServer server;
  private Path socket;
  private final List<TtrpcClient> clients = new ArrayList<>();

  @BeforeEach
  void setUp() {
    pool = Executors.newCachedThreadPool();
    socket = dir.resolve("t.sock");
    server = new TtrpcServer(socket, pool);
    server.register("svc", "Echo", (ctx, p) -> CompletableFuture.completedFuture(p));
  }

  @AfterEach
  void tearDown() {
    clients.forEach(TtrpcClient::close);
    server.close();
    pool.shutdownNow();
  }

  private TtrpcClient client() throws IOException {
    TtrpcClient c = TtrpcClient.connect(socket);
    clients.add(c);
    return c;
  }

  @Test
  void call_echo_returnsPayload() throws Exception {
    server.start();
    TtrpcClient c = client();
    assertEquals("hello", str(await(c.call("svc", "Echo", utf8("hello"), null, null))));
    assertArrayEquals(new byte[0], await(c.call("svc", "Echo", new byte[0], null, null)));
    assertArrayEquals(new byte[0], await(c.call("svc", "Echo", null, null, null)));
  }

  @Test
  void call_metadataAndTimeout_visibleToHandler() throws Exception {
    AtomicReference<RequestContext> seen = new AtomicReference<>();
    server.register(
        "svc",
        "Ctx",
        (ctx, p) -> {
          seen.set(ctx);
          return CompletableFuture.completedFuture(null);
        });
    server.start();
    TtrpcClient c = client();
    byte[] r =
        await(
            c.call(
                "svc",
                "Ctx",
                null,
                Duration.ofMinutes(5),
                Map.of("containerd-namespace", "k8s.io")));
    assertEquals(0, r.length);
    RequestContext ctx = seen.get();
    assertEquals("svc", ctx.service());
    assertEquals("Ctx", ctx.method());
    assertEquals(Duration.ofMinutes(5).toNanos(), ctx.timeoutNanos());
    assertEquals(List.of("k8s.io"), ctx.metadata().get("containerd-namespace"));
    assertEquals("k8s.io", ctx.firstMetadata("containerd-namespace"));
    await(c.call("svc", "Ctx", null, null, null));
    assertEquals(0, seen.get().timeoutNanos());
  }

  @Test
  void call_threeConcurrent_firstBlocksUntilThirdCompletes() throws Exception {
    CountDownLatch thirdDone = new CountDownLatch(1);
    server.register(
        "svc",
        "Block",
        (ctx, p) -> {
          // Blocking the handler thread on purpose: it must not hold up the connection.
          if (!thirdDone.await(WAIT_SECONDS, TimeUnit.SECONDS)) {
            throw new IllegalStateException("third call never completed");
          }
          return CompletableFuture.completedFuture(utf8("first"));
        });
    server.start();
    TtrpcClient c = client();
    CompletableFuture<byte[]> first = c.call("svc", "Block", null, null, null);
    CompletableFuture<byte[]> second = c.call("svc", "Echo", utf8("second"), null, null);
    CompletableFuture<byte[]> third = c.call("svc", "Echo", utf8("third"), null, null);
    assertEquals("third", str(await(third)));
    assertFalse(first.isDone());
    thirdDone.countDown();
    assertEquals("second", str(await(second)));
    assertEquals("first", str(await(first)));
  }

  @Test
  void call_unknownServiceOrMethod_unimplemented() throws Exception {
    server.start();
    TtrpcClient c = client();
    TtrpcException e1 =
        assertInstanceOf(TtrpcException.class, failure(c.call("nope", "Echo", null, null, null)));
    assertEquals(Code.UNIMPLEMENTED, e1.code());
    assertEquals("service nope", e1.getMessage());
    TtrpcException e2 =
        assertInstanceOf(TtrpcException.class, failure(c.call("svc", "Nope", null, null, null)));
    assertEquals(Code.UNIMPLEMENTED, e2.code());
    assertEquals("method Nope", e2.getMessage());
  }

  @Test
  void call_handlerThrowsTtrpcException_clientSeesCode() throws Exception {
    server.register(
        "svc",
        "Missing",
        (ctx, p) -> {
          throw new TtrpcException(Code.NOT_FOUND, "container abc not found");
        });
    server.register(
        "svc",
        "Exists",
        (ctx, p) ->
            CompletableFuture.failedFuture(
                new CompletionException(new TtrpcException(Code.ALREADY_EXISTS, "dup"))));
    server.start();
    TtrpcClient c = client();
    TtrpcException e =
        assertInstanceOf(TtrpcException.class, failure(c.call("svc", "Missing", null, null, null)));
    assertEquals(Code.NOT_FOUND, e.code());
    assertEquals("container abc not found", e.getMessage());
    TtrpcException e2 =
        assertInstanceOf(TtrpcException.class, failure(c.call("svc", "Exists", null, null, null)));
    assertEquals(Code.ALREADY_EXISTS, e2.code());
    assertEquals("dup", e2.getMessage());
  }

  @Test
  void call_handlerThrowsOtherException_unknownAndConnectionSurvives() throws Exception {
    server.register(
        "svc",
        "Boom",
        (ctx, p) -> {
          throw new IllegalStateException("boom");
        });
    server.register(
        "svc",
        "Anon",
        (ctx, p) -> CompletableFuture.failedFuture(new UnsupportedOperationException()));
    server.register("svc", "Null", (ctx, p) -> null);
    server.start();
    TtrpcClient c = client();
    TtrpcException e =
        assertInstanceOf(TtrpcException.class, failure(c.call("svc", "Boom", null, null, null)));
    assertEquals(Code.UNKNOWN, e.code());
    assertEquals("boom", e.getMessage());
    TtrpcException e2 =
        assertInstanceOf(TtrpcException.class, failure(c.call("svc", "Anon", null, null, null)));
    assertEquals(Code.UNKNOWN, e2.code());
    assertEquals(UnsupportedOperationException.class.getName(), e2.getMessage());
    assertEquals(0, await(c.call("svc", "Null", null, null, null)).length);
    assertEquals("alive", str(await(c.call("svc", "Echo", utf8("alive"), null, null))));
    assertFalse(c.isClosed());
  }

  @Test
  void call_timeoutElapses_deadlineExceeded() throws Exception {
    server.register("svc", "Never", (ctx, p) -> new CompletableFuture<>());
    server.start();
    TtrpcClient c = client();
    TtrpcException e =
        assertInstanceOf(
            TtrpcException.class,
            failure(c.call("svc", "Never", null, Duration.ofMillis(50), null)));
    assertEquals(Code.DEADLINE_EXCEEDED, e.code());
    assertEquals(
        "late", str(await(c.call("svc", "Echo", utf8("late"), Duration.ofMinutes(1), null))));
  }

  @Test
  void call_oversizePayload_refusedWithoutClosing() throws Exception {
    server.start();
    TtrpcClient c = client();
    TtrpcException e =
        assertInstanceOf(
            TtrpcException.class,
            failure(c.call("svc", "Echo", new byte[Frame.MAX_DATA], null, null)));
    assertEquals(Code.RESOURCE_EXHAUSTED, e.code());
    assertEquals("ok", str(await(c.call("svc", "Echo", utf8("ok"), null, null))));
  }

  @Test
  void call_oversizeReply_resourceExhausted() throws Exception {
    server.register(
        "svc", "Huge", (ctx, p) -> CompletableFuture.completedFuture(new byte[Frame.MAX_DATA]));
    server.start();
    TtrpcClient c = client();
    TtrpcException e =
        assertInstanceOf(TtrpcException.class, failure(c.call("svc", "Huge", null, null, null)));
    assertEquals(Code.RESOURCE_EXHAUSTED, e.code());
    assertEquals("ok", str(await(c.call("svc", "Echo", utf8("ok"), null, null))));
  }

  @Test
  void serverClose_pendingCallFailsWithIOException() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    server.register(
        "svc",
        "Wait",
        (ctx, p) -> {
          entered.countDown();
          return new CompletableFuture<>();
        });
    server.start();
    TtrpcClient c = client();
    CompletableFuture<byte[]> pending = c.call("svc", "Wait", null, null, null);
    assertTrue(entered.await(WAIT_SECONDS, TimeUnit.SECONDS));
    server.close();
    assertInstanceOf(IOException.class, failure(pending));
    eventually("client notices close", c::isClosed);
    assertInstanceOf(IOException.class, failure(c.call("svc", "Echo", null, null, null)));
    assertFalse(Files.exists(socket));
  }

  @Test
  void clientClose_pendingCallFailsWithIOException() throws Exception {
    server.register("svc", "Wait", (ctx, p) -> new CompletableFuture<>());
    server.start();
    TtrpcClient c = client();
    CompletableFuture<byte[]> pending = c.call("svc", "Wait", null, null, null);
    c.close();
    assertTrue(c.isClosed());
    assertInstanceOf(IOException.class, failure(pending));
    eventually("server drops the connection", () -> server.openConnections() == 0);
  }

  @Test
  void server_manyConnections_allServedAndCounted() throws Exception {
    AtomicInteger accepted = new AtomicInteger();
    server.onAccept(accepted::incrementAndGet);
    server.start();
    int n = 20;
    List<CompletableFuture<byte[]>> calls = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      TtrpcClient c = client();
      for (int j = 0; j < 5; j++) {
        calls.add(c.call("svc", "Echo", utf8(i + ":" + j), null, null));
      }
    }
    for (int i = 0; i < calls.size(); i++) {
      assertEquals((i / 5) + ":" + (i % 5), str(await(calls.get(i))));
    }
    eventually("all connections registered", () -> server.openConnections() == n);
    assertEquals(n, accepted.get());
    clients.forEach(TtrpcClient::close);
    eventually("all connections gone", () -> server.openConnections() == 0);
  }

  @Test
  void start_staleSocketFile_isReplacedAndRemovedOnClose() throws Exception {
    Files.writeString(socket, "stale");
    server.start();
    assertEquals("x", str(await(client().call("svc", "Echo", utf8("x"), null, null))));
    server.close();
    assertFalse(Files.exists(socket));
    server.close();
  }

  @Test
  void connect_noServer_throwsIOException() {
    assertThrows(IOException.class, () -> TtrpcClient.connect(socket));
  }
}
