package io.krill.cri.streaming;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.spdy.DefaultSpdyDataFrame;
import io.netty.handler.codec.spdy.DefaultSpdyPingFrame;
import io.netty.handler.codec.spdy.DefaultSpdySynStreamFrame;
import io.netty.handler.codec.spdy.SpdyDataFrame;
import io.netty.handler.codec.spdy.SpdyFrame;
import io.netty.handler.codec.spdy.SpdyFrameCodec;
import io.netty.handler.codec.spdy.SpdyPingFrame;
import io.netty.handler.codec.spdy.SpdyRstStreamFrame;
import io.netty.handler.codec.spdy.SpdySynReplyFrame;
import io.netty.handler.codec.spdy.SpdyVersion;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The streaming server against a SPDY/3.1 client built from netty's codec (the e2e tests use
 * kubectl): upgrade, stream replies, stdin in, output out, the v4 status on the error stream, every
 * stream finished.
 */
class StreamingServerTest {
  private StreamingServer server;
  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

  @BeforeEach
  void start() {
    server = StreamingServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
  }

  @AfterEach
  void stop() {
    server.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  @Test
  void exec_stdinEchoedToStdout_exitCodeInV4Status_allStreamsFinished() throws Exception {
    String url =
        server.register(
            new StreamRequest(
                StreamRequest.Kind.EXEC,
                "c1",
                true,
                true,
                false,
                false,
                s -> {
                  s.stdin().transferTo(s.stdout());
                  s.stdout().write("done\n".getBytes(StandardCharsets.UTF_8));
                  return Session.Outcome.ofExit(3);
                }));
    Client c = connect(url, "v4.channel.k8s.io");
    assertEquals(101, c.upgrade.status().code());
    assertEquals("v4.channel.k8s.io", c.upgrade.headers().get("X-Stream-Protocol-Version"));
    c.open(1, "error", false);
    c.open(3, "stdin", false);
    c.open(5, "stdout", false);
    for (int i = 0; i < 3; i++) {
      assertTrue(c.next() instanceof SpdySynReplyFrame);
    }
    DefaultSpdyDataFrame in =
        new DefaultSpdyDataFrame(3, Unpooled.copiedBuffer("hello\n", StandardCharsets.UTF_8));
    in.setLast(true);
    c.channel.writeAndFlush(in);

    Map<Integer, ByteArrayOutputStream> data = new ConcurrentHashMap<>();
    Map<Integer, Boolean> finished = new ConcurrentHashMap<>();
    while (finished.size() < 3) {
      SpdyFrame f = c.next();
      if (f instanceof SpdyDataFrame d) {
        byte[] b = new byte[d.content().readableBytes()];
        d.content().readBytes(b);
        d.release();
        data.computeIfAbsent(d.streamId(), k -> new ByteArrayOutputStream()).write(b);
        if (d.isLast()) {
          finished.put(d.streamId(), true);
        }
      }
    }
    assertEquals("hello\ndone\n", data.get(5).toString(StandardCharsets.UTF_8));
    assertEquals(
        "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit code: 3\","
            + "\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"3\"}]}}",
        data.get(1).toString(StandardCharsets.UTF_8));
    c.channel.close().sync();
  }

  @Test
  void v3_failureWrittenAsText_pingsAnswered_unexpectedStreamRefused() throws Exception {
    String url =
        server.register(
            new StreamRequest(
                StreamRequest.Kind.EXEC,
                "c2",
                false,
                true,
                false,
                false,
                s ->
                    new Session.Outcome.Failed(
                        "container c2: module /x.wasm not found; check the path")));
    Client c = connect(url, "v3.channel.k8s.io");
    assertEquals("v3.channel.k8s.io", c.upgrade.headers().get("X-Stream-Protocol-Version"));
    c.channel.writeAndFlush(new DefaultSpdyPingFrame(1));
    assertEquals(1, ((SpdyPingFrame) c.next()).id());
    c.open(1, "stdin", false);
    assertTrue(c.next() instanceof SpdyRstStreamFrame, "stdin was not requested");
    c.open(3, "error", false);
    c.open(5, "stdout", false);
    ByteArrayOutputStream error = new ByteArrayOutputStream();
    int fins = 0;
    while (fins < 2) {
      SpdyFrame f = c.next();
      if (f instanceof SpdyDataFrame d) {
        if (d.streamId() == 3) {
          error.write(ByteBufUtil.getBytes(d.content()));
        }
        fins += d.isLast() ? 1 : 0;
        d.release();
      }
    }
    assertEquals(
        "container c2: module /x.wasm not found; check the path",
        error.toString(StandardCharsets.UTF_8));
    c.channel.close().sync();
  }

  @Test
  void tty_resizeStreamExpectedAndIgnored_noStderr() throws Exception {
    String url =
        server.register(
            new StreamRequest(
                StreamRequest.Kind.EXEC,
                "c4",
                false,
                true,
                false,
                true,
                s -> {
                  s.stdout()
                      .write(
                          ((s.tty() && s.stderr() == null) ? "tty\n" : "no tty\n")
                              .getBytes(StandardCharsets.UTF_8));
                  return new Session.Outcome.Success();
                }));
    Client c = connect(url, "v4.channel.k8s.io");
    c.open(1, "error", false);
    c.open(3, "stdout", false);
    assertTrue(c.next() instanceof SpdySynReplyFrame);
    assertTrue(c.next() instanceof SpdySynReplyFrame);
    c.open(5, "resize", false);
    c.channel.writeAndFlush(
        new DefaultSpdyDataFrame(
            5, Unpooled.copiedBuffer("{\"Width\":80,\"Height\":24}", StandardCharsets.UTF_8)));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream error = new ByteArrayOutputStream();
    int fins = 0;
    while (fins < 3) {
      SpdyFrame f = c.next();
      if (f instanceof SpdyDataFrame d) {
        (d.streamId() == 3 ? out : error).write(ByteBufUtil.getBytes(d.content()));
        fins += d.isLast() ? 1 : 0;
        d.release();
      }
    }
    assertEquals("tty\n", out.toString(StandardCharsets.UTF_8));
    assertEquals(
        "{\"metadata\":{},\"status\":\"Success\"}", error.toString(StandardCharsets.UTF_8));
    c.channel.close().sync();
  }

  @Test
  void garbageAfterTheUpgrade_closesThatConnection_theServerServesTheNext() throws Exception {
    String url =
        server.register(
            new StreamRequest(
                StreamRequest.Kind.EXEC,
                "c5",
                false,
                true,
                false,
                false,
                s -> new Session.Outcome.Success()));
    URI u = URI.create(url);
    try (Socket raw = new Socket(u.getHost(), u.getPort())) {
      raw.setSoTimeout(10_000);
      raw.getOutputStream()
          .write(
              ("POST "
                      + u.getPath()
                      + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                      + "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      InputStream in = raw.getInputStream();
      String head = readHead(in);
      assertTrue(head.startsWith("HTTP/1.1 101"), head);
      // A control frame of an unknown SPDY version with a length far past what follows, then noise.
      byte[] garbage = new byte[64];
      new Random(7).nextBytes(garbage);
      garbage[0] = (byte) 0x80;
      garbage[1] = 0x07;
      raw.getOutputStream().write(garbage);
      byte[] buf = new byte[4096];
      // At most a GOAWAY or RST, then end of stream: never a hang.
      while (in.read(buf) >= 0) {
        // drain
      }
    }
    String next =
        server.register(
            new StreamRequest(
                StreamRequest.Kind.EXEC,
                "c6",
                false,
                true,
                false,
                false,
                s -> {
                  s.stdout().write("fine\n".getBytes(StandardCharsets.UTF_8));
                  return new Session.Outcome.Success();
                }));
    Client c = connect(next, "v4.channel.k8s.io");
    c.open(1, "error", false);
    c.open(3, "stdout", false);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int fins = 0;
    while (fins < 2) {
      SpdyFrame f = c.next();
      if (f instanceof SpdyDataFrame d) {
        if (d.streamId() == 3) {
          out.write(ByteBufUtil.getBytes(d.content()));
        }
        fins += d.isLast() ? 1 : 0;
        d.release();
      }
    }
    assertEquals("fine\n", out.toString(StandardCharsets.UTF_8));
    c.channel.close().sync();
  }

  @Test
  void garbageSentWithTheUpgradeRequest_reachesTheSpdyDecoder_andClosesTheConnection()
      throws Exception {
    String url =
        server.register(
            new StreamRequest(
                StreamRequest.Kind.EXEC,
                "c7",
                false,
                true,
                false,
                false,
                s -> new Session.Outcome.Success()));
    URI u = URI.create(url);
    try (Socket raw = new Socket(u.getHost(), u.getPort())) {
      raw.setSoTimeout(10_000);
      byte[] garbage = new byte[64];
      new Random(8).nextBytes(garbage);
      garbage[0] = (byte) 0x80;
      garbage[1] = 0x07;
      ByteArrayOutputStream req = new ByteArrayOutputStream();
      req.write(
          ("POST "
                  + u.getPath()
                  + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                  + "X-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      req.write(garbage);
      raw.getOutputStream().write(req.toByteArray());
      InputStream in = raw.getInputStream();
      assertTrue(readHead(in).startsWith("HTTP/1.1 101"));
      byte[] buf = new byte[4096];
      while (in.read(buf) >= 0) {
        // closed well before the 30 s the client would have to open its streams
      }
    }
  }

  @Test
  void tokenServesOneConnection() throws Exception {
    String url =
        server.register(
            new StreamRequest(
                StreamRequest.Kind.ATTACH,
                "c3",
                false,
                true,
                false,
                false,
                s -> new Session.Outcome.Success()));
    assertEquals(101, connect(url, "v4.channel.k8s.io").upgrade.status().code());
    assertEquals(404, connect(url, "v4.channel.k8s.io").upgrade.status().code());
    assertEquals(
        404,
        connect(url.replace("/attach/", "/exec/"), "v4.channel.k8s.io").upgrade.status().code());
  }

  @Test
  void portForward_pairsByRequestId_copiesBothWaysAtOnce_reportsARefusedPort() throws Exception {
    try (ServerSocket echo = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
      Thread acceptor =
          new Thread(
              () -> {
                while (true) {
                  Socket s;
                  try {
                    s = echo.accept();
                  } catch (IOException e) {
                    return;
                  }
                  Thread t =
                      new Thread(
                          () -> {
                            try (s) {
                              s.getInputStream().transferTo(s.getOutputStream());
                            } catch (IOException e) {
                              // closed by the server
                            }
                          });
                  t.setDaemon(true);
                  t.start();
                }
              });
      acceptor.setDaemon(true);
      acceptor.start();
      String url =
          server.register(
              new ForwardRequest(
                  "p1",
                  List.of(),
                  port -> {
                    if (port == 7) {
                      throw new IOException("cannot connect to localhost:7: Connection refused");
                    }
                    return java.nio.channels.SocketChannel.open(
                        new InetSocketAddress(
                            InetAddress.getLoopbackAddress(), echo.getLocalPort()));
                  }));
      Client c = connect(url, "portforward.k8s.io");
      assertEquals(101, c.upgrade.status().code());
      assertEquals("portforward.k8s.io", c.upgrade.headers().get("X-Stream-Protocol-Version"));
      // Two connections at once, their streams interleaved.
      c.openForward(1, "error", "80", "0");
      c.openForward(5, "error", "81", "1");
      c.openForward(3, "data", "80", "0");
      c.openForward(7, "data", "81", "1");
      byte[] big = new byte[2 << 20];
      new Random(9).nextBytes(big);
      for (int off = 0; off < big.length; off += 32 * 1024) {
        c.channel.write(new DefaultSpdyDataFrame(3, Unpooled.wrappedBuffer(big, off, 32 * 1024)));
      }
      c.channel.write(new DefaultSpdyDataFrame(7, Unpooled.copiedBuffer("small", UTF8)));
      for (int id : new int[] {3, 7}) {
        DefaultSpdyDataFrame fin = new DefaultSpdyDataFrame(id);
        fin.setLast(true);
        c.channel.write(fin);
      }
      c.channel.flush();
      Map<Integer, ByteArrayOutputStream> data = c.untilFinished(1, 3, 5, 7);
      assertTrue(java.util.Arrays.equals(big, data.get(3).toByteArray()), "2 MiB echoed intact");
      assertEquals("small", data.get(7).toString(UTF8));
      assertEquals("", data.get(1).toString(UTF8));
      assertEquals("", data.get(5).toString(UTF8));

      // Then one to a port nothing listens on: the reason on its error stream, the session goes on.
      c.openForward(9, "error", "7", "2");
      c.openForward(11, "data", "7", "2");
      assertEquals(
          "error forwarding port 7 to pod p1: cannot connect to localhost:7: Connection refused",
          c.untilFinished(9, 11).get(9).toString(UTF8));
      c.openForward(13, "error", "80", "3");
      c.openForward(15, "data", "80", "3");
      DefaultSpdyDataFrame again =
          new DefaultSpdyDataFrame(15, Unpooled.copiedBuffer("again", UTF8));
      again.setLast(true);
      c.channel.writeAndFlush(again);
      assertEquals("again", c.untilFinished(13, 15).get(15).toString(UTF8));
      c.channel.close().sync();

      String other = server.register(new ForwardRequest("p2", List.of(), port -> null));
      FullHttpResponse refused = connect(other, "v4.channel.k8s.io").upgrade;
      assertEquals(403, refused.status().code());
      assertEquals(
          "portforward.k8s.io", refused.headers().get("X-Accepted-Stream-Protocol-Versions"));
      assertTrue(refused.content().toString(UTF8).startsWith("pod p2: "));
    }
  }

  @Test
  void portForward_overWebSocket_eachNamedPortOnItsChannels_binaryAndBase64() throws Exception {
    try (ServerSocket echo = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
      Thread acceptor =
          new Thread(
              () -> {
                while (true) {
                  try {
                    Socket s = echo.accept();
                    Thread t =
                        new Thread(
                            () -> {
                              try (s) {
                                s.getInputStream().transferTo(s.getOutputStream());
                              } catch (IOException e) {
                                // closed by the server
                              }
                            });
                    t.setDaemon(true);
                    t.start();
                  } catch (IOException e) {
                    return;
                  }
                }
              });
      acceptor.setDaemon(true);
      acceptor.start();
      ForwardRequest.Forwarder forwarder =
          port -> {
            if (port == 7) {
              throw new IOException("cannot connect to localhost:7: Connection refused");
            }
            return java.nio.channels.SocketChannel.open(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), echo.getLocalPort()));
          };

      String url = server.register(new ForwardRequest("p3", List.of(80, 7), forwarder));
      WsClient binary = WsClient.open(url, "v4.channel.k8s.io");
      assertEquals("v4.channel.k8s.io", binary.ws.getSubprotocol());
      List<String> got = new java.util.ArrayList<>();
      for (int i = 0; i < 4; i++) {
        got.add(binary.nextHex());
      }
      // Each channel's first message is its port, little-endian: 80 = 0x0050, 7 = 0x0007.
      assertEquals(List.of("005000", "015000", "020700", "030700"), got);
      binary
          .ws
          .sendBinary(java.nio.ByteBuffer.wrap(new byte[] {0, 'h', 'i'}), true)
          .get(10, TimeUnit.SECONDS);
      java.util.Set<String> rest = new java.util.HashSet<>();
      rest.add(binary.nextHex());
      rest.add(binary.nextHex());
      assertEquals(
          java.util.Set.of(
              "006869",
              "03"
                  + java.util.HexFormat.of()
                      .formatHex(
                          "error forwarding port 7 to pod p3: cannot connect to localhost:7: Connection refused"
                              .getBytes(UTF8))),
          rest);
      binary.ws.sendClose(1000, "done").get(10, TimeUnit.SECONDS);
      assertTrue(binary.closed.await(10, TimeUnit.SECONDS), "the server never closed");

      String text = server.register(new ForwardRequest("p4", List.of(80), forwarder));
      WsClient b64 = WsClient.open(text, "v4.base64.channel.k8s.io");
      assertEquals("0UAA=", b64.nextText());
      assertEquals("1UAA=", b64.nextText());
      b64.ws.sendText("0aGk=", true).get(10, TimeUnit.SECONDS);
      assertEquals("0aGk=", b64.nextText());
      b64.ws.sendClose(1000, "done").get(10, TimeUnit.SECONDS);
      assertTrue(b64.closed.await(10, TimeUnit.SECONDS), "the server never closed");

      // Named no ports, or offered only other subprotocols (kubectl's SPDY tunnel): 400.
      String none = server.register(new ForwardRequest("p5", List.of(), forwarder));
      java.util.concurrent.CompletionException noPorts =
          org.junit.jupiter.api.Assertions.assertThrows(
              java.util.concurrent.CompletionException.class,
              () -> WsClient.open(none, "v4.channel.k8s.io"));
      assertEquals(
          400,
          ((java.net.http.WebSocketHandshakeException) noPorts.getCause())
              .getResponse()
              .statusCode());
      String tunnel = server.register(new ForwardRequest("p6", List.of(80), forwarder));
      URI u = URI.create(tunnel);
      try (Socket raw = new Socket(u.getHost(), u.getPort())) {
        raw.setSoTimeout(10_000);
        raw.getOutputStream()
            .write(
                ("GET "
                        + u.getPath()
                        + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        + "Sec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
        String head = readHead(raw.getInputStream());
        assertTrue(head.startsWith("HTTP/1.1 400 "), head);
      }
    }
  }

  /** java.net.http's WebSocket client, its whole messages queued. */
  private static final class WsClient implements java.net.http.WebSocket.Listener {
    final BlockingQueue<Object> messages = new LinkedBlockingQueue<>();
    final java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
    final ByteArrayOutputStream partBinary = new ByteArrayOutputStream();
    final StringBuilder partText = new StringBuilder();
    java.net.http.WebSocket ws;

    static WsClient open(String url, String protocol) {
      WsClient c = new WsClient();
      c.ws =
          java.net.http.HttpClient.newHttpClient()
              .newWebSocketBuilder()
              .subprotocols(protocol)
              .buildAsync(URI.create(url.replace("http://", "ws://")), c)
              .join();
      return c;
    }

    @Override
    public java.util.concurrent.CompletionStage<?> onBinary(
        java.net.http.WebSocket w, java.nio.ByteBuffer data, boolean last) {
      byte[] b = new byte[data.remaining()];
      data.get(b);
      partBinary.writeBytes(b);
      if (last) {
        messages.add(partBinary.toByteArray());
        partBinary.reset();
      }
      w.request(1);
      return null;
    }

    @Override
    public java.util.concurrent.CompletionStage<?> onText(
        java.net.http.WebSocket w, CharSequence data, boolean last) {
      partText.append(data);
      if (last) {
        messages.add(partText.toString());
        partText.setLength(0);
      }
      w.request(1);
      return null;
    }

    @Override
    public java.util.concurrent.CompletionStage<?> onClose(
        java.net.http.WebSocket w, int status, String reason) {
      closed.countDown();
      return null;
    }

    Object next() throws InterruptedException {
      Object o = messages.poll(10, TimeUnit.SECONDS);
      if (o == null) {
        throw new AssertionError("no WebSocket message within 10 s");
      }
      return o;
    }

    String nextHex() throws InterruptedException {
      return java.util.HexFormat.of().formatHex((byte[]) next());
    }

    String nextText() throws InterruptedException {
      return (String) next();
    }
  }

  private static final java.nio.charset.Charset UTF8 = StandardCharsets.UTF_8;

  private final class Client {
    void openForward(int id, String type, String port, String requestId) {
      DefaultSpdySynStreamFrame f = new DefaultSpdySynStreamFrame(id, 0, (byte) 0);
      f.headers().set("streamtype", type).set("port", port).set("requestid", requestId);
      channel.writeAndFlush(f);
    }

    /** What arrived on each of these streams once the server has finished them all. */
    Map<Integer, ByteArrayOutputStream> untilFinished(Integer... ids) throws Exception {
      Map<Integer, ByteArrayOutputStream> data = new java.util.HashMap<>();
      java.util.Set<Integer> finished = new java.util.HashSet<>();
      for (int id : ids) {
        data.put(id, new ByteArrayOutputStream());
      }
      while (!finished.containsAll(java.util.List.of(ids))) {
        SpdyFrame f = next();
        if (f instanceof SpdyDataFrame d) {
          data.computeIfAbsent(d.streamId(), k -> new ByteArrayOutputStream())
              .write(ByteBufUtil.getBytes(d.content()));
          if (d.isLast()) {
            finished.add(d.streamId());
          }
          d.release();
        } else if (f instanceof SpdyRstStreamFrame r) {
          throw new AssertionError("stream " + r.streamId() + " reset: " + r.status());
        }
      }
      return data;
    }

    final BlockingQueue<Object> frames = new LinkedBlockingQueue<>();
    Channel channel;
    FullHttpResponse upgrade;

    void open(int id, String type, boolean last) {
      DefaultSpdySynStreamFrame f = new DefaultSpdySynStreamFrame(id, 0, (byte) 0);
      f.headers().set("streamtype", type);
      f.setLast(last);
      channel.writeAndFlush(f);
    }

    SpdyFrame next() throws InterruptedException {
      Object o = frames.poll(10, TimeUnit.SECONDS);
      if (o == null) {
        throw new AssertionError("no frame from the server within 10 s");
      }
      return (SpdyFrame) o;
    }
  }

  private Client connect(String url, String protocol) throws Exception {
    URI u = URI.create(url);
    Client c = new Client();
    BlockingQueue<FullHttpResponse> responses = new LinkedBlockingQueue<>();
    c.channel =
        new Bootstrap()
            .group(group)
            .channel(NioSocketChannel.class)
            .handler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    ch.pipeline()
                        .addLast("http", new HttpClientCodec())
                        .addLast("aggregate", new HttpObjectAggregator(65536))
                        .addLast(
                            "upgrade",
                            new SimpleChannelInboundHandler<FullHttpResponse>() {
                              @Override
                              protected void channelRead0(
                                  ChannelHandlerContext ctx, FullHttpResponse r) {
                                if (r.status().code() == 101) {
                                  ctx.pipeline().remove("aggregate");
                                  ctx.pipeline().remove("http");
                                  ctx.pipeline()
                                      .addBefore(
                                          "upgrade",
                                          "spdy",
                                          new SpdyFrameCodec(SpdyVersion.SPDY_3_1));
                                  ctx.pipeline()
                                      .replace(
                                          this,
                                          "frames",
                                          new SimpleChannelInboundHandler<Object>(false) {
                                            @Override
                                            protected void channelRead0(
                                                ChannelHandlerContext ctx, Object msg) {
                                              c.frames.add(msg);
                                            }
                                          });
                                }
                                // A copy on the heap: the aggregated response's pooled
                                // buffer goes back when this handler returns, and a retained one
                                // nobody releases is a leak netty reports in a later test.
                                responses.add(r.replace(Unpooled.copiedBuffer(r.content())));
                              }
                            });
                  }
                })
            .connect(u.getHost(), u.getPort())
            .sync()
            .channel();
    DefaultFullHttpRequest req =
        new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, u.getPath());
    req.headers()
        .set(HttpHeaderNames.HOST, u.getHost())
        .set(HttpHeaderNames.CONNECTION, "Upgrade")
        .set(HttpHeaderNames.UPGRADE, "SPDY/3.1")
        .set("X-Stream-Protocol-Version", protocol)
        .setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
    c.channel.writeAndFlush(req);
    c.upgrade = responses.poll(10, TimeUnit.SECONDS);
    return c;
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
