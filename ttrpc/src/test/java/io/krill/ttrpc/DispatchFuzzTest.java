package io.krill.ttrpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ProtocolException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Arbitrary bytes on a connection to a real {@link TtrpcServer}: every answer is a well-formed
 * response to a request the peer sent (at most one each, an echo's payload intact), the server
 * drops the connection at EOF, and a well-behaved client on another connection is still served.
 */
class DispatchFuzzTest {
  private static Path dir;
  private static ExecutorService pool;
  private static TtrpcServer server;
  private static TtrpcClient witness;

  @BeforeAll
  static void startServer() throws IOException {
    dir = Files.createTempDirectory("krill-ttrpc-fuzz");
    pool = Executors.newCachedThreadPool();
    server = new TtrpcServer(dir.resolve("fuzz.sock"), pool);
    server.register("svc", "Echo", (ctx, p) -> CompletableFuture.completedFuture(p));
    server.register(
        "svc",
        "Fail",
        (ctx, p) -> {
          throw new TtrpcException(Code.NOT_FOUND, "no such thing");
        });
    server.register("svc", "Null", (ctx, p) -> null);
    server.start();
    witness = TtrpcClient.connect(server.socket());
  }

  @AfterAll
  static void stopServer() throws IOException {
    witness.close();
    server.close();
    pool.shutdownNow();
    Files.deleteIfExists(dir);
  }

  @FuzzTest
  void anyBytes_answersOnlyRequestsAndKeepsServing(byte[] wire) throws Exception {
    Map<Integer, Integer> requests = new HashMap<>();
    Map<Integer, RequestMessage> sent = requestsIn(wire, requests);
    Map<Integer, Integer> answers = new HashMap<>();
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(server.socket()));
      ByteBuffer out = ByteBuffer.wrap(wire);
      try {
        while (out.hasRemaining()) {
          ch.write(out);
        }
        ch.shutdownOutput();
      } catch (IOException e) {
        // The server may drop a peer that sent garbage before reading all of it.
      }
      FrameDecoder d = new FrameDecoder();
      ByteBuffer in = ByteBuffer.allocate(64 * 1024);
      FrameDecoder.Sink sink =
          new FrameDecoder.Sink() {
            @Override
            public void onFrame(Frame f) {
              assertEquals(Frame.TYPE_RESPONSE, f.type());
              int n = answers.merge(f.streamId(), 1, Integer::sum);
              assertTrue(
                  n <= requests.getOrDefault(f.streamId(), 0),
                  "more answers on stream " + f.streamId() + " than requests");
              ResponseMessage r;
              try {
                r = ResponseMessage.decode(f.data());
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
              RequestMessage req = sent.get(f.streamId());
              if (r.isOk() && req != null && req.method().equals("Echo")) {
                assertArrayEquals(req.payload(), r.payload());
              }
              if (!r.isOk()) {
                assertTrue(r.message() != null && !r.message().isEmpty(), "error without message");
              }
            }

            @Override
            public void onOversize(int streamId, byte type, long length) {
              fail("the server sent an oversize frame");
            }
          };
      try {
        while (ch.read(in) >= 0) {
          in.flip();
          d.feed(in, sink);
          in.clear();
        }
      } catch (ProtocolException e) {
        fail("the server sent a malformed frame: " + e.getMessage());
      } catch (IOException e) {
        // Reset by the server: as good as EOF.
      }
    }
    byte[] ping = "ping".getBytes(StandardCharsets.UTF_8);
    assertArrayEquals(ping, TestSupport.await(witness.call("svc", "Echo", ping, null, Map.of())));
  }

  /**
   * The request frames in {@code wire}, by stream id, as the server's decoder sees them (value null
   * for an envelope that does not decode).
   */
  private static Map<Integer, RequestMessage> requestsIn(
      byte[] wire, Map<Integer, Integer> requests) {
    Map<Integer, RequestMessage> sent = new HashMap<>();
    FrameDecoder.Sink sink =
        new FrameDecoder.Sink() {
          @Override
          public void onFrame(Frame f) {
            if (f.type() != Frame.TYPE_REQUEST) {
              return;
            }
            requests.merge(f.streamId(), 1, Integer::sum);
            RequestMessage m;
            try {
              m = RequestMessage.decode(f.data());
            } catch (IOException e) {
              m = null;
            }
            // Only the first request on a stream runs; the server refuses a reused id.
            sent.putIfAbsent(f.streamId(), m);
          }

          @Override
          public void onOversize(int streamId, byte type, long length) {
            sent.putIfAbsent(streamId, null);
            requests.merge(streamId, 1, Integer::sum);
          }
        };
    try {
      new FrameDecoder().feed(ByteBuffer.wrap(wire), sink);
    } catch (ProtocolException e) {
      // The server drops the connection here too.
    }
    return sent;
  }
}
