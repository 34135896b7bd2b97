package io.krill.cri.streaming;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.spdy.DefaultSpdyDataFrame;
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
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
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
 * Arbitrary bytes as the SPDY/3.1 stream of a port forward connection to the real {@link
 * StreamingServer}, sent right after a valid upgrade ({@code portforward.k8s.io}), every port
 * forwarded to an echo server of the test's: once the client has half-closed, the server ends the
 * connection within five seconds, and every connection the bytes made to the echo server is closed
 * by then; the only errors the connection meets are SPDY protocol or I/O errors (no programming
 * error reaches a handler, no exception reaches the end of netty's pipeline, no buffer is reported
 * leaked); and a well-behaved client then forwards a connection on the same server.
 */
class PortForwardSessionFuzzTest {
  private static final int PATIENCE_MILLIS = 5_000;

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

  /** Connections to the echo server not yet ended. */
  private static final AtomicInteger open = new AtomicInteger();

  private static final ConcurrentLinkedQueue<LogRecord> records = new ConcurrentLinkedQueue<>();
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
  private static ServerSocket echo;
  private static ResourceLeakDetector.Level leakLevel;
  private static Level krillLevel;

  @BeforeAll
  static void start() throws IOException {
    assertInstanceOf(JdkLoggerFactory.class, InternalLoggerFactory.getDefaultFactory());
    leakLevel = ResourceLeakDetector.getLevel();
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    krillLevel = krill.getLevel();
    krill.setLevel(Level.INFO);
    krill.setUseParentHandlers(false);
    krill.addHandler(capture);
    netty.addHandler(capture);
    server = StreamingServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(PortForwardSessionFuzzTest::acceptLoop, "echo");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  @AfterAll
  static void stop() throws IOException {
    server.close();
    echo.close();
    netty.removeHandler(capture);
    krill.removeHandler(capture);
    krill.setUseParentHandlers(true);
    krill.setLevel(krillLevel);
    ResourceLeakDetector.setLevel(leakLevel);
  }

  /** Echoes each connection until its client's end, then closes it. */
  private static void acceptLoop() {
    while (!echo.isClosed()) {
      Socket s;
      try {
        s = echo.accept();
      } catch (IOException e) {
        return;
      }
      open.incrementAndGet();
      Thread t =
          new Thread(
              () -> {
                try (s) {
                  s.getInputStream().transferTo(s.getOutputStream());
                } catch (IOException e) {
                  // reset by the server: ended either way
                } finally {
                  open.decrementAndGet();
                }
              },
              "echo-conn");
      t.setDaemon(true);
      t.start();
    }
  }

  @FuzzTest
  void anyFrames_afterUpgrade_closedCleanlyAndTheServerKeepsForwarding(byte[] frames)
      throws Exception {
    allowTheseServers();
    records.clear();
    try (Socket raw = upgraded(register("fuzz"))) {
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
    while (open.get() != 0) {
      assertTrue(System.nanoTime() < deadline, "a forwarded connection outlived its session");
      Thread.sleep(1);
    }
    assertOnlyExpectedErrors();

    assertEquals("fine\n", forwardOnce());
    assertOnlyExpectedErrors();
  }

  private static String register(String pod) {
    int port = echo.getLocalPort();
    return server.register(
        new ForwardRequest(
            pod,
            List.of(),
            p ->
                SocketChannel.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))));
  }

  /** Jazzer's SSRF detector flags every connection; these two are the test's own. */
  private static void allowTheseServers() {
    int streaming = URI.create(server.baseUrl()).getPort();
    int echoPort = echo.getLocalPort();
    try {
      BugDetectors.allowNetworkConnections(
          (host, p) ->
              (host.equals("localhost") || host.equals("127.0.0.1"))
                  && (p.intValue() == streaming || p.intValue() == echoPort));
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
      // PortForwardSession.exceptionCaught: "{0}: port forward stream: {1}", {1} the error.
      if (r.getMessage().endsWith("port forward stream: {1}")) {
        String error = String.valueOf(r.getParameters()[1]);
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
   * One connection forwarded as client-go does it: error and data streams, "fine\n" sent and the
   * data stream finished; returns what came back once the server finished both streams, after
   * checking the error stream is empty.
   */
  private static String forwardOnce() throws Exception {
    EmbeddedChannel codec = new EmbeddedChannel(new SpdyFrameCodec(SpdyVersion.SPDY_3_1));
    Map<Integer, ByteArrayOutputStream> data = new HashMap<>();
    Set<Integer> finished = new HashSet<>();
    try (Socket raw = upgraded(register("witness"))) {
      DefaultSpdyDataFrame line =
          new DefaultSpdyDataFrame(3, Unpooled.copiedBuffer("fine\n", StandardCharsets.UTF_8));
      line.setLast(true);
      raw.getOutputStream().write(encode(codec, open(1, "error"), open(3, "data"), line));
      InputStream in = raw.getInputStream();
      byte[] buf = new byte[8192];
      while (!finished.equals(Set.of(1, 3))) {
        int n = in.read(buf);
        assertTrue(n >= 0, "the server closed the connection before finishing both streams");
        codec.writeInbound(Unpooled.copiedBuffer(buf, 0, n));
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
      }
    } finally {
      codec.finishAndReleaseAll();
    }
    assertEquals("", data.getOrDefault(1, new ByteArrayOutputStream()).toString());
    return data.get(3).toString(StandardCharsets.UTF_8);
  }

  /** A connection upgraded to SPDY/3.1 with the port forward protocol. */
  private static Socket upgraded(String url) throws IOException {
    URI u = URI.create(url);
    Socket raw = new Socket(u.getHost(), u.getPort());
    try {
      raw.setSoTimeout(PATIENCE_MILLIS);
      OutputStream out = raw.getOutputStream();
      out.write(
          ("POST "
                  + u.getPath()
                  + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                  + "X-Stream-Protocol-Version: portforward.k8s.io\r\nContent-Length: 0\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      InputStream in = raw.getInputStream();
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      while (!b.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
        int c = in.read();
        if (c < 0) {
          break;
        }
        b.write(c);
      }
      String head = b.toString(StandardCharsets.ISO_8859_1);
      assertTrue(head.startsWith("HTTP/1.1 101 "), head);
      assertTrue(head.contains("X-Stream-Protocol-Version: portforward.k8s.io"), head);
      return raw;
    } catch (IOException | RuntimeException | Error e) {
      raw.close();
      throw e;
    }
  }

  private static SpdyFrame open(int id, String type) {
    DefaultSpdySynStreamFrame f = new DefaultSpdySynStreamFrame(id, 0, (byte) 0);
    f.headers().set("streamtype", type).set("port", "8080").set("requestid", "0");
    return f;
  }

  private static byte[] encode(EmbeddedChannel codec, SpdyFrame... frames) {
    return SpdySessionFuzzTest.encode(codec, frames);
  }
}
