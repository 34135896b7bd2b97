package io.krill.cri.streaming;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.spdy.DefaultSpdySynStreamFrame;
import io.netty.handler.codec.spdy.SpdyDataFrame;
import io.netty.handler.codec.spdy.SpdyFrame;
import io.netty.handler.codec.spdy.SpdyFrameCodec;
import io.netty.handler.codec.spdy.SpdyVersion;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.internal.logging.InternalLoggerFactory;
import io.netty.util.internal.logging.JdkLoggerFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Arbitrary bytes as the SPDY/3.1 stream of a connection to the real {@link StreamingServer}, sent
 * right after a valid upgrade for a registered exec (stdin and stdout): once the client has
 * half-closed, the server ends the connection within five seconds, and a session the bytes started
 * has returned by then; the only errors the connection meets are SPDY protocol or I/O errors (no
 * programming error reaches a handler, no exception reaches the end of netty's pipeline, no buffer
 * is reported leaked); and a well-behaved client then completes an exec on the same server.
 */
class SpdySessionFuzzTest {
  private static final int PATIENCE_MILLIS = 5_000;

  /** What a handler may meet on a connection whose peer sends garbage. */
  private static final List<String> EXPECTED_ERRORS =
      List.of(
          "io.netty.handler.codec.spdy.SpdyProtocolException",
          "java.io.IOException",
          // netty's SPDY header validation: a header block naming a header with a null,
          // non-ASCII or upper-case character, or an empty one, ends the session as a protocol
          // error does
          "java.lang.IllegalArgumentException: name ",
          "java.lang.IllegalArgumentException: value ",
          "java.lang.IllegalArgumentException: Param 'name'");

  private static final AtomicInteger started = new AtomicInteger();
  private static final AtomicInteger ended = new AtomicInteger();
  private static final ConcurrentLinkedQueue<LogRecord> records = new ConcurrentLinkedQueue<>();

  /** Held here: java.util.logging keeps loggers only weakly. */
  private static final Logger krill = Logger.getLogger("krill.cri");

  private static final Logger netty = Logger.getLogger("io.netty");
  private static final Handler capture =
      new Handler() {
        @Override
        public void publish(LogRecord r) {
          records.add(r);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
      };

  private static StreamingServer server;
  private static ResourceLeakDetector.Level leakLevel;
  private static Level krillLevel;

  @BeforeAll
  static void startServer() {
    // netty logs through java.util.logging here (slf4j has no binding on this classpath).
    assertInstanceOf(JdkLoggerFactory.class, InternalLoggerFactory.getDefaultFactory());
    leakLevel = ResourceLeakDetector.getLevel();
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    krillLevel = krill.getLevel();
    krill.setLevel(Level.INFO);
    krill.setUseParentHandlers(false);
    krill.addHandler(capture);
    netty.addHandler(capture);
    server = StreamingServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
  }

  @AfterAll
  static void stopServer() {
    server.close();
    netty.removeHandler(capture);
    krill.removeHandler(capture);
    krill.setUseParentHandlers(true);
    krill.setLevel(krillLevel);
    ResourceLeakDetector.setLevel(leakLevel);
  }

  @FuzzTest
  void anyFrames_afterUpgrade_closedCleanlyAndTheServerKeepsServing(byte[] frames)
      throws Exception {
    allowThisServer();
    records.clear();
    String url =
        server.register(
            new StreamRequest(
                StreamRequest.Kind.EXEC,
                "fuzz",
                true,
                true,
                false,
                false,
                s -> {
                  started.incrementAndGet();
                  try {
                    s.stdin().transferTo(s.stdout());
                    return new Session.Outcome.Success();
                  } finally {
                    ended.incrementAndGet();
                  }
                }));
    try (Socket raw = upgraded(url)) {
      try {
        raw.getOutputStream().write(frames);
        raw.shutdownOutput();
      } catch (IOException e) {
        // The server may drop a client that sent garbage before reading all of it.
      }
      InputStream in = raw.getInputStream();
      byte[] buf = new byte[8192];
      try {
        while (in.read(buf) >= 0) {
          // the server's replies, if any
        }
      } catch (SocketTimeoutException e) {
        fail(
            "the server kept the connection open "
                + PATIENCE_MILLIS
                + " ms after the client's end");
      } catch (IOException e) {
        // reset by the server: as good as its end
      }
    }
    long deadline = System.nanoTime() + PATIENCE_MILLIS * 1_000_000L;
    while (ended.get() != started.get()) {
      assertTrue(System.nanoTime() < deadline, "a session outlived its connection");
      Thread.sleep(1);
    }
    assertOnlyExpectedErrors();

    assertEquals("fine\n", execOnce());
    assertOnlyExpectedErrors();
  }

  /**
   * Jazzer's SSRF detector flags every connection; this test's client may reach its own server. The
   * detector exists only once Jazzer has installed its hooks, and Jazzer resets the policy before
   * every input.
   */
  private static void allowThisServer() {
    int port = URI.create(server.baseUrl()).getPort();
    try {
      BugDetectors.allowNetworkConnections(
          (host, p) ->
              (host.equals("localhost") || host.equals("127.0.0.1")) && p.intValue() == port);
    } catch (IllegalStateException e) {
      // No detector: hooks are off (a regression run).
    }
  }

  private static void assertOnlyExpectedErrors() {
    for (LogRecord r : records) {
      String logger = r.getLoggerName();
      if (logger.startsWith("io.netty") && r.getLevel().intValue() >= Level.WARNING.intValue()) {
        AssertionError e = new AssertionError("netty: " + r.getMessage());
        if (r.getThrown() != null) {
          e.initCause(r.getThrown());
        }
        throw e;
      }
      if (!logger.equals("krill.cri")) {
        continue;
      }
      assertTrue(r.getLevel().intValue() < Level.WARNING.intValue(), () -> render(r));
      // SpdySession.exceptionCaught: "container {0}: {1} stream: {2}", {2} the error's toString.
      if (r.getMessage().endsWith(" stream: {2}")) {
        String error = String.valueOf(r.getParameters()[2]);
        assertTrue(
            EXPECTED_ERRORS.stream().anyMatch(error::startsWith),
            () -> "the session met an unexpected error: " + error);
      }
    }
    records.clear();
  }

  private static String render(LogRecord r) {
    return r.getLevel() + " " + new SimpleFormatter().formatMessage(r);
  }

  /**
   * A full exec as kubectl does it: upgrade, error and stdout streams, then read until the server
   * half-closes; returns what arrived on stdout after checking the v4 status and both streams'
   * ends.
   */
  private static String execOnce() throws Exception {
    String url =
        server.register(
            new StreamRequest(
                StreamRequest.Kind.EXEC,
                "witness",
                false,
                true,
                false,
                false,
                s -> {
                  s.stdout().write("fine\n".getBytes(StandardCharsets.UTF_8));
                  return new Session.Outcome.Success();
                }));
    EmbeddedChannel codec = new EmbeddedChannel(new SpdyFrameCodec(SpdyVersion.SPDY_3_1));
    byte[] answer;
    try (Socket raw = upgraded(url)) {
      raw.getOutputStream().write(encode(codec, open(1, "error"), open(3, "stdout")));
      answer = raw.getInputStream().readAllBytes();
    }
    codec.writeInbound(Unpooled.wrappedBuffer(answer));
    Map<Integer, ByteArrayOutputStream> data = new HashMap<>();
    Set<Integer> finished = new HashSet<>();
    for (Object o; (o = codec.readInbound()) != null; ) {
      if (o instanceof SpdyDataFrame d) {
        data.computeIfAbsent(d.streamId(), k -> new ByteArrayOutputStream())
            .write(ByteBufUtil.getBytes(d.content()));
        if (d.isLast()) {
          finished.add(d.streamId());
        }
      }
      ReferenceCountUtil.release(o);
    }
    codec.finishAndReleaseAll();
    assertEquals(Set.of(1, 3), finished);
    assertEquals(
        "{\"metadata\":{},\"status\":\"Success\"}", data.get(1).toString(StandardCharsets.UTF_8));
    return data.get(3).toString(StandardCharsets.UTF_8);
  }

  /** A connection upgraded to SPDY/3.1 with the v4 remote command protocol. */
  static Socket upgraded(String url) throws IOException {
    URI u = URI.create(url);
    Socket raw = new Socket(u.getHost(), u.getPort());
    try {
      raw.setSoTimeout(PATIENCE_MILLIS);
      OutputStream out = raw.getOutputStream();
      out.write(
          ("POST "
                  + u.getPath()
                  + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                  + "X-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      String head = readHead(raw.getInputStream());
      assertTrue(head.startsWith("HTTP/1.1 101 "), head);
      return raw;
    } catch (IOException | RuntimeException | Error e) {
      raw.close();
      throw e;
    }
  }

  static SpdyFrame open(int id, String type) {
    DefaultSpdySynStreamFrame f = new DefaultSpdySynStreamFrame(id, 0, (byte) 0);
    f.headers().set(RemoteCommand.STREAM_TYPE, type);
    return f;
  }

  /** The frames as one client's codec writes them (header blocks share its zlib stream). */
  static byte[] encode(EmbeddedChannel codec, SpdyFrame... frames) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    List<Object> written = new ArrayList<>();
    for (SpdyFrame f : frames) {
      codec.writeOutbound(f);
    }
    for (Object o; (o = codec.readOutbound()) != null; ) {
      written.add(o);
    }
    for (Object o : written) {
      ByteBuf b = (ByteBuf) o;
      out.writeBytes(ByteBufUtil.getBytes(b));
      b.release();
    }
    return out.toByteArray();
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    while (!b.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      int c = in.read();
      if (c < 0) {
        break;
      }
      b.write(c);
    }
    return b.toString(StandardCharsets.ISO_8859_1);
  }
}
