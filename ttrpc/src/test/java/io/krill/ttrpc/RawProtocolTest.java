package io.krill.ttrpc;

import static io.krill.ttrpc.TestSupport.await;
import static io.krill.ttrpc.TestSupport.eventually;
import static io.krill.ttrpc.TestSupport.str;
import static io.krill.ttrpc.TestSupport.utf8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Wire-level behaviour that a well-behaved client can never trigger. */
class RawProtocolTest {
  @TempDir Path dir;
  private ExecutorService pool;
  private TtrpcServer server;
  private Path socket;

  @BeforeEach
  void setUp() throws Exception {
    pool = Executors.newCachedThreadPool();
    socket = dir.resolve("raw.sock");
    server = new TtrpcServer(socket, pool);
    server.register("svc", "Echo", (ctx, p) -> CompletableFuture.completedFuture(p));
    server.start();
  }

  @AfterEach
  void tearDown() {
    server.close();
    pool.shutdownNow();
  }

  @Test
  void request_oversize_repliesResourceExhaustedAndConnectionSurvives() throws Exception {
    try (RawPeer peer = new RawPeer(socket)) {
      int len = Frame.MAX_DATA + 1;
      ByteBuffer header =
          ByteBuffer.allocate(Frame.HEADER_SIZE)
              .putInt(len)
              .putInt(1)
              .put(Frame.TYPE_REQUEST)
              .put((byte) 0);
      peer.write(header.array());
      peer.write(new byte[len]);
      peer.request(3, "svc", "Echo", utf8("after"));

      ResponseMessage first = peer.nextResponse(1);
      assertEquals(Code.RESOURCE_EXHAUSTED.value(), first.code());
      assertEquals(
          "message length 4194305 exceed maximum message size of 4194304", first.message());
      ResponseMessage second = peer.nextResponse(3);
      assertTrue(second.isOk());
      assertEquals("after", str(second.payload()));
    }
  }

  @Test
  void request_evenStreamId_repliesInvalidArgument() throws Exception {
    try (RawPeer peer = new RawPeer(socket)) {
      peer.request(2, "svc", "Echo", utf8("x"));
      ResponseMessage r = peer.nextResponse(2);
      assertEquals(Code.INVALID_ARGUMENT.value(), r.code());
      assertEquals("StreamID must be odd for client initiated streams", r.message());
      peer.request(1, "svc", "Echo", utf8("y"));
      assertEquals("y", str(peer.nextResponse(1).payload()));
    }
  }

  @Test
  void request_reusedStreamId_repliesInvalidArgument() throws Exception {
    try (RawPeer peer = new RawPeer(socket)) {
      peer.request(5, "svc", "Echo", utf8("a"));
      assertTrue(peer.nextResponse(5).isOk());
      peer.request(3, "svc", "Echo", utf8("b"));
      ResponseMessage r = peer.nextResponse(3);
      assertEquals(Code.INVALID_ARGUMENT.value(), r.code());
      assertEquals("StreamID cannot be re-used and must increment", r.message());
      peer.request(5, "svc", "Echo", utf8("c"));
      assertEquals(Code.INVALID_ARGUMENT.value(), peer.nextResponse(5).code());
    }
  }

  @Test
  void request_malformedEnvelope_repliesInvalidArgument() throws Exception {
    try (RawPeer peer = new RawPeer(socket)) {
      peer.write(Frame.of(1, Frame.TYPE_REQUEST, new byte[] {0x0a, 0x7f, 0x01}).toBytes());
      assertEquals(Code.INVALID_ARGUMENT.value(), peer.nextResponse(1).code());
      peer.request(3, "svc", "Echo", utf8("ok"));
      assertTrue(peer.nextResponse(3).isOk());
    }
  }

  @Test
  void frame_dataAndResponseTypes_areIgnored() throws Exception {
    try (RawPeer peer = new RawPeer(socket)) {
      peer.write(Frame.of(1, Frame.TYPE_DATA, utf8("stream data")).toBytes());
      peer.write(Frame.of(3, Frame.TYPE_RESPONSE, new byte[0]).toBytes());
      peer.write(Frame.of(5, (byte) 42, new byte[0]).toBytes());
      peer.request(7, "svc", "Echo", utf8("still here"));
      ResponseMessage r = peer.nextResponse(7);
      assertEquals("still here", str(r.payload()));
    }
  }

  @Test
  void connection_garbage_closesOnlyThatConnection() throws Exception {
    try (TtrpcClient good = TtrpcClient.connect(socket);
        RawPeer bad = new RawPeer(socket)) {
      assertEquals("1", str(await(good.call("svc", "Echo", utf8("1"), null, null))));
      bad.write(utf8("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      assertTrue(bad.awaitEof(), "server should drop the garbage connection");
      eventually("bad connection unregistered", () -> server.openConnections() == 1);
      assertEquals("2", str(await(good.call("svc", "Echo", utf8("2"), null, null))));
    }
  }

  @Test
  void connection_eofMidFrame_closesOnlyThatConnection() throws Exception {
    try (TtrpcClient good = TtrpcClient.connect(socket)) {
      RawPeer bad = new RawPeer(socket);
      eventually("both connected", () -> server.openConnections() == 2);
      byte[] frame =
          Frame.of(
                  1,
                  Frame.TYPE_REQUEST,
                  new RequestMessage("svc", "Echo", utf8("xyz"), 0, null).encode())
              .toBytes();
      bad.write(Arrays.copyOf(frame, frame.length - 2));
      bad.channel.shutdownOutput();
      assertTrue(bad.awaitEof());
      bad.close();
      eventually("bad connection unregistered", () -> server.openConnections() == 1);
      assertEquals("ok", str(await(good.call("svc", "Echo", utf8("ok"), null, null))));
    }
  }
}
