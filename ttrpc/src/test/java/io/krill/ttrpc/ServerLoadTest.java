package io.krill.ttrpc;

import static io.krill.ttrpc.TestSupport.await;
import static io.krill.ttrpc.TestSupport.eventually;
import static io.krill.ttrpc.TestSupport.str;
import static io.krill.ttrpc.TestSupport.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many clients, hostile clients and clients that stop reading: what the daemon's socket must
 * survive without costing a thread per connection or stalling the other clients.
 */
class ServerLoadTest {
  /** Two handler threads: a server whose handlers block on a client would stall at once. */
  private static final int HANDLER_THREADS = 2;

  @TempDir Path dir;
  private final ExecutorService pool = Executors.newFixedThreadPool(HANDLER_THREADS);
  private final List<SocketChannel> raw = new ArrayList<>();
  private TtrpcServer server;
  private Path socket;

  private void start() throws IOException {
    socket = dir.resolve("load.sock");
    server = new TtrpcServer(socket, pool);
    server.register("svc", "Echo", (ctx, p) -> CompletableFuture.completedFuture(p));
    server.register(
        "svc",
        "Big",
        (ctx, p) -> CompletableFuture.completedFuture(bigReply(Integer.parseInt(str(p)))));
    server.start();
  }

  @AfterEach
  void tearDown() throws IOException {
    for (SocketChannel ch : raw) {
      ch.close();
    }
    if (server != null) {
      server.close();
    }
    pool.shutdownNow();
  }

  private static int threads() {
    return ManagementFactory.getThreadMXBean().getThreadCount();
  }

  private static byte[] bigReply(int n) {
    byte[] b = new byte[1 << 20];
    Arrays.fill(b, (byte) n);
    return b;
  }

  private static byte[] request(int streamId, String method, byte[] payload) {
    byte[] data = new RequestMessage("svc", method, payload, 0, null).encode();
    return Frame.of(streamId, Frame.TYPE_REQUEST, data).toBytes();
  }

  private static void writeAll(SocketChannel ch, byte[] bytes) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  /** Reads exactly one response frame from a blocking channel. */
  private static ResponseMessage readResponse(SocketChannel ch, int streamId) throws Exception {
    Map.Entry<Integer, ResponseMessage> r = readAnyResponse(ch);
    assertEquals(streamId, r.getKey());
    return r.getValue();
  }

  /** Reads one response frame, whichever stream it answers: replies go out as calls complete. */
  private static Map.Entry<Integer, ResponseMessage> readAnyResponse(SocketChannel ch)
      throws Exception {
    ByteBuffer header = ByteBuffer.allocate(Frame.HEADER_SIZE);
    readFully(ch, header);
    header.flip();
    int length = header.getInt();
    int streamId = header.getInt();
    assertEquals(Frame.TYPE_RESPONSE, header.get());
    ByteBuffer body = ByteBuffer.allocate(length);
    readFully(ch, body);
    return Map.entry(streamId, ResponseMessage.decode(body.array()));
  }

  private static void readFully(SocketChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      if (ch.read(b) < 0) {
        throw new IOException("server closed the connection");
      }
    }
  }

  @Test
  void server_thousandConnectsAtOnce_allServedWithoutAThreadEach() throws Exception {
    start();
    int n = 1000;
    int before = threads();
    for (int i = 0; i < n; i++) {
      // Non-blocking, as a storm of clients would: a full listen backlog fails with EAGAIN.
      SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
      raw.add(ch);
      ch.configureBlocking(false);
      try {
        ch.connect(UnixDomainSocketAddress.of(socket));
      } catch (IOException e) {
        fail("connect " + (i + 1) + " of " + n + " refused: " + e.getMessage());
      }
    }
    eventually("all connections accepted", () -> server.openConnections() == n);
    int idle = threads();
    assertTrue(
        idle - before < 20, "threads before: " + before + ", with " + n + " idle clients: " + idle);

    for (int i = 0; i < n; i++) {
      SocketChannel ch = raw.get(i);
      ch.configureBlocking(true);
      writeAll(ch, request(1, "Echo", utf8("client " + i)));
    }
    for (int i = 0; i < n; i++) {
      ResponseMessage r = readResponse(raw.get(i), 1);
      assertTrue(r.isOk(), "client " + i + ": " + r.message());
      assertEquals("client " + i, str(r.payload()));
    }
    int busy = threads();
    assertTrue(
        busy - before < 20, "threads before: " + before + ", after " + n + " calls: " + busy);
  }

  @Test
  void connection_garbageBesideABusyClient_onlyTheGarbageIsDropped() throws Exception {
    start();
    try (TtrpcClient busy = TtrpcClient.connect(socket)) {
      AtomicBoolean stop = new AtomicBoolean();
      List<CompletableFuture<byte[]>> calls = new ArrayList<>();
      Thread caller =
          new Thread(
              () -> {
                for (int i = 0; i < 2000 && !stop.get(); i++) {
                  calls.add(busy.call("svc", "Echo", utf8("call " + i), null, null));
                }
              });
      caller.start();
      for (int i = 0; i < 20; i++) {
        try (RawPeer bad = new RawPeer(socket)) {
          bad.write(i % 2 == 0 ? utf8("GET / HTTP/1.1\r\n\r\n") : new byte[] {-1, -1, -1, -1, 0});
          if (i % 2 == 0) {
            assertTrue(bad.awaitEof(), "garbage connection " + i + " not dropped");
          }
        }
      }
      stop.set(true);
      caller.join();
      for (int i = 0; i < calls.size(); i++) {
        assertEquals("call " + i, str(await(calls.get(i))));
      }
      assertTrue(calls.size() > 0);
      eventually("only the busy client left", () -> server.openConnections() == 1);
    }
  }

  @Test
  void connection_clientNotReading_othersServedAndItsRepliesArriveIntact() throws Exception {
    start();
    int calls = 16;
    try (SocketChannel slow = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        TtrpcClient good = TtrpcClient.connect(socket)) {
      // 16 MiB of replies: far more than the socket buffers, so the server must hold them back.
      for (int i = 0; i < calls; i++) {
        writeAll(slow, request(2 * i + 1, "Big", utf8(String.valueOf(i))));
      }
      for (int i = 0; i < 3 * HANDLER_THREADS; i++) {
        assertEquals(
            "still served " + i,
            str(await(good.call("svc", "Echo", utf8("still served " + i), null, null))));
      }
      Map<Integer, ResponseMessage> replies = new TreeMap<>();
      for (int i = 0; i < calls; i++) {
        Map.Entry<Integer, ResponseMessage> r = readAnyResponse(slow);
        assertEquals(null, replies.put(r.getKey(), r.getValue()), "two replies to " + r.getKey());
      }
      for (int i = 0; i < calls; i++) {
        ResponseMessage r = replies.get(2 * i + 1);
        assertTrue(r.isOk(), r.message());
        assertArrayEquals(bigReply(i), r.payload(), "reply " + i);
      }
    }
  }

  @Test
  void connection_clientNeverReading_isDroppedAndOthersServed() throws Exception {
    start();
    try (SocketChannel hog = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        TtrpcClient good = TtrpcClient.connect(socket)) {
      int calls = (int) (ServerConnection.MAX_QUEUED_BYTES >> 20) + 8;
      for (int i = 0; i < calls; i++) {
        writeAll(hog, request(2 * i + 1, "Big", utf8(String.valueOf(i))));
      }
      eventually("the hog is dropped", () -> server.openConnections() == 1);
      assertEquals("ok", str(await(good.call("svc", "Echo", utf8("ok"), null, null))));
    }
  }

  @Test
  void request_handlerPoolFull_unavailableNamingTheCallAndConnectionSurvives() throws Exception {
    Path full = dir.resolve("full.sock");
    AtomicBoolean reject = new AtomicBoolean(true);
    try (TtrpcServer s =
        new TtrpcServer(
            full,
            r -> {
              if (reject.get()) {
                throw new RejectedExecutionException("queue full");
              }
              pool.execute(r);
            })) {
      s.register("svc", "Echo", (ctx, p) -> CompletableFuture.completedFuture(p));
      s.start();
      try (TtrpcClient c = TtrpcClient.connect(full)) {
        TtrpcException e =
            assertInstanceOf(
                TtrpcException.class,
                TestSupport.failure(c.call("svc", "Echo", utf8("x"), null, null)));
        assertEquals(Code.UNAVAILABLE, e.code());
        assertEquals(
            "server is overloaded: too many calls waiting for a handler; retry svc/Echo",
            e.getMessage());
        reject.set(false);
        assertEquals("y", str(await(c.call("svc", "Echo", utf8("y"), null, null))));
      }
    }
  }
}
