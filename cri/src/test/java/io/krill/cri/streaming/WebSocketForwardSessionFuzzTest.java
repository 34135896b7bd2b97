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
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
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
import java.util.List;
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
 * Arbitrary bytes as the client's WebSocket frames on a port forward connection to the real {@link
 * StreamingServer}, sent right after a valid upgrade ({@code v4.channel.k8s.io}, two ports, both an
 * echo server of the test's): once the client has half-closed, the server ends the connection
 * within five seconds, and every connection made to the echo server is closed by then; the only
 * errors the connection meets are WebSocket protocol or I/O errors (no programming error reaches a
 * handler, no exception reaches the end of netty's pipeline, no buffer is reported leaked); and a
 * well-behaved client then forwards a connection on the same server.
 */
class WebSocketForwardSessionFuzzTest {
  private static final int PATIENCE_MILLIS = 5_000;

  private static final List<String> EXPECTED_ERRORS =
      List.of(
          "io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException",
          "io.netty.handler.codec.TooLongFrameException",
          "io.netty.handler.codec.CorruptedFrameException",
          "java.io.IOException");

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
    Thread acceptor = new Thread(WebSocketForwardSessionFuzzTest::acceptLoop, "echo");
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
  void anyFrames_afterWebSocketUpgrade_closedCleanlyAndTheServerKeepsForwarding(byte[] frames)
      throws Exception {
    allowTheseServers();
    records.clear();
    try (Socket raw = upgraded(register("fuzz", List.of(80, 81)))) {
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

  private static String register(String pod, List<Integer> ports) {
    int port = echo.getLocalPort();
    return server.register(
        new ForwardRequest(
            pod,
            ports,
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
      // WebSocketForwardSession.exceptionCaught: "{0}: port forward websocket: {1}".
      if (r.getMessage().endsWith("port forward websocket: {1}")) {
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
   * One port forwarded over WebSocket: the two port messages, then "fine\n" sent on channel 0 and
   * echoed back; returns what came back on channel 0 after the port.
   */
  private static String forwardOnce() throws Exception {
    EmbeddedChannel codec =
        new EmbeddedChannel(
            new WebSocket13FrameEncoder(true), new WebSocket13FrameDecoder(false, false, 1 << 20));
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    try (Socket raw = upgraded(register("witness", List.of(80)))) {
      codec.writeOutbound(
          new BinaryWebSocketFrame(Unpooled.copiedBuffer("\0fine\n", StandardCharsets.UTF_8)));
      OutputStream out = raw.getOutputStream();
      for (Object o; (o = codec.readOutbound()) != null; ) {
        io.netty.buffer.ByteBuf b = (io.netty.buffer.ByteBuf) o;
        out.write(ByteBufUtil.getBytes(b));
        b.release();
      }
      InputStream in = raw.getInputStream();
      byte[] buf = new byte[8192];
      int messages = 0;
      while (data.size() < "fine\n".length()) {
        int n = in.read(buf);
        assertTrue(n >= 0, "the server closed the connection before the echo came back");
        codec.writeInbound(Unpooled.copiedBuffer(buf, 0, n));
        for (Object o; (o = codec.readInbound()) != null; ) {
          if (o instanceof BinaryWebSocketFrame f) {
            byte[] m = ByteBufUtil.getBytes(f.content());
            if (messages++ >= 2) {
              assertEquals(0, m[0]);
              data.write(m, 1, m.length - 1);
            }
          }
          ReferenceCountUtil.release(o);
        }
      }
    } finally {
      codec.finishAndReleaseAll();
    }
    return data.toString(StandardCharsets.UTF_8);
  }

  /** A connection upgraded to WebSocket with the binary port forward protocol. */
  private static Socket upgraded(String url) throws IOException {
    URI u = URI.create(url);
    Socket raw = new Socket(u.getHost(), u.getPort());
    try {
      raw.setSoTimeout(PATIENCE_MILLIS);
      OutputStream out = raw.getOutputStream();
      out.write(
          ("GET "
                  + u.getPath()
                  + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                  + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  + "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n")
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
      assertTrue(head.toLowerCase().contains("sec-websocket-protocol: v4.channel.k8s.io"), head);
      return raw;
    } catch (IOException | RuntimeException | Error e) {
      raw.close();
      throw e;
    }
  }
}
