package io.krill.cri.streaming;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A port forward over WebSocket, as kubelet's streaming server speaks it ({@code
 * v4.channel.k8s.io}, binary, or {@code v4.base64.channel.k8s.io}, text): one connection to each
 * port the PortForward call named, port {@code i} on channels {@code 2i} (data, both ways) and
 * {@code 2i+1} (error, server to client). Every message starts with its channel (a byte; in base64,
 * a digit, the rest base64), and the server's first message on each channel is the port, two bytes
 * little-endian. A connection that fails is reported as text on its error channel; once every
 * port's connection has ended the WebSocket is closed, and the client closing it closes them.
 */
final class WebSocketForwardSession extends SimpleChannelInboundHandler<WebSocketFrame> {
  private static final System.Logger LOG = System.getLogger("krill.cri");

  static final String BINARY = "v4.channel.k8s.io";
  static final String BASE64 = "v4.base64.channel.k8s.io";

  private static final int MAX_FRAME = 32 * 1024;
  private static final int TO_POD_HIGH_WATER = 1 << 20;

  /** The largest message a client may send, fragments joined. */
  private static final int MAX_MESSAGE = 1 << 20;

  private final ForwardRequest request;
  private final boolean base64;
  private final ExecutorService sessions;
  private final List<Connection> connections = new ArrayList<>();
  private final AtomicInteger running = new AtomicInteger();
  private final Writability writability = new Writability();
  private final java.io.ByteArrayOutputStream message = new java.io.ByteArrayOutputStream();
  private boolean messageIsText;
  private boolean inMessage;
  private volatile boolean gone;
  private Channel channel;

  WebSocketForwardSession(ForwardRequest request, String protocol, ExecutorService sessions) {
    this.request = request;
    this.base64 = protocol.equals(BASE64);
    this.sessions = sessions;
  }

  /**
   * The first of the client's WebSocket subprotocols (each {@code Sec-WebSocket-Protocol} header a
   * comma-separated list) spoken here; null if none is.
   */
  static String negotiate(List<String> offered) {
    for (String h : offered) {
      for (String p : h.split(",")) {
        String s = p.strip();
        if (s.equals(BINARY) || s.equals(BASE64)) {
          return s;
        }
      }
    }
    return null;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
    List<Integer> ports = request.ports();
    running.set(ports.size());
    for (int i = 0; i < ports.size(); i++) {
      int port = ports.get(i);
      byte[] le = {(byte) port, (byte) (port >>> 8)};
      channel.write(frame(2 * i, le, 0, 2));
      channel.write(frame(2 * i + 1, le, 0, 2));
      connections.add(new Connection(i, port, new ToPod(channel, TO_POD_HIGH_WATER)));
    }
    channel.flush();
    for (Connection c : connections) {
      sessions.execute(() -> forward(c));
    }
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame f) {
    if (f instanceof CloseWebSocketFrame) {
      // The closing handshake: answer with a close frame, then close.
      ctx.writeAndFlush(new CloseWebSocketFrame(1000, "")).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    if (f instanceof PingWebSocketFrame) {
      ctx.writeAndFlush(new PongWebSocketFrame(f.content().retain()));
      return;
    }
    // A message may come in fragments: the first a binary or text frame, the rest continuations.
    if (f instanceof BinaryWebSocketFrame || f instanceof TextWebSocketFrame) {
      message.reset();
      messageIsText = f instanceof TextWebSocketFrame;
      inMessage = true;
    } else if (!(f instanceof ContinuationWebSocketFrame) || !inMessage) {
      return;
    }
    if (message.size() + f.content().readableBytes() > MAX_MESSAGE) {
      LOG.log(
          Level.INFO,
          "{0}: port forward websocket: a message over {1} bytes; closing",
          request.owner(),
          MAX_MESSAGE);
      ctx.close();
      return;
    }
    message.writeBytes(ByteBufUtil.getBytes(f.content()));
    if (f.isFinalFragment()) {
      inMessage = false;
      received(messageIsText, message.toByteArray());
    }
  }

  /** A whole message: its channel, then the bytes (binary) or their base64 (text). */
  private void received(boolean text, byte[] m) {
    if (m.length == 0 || text != base64) {
      return;
    }
    int ch = text ? m[0] - '0' : m[0] & 0xff;
    byte[] payload;
    if (text) {
      try {
        payload =
            Base64.getDecoder().decode(new String(m, 1, m.length - 1, StandardCharsets.US_ASCII));
      } catch (IllegalArgumentException e) {
        LOG.log(Level.INFO, "{0}: port forward: bad base64 on channel {1}", request.owner(), ch);
        return;
      }
    } else {
      payload = java.util.Arrays.copyOfRange(m, 1, m.length);
    }
    // Only data channels carry what the client sends; its writes to an error channel are dropped.
    if (ch >= 0 && ch % 2 == 0 && ch / 2 < connections.size() && payload.length > 0) {
      connections.get(ch / 2).toPod.offer(payload);
    }
  }

  /** On a session thread: connects to the port, then copies what the pod sends. */
  private void forward(Connection c) {
    String failure = null;
    try {
      SocketChannel s = request.forwarder().connect(c.port);
      synchronized (c) {
        c.socket = s;
      }
      if (gone) {
        c.closeSocket();
        return;
      }
      sessions.execute(() -> copyToPod(c, s));
      ByteBuffer buf = ByteBuffer.allocate(MAX_FRAME);
      while (!gone) {
        buf.clear();
        int n = s.read(buf);
        if (n < 0) {
          break;
        }
        awaitWritable();
        if (!gone) {
          channel.writeAndFlush(frame(2 * c.index, buf.array(), 0, n));
        }
      }
    } catch (IOException | RuntimeException e) {
      if (c.socket == null) {
        failure =
            "error forwarding port " + c.port + " to " + request.owner() + ": " + e.getMessage();
        LOG.log(Level.INFO, "{0}", failure);
      }
    } finally {
      end(c, failure);
    }
  }

  private static void copyToPod(Connection c, SocketChannel s) {
    byte[] b;
    try {
      while ((b = c.toPod.take()) != null) {
        ByteBuffer buf = ByteBuffer.wrap(b);
        while (buf.hasRemaining()) {
          s.write(buf);
        }
      }
    } catch (IOException e) {
      // The pod's end is closed: the reader ends the connection.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void end(Connection c, String failure) {
    c.closeSocket();
    c.toPod.discard();
    if (gone) {
      return;
    }
    if (failure != null) {
      byte[] b = failure.getBytes(StandardCharsets.UTF_8);
      awaitWritable();
      channel.writeAndFlush(frame(2 * c.index + 1, b, 0, b.length));
    }
    if (running.decrementAndGet() == 0) {
      channel
          .writeAndFlush(new CloseWebSocketFrame(1000, "port forward done"))
          .addListener(ChannelFutureListener.CLOSE);
    }
  }

  private WebSocketFrame frame(int ch, byte[] b, int off, int len) {
    if (base64) {
      return new TextWebSocketFrame(
          (char) ('0' + ch)
              + Base64.getEncoder()
                  .encodeToString(java.util.Arrays.copyOfRange(b, off, off + len)));
    }
    ByteBuf out = Unpooled.buffer(len + 1);
    out.writeByte(ch);
    out.writeBytes(b, off, len);
    return new BinaryWebSocketFrame(out);
  }

  private void awaitWritable() {
    writability.await(channel, () -> gone);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    writability.changed();
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    gone = true;
    for (Connection c : connections) {
      c.closeSocket();
      c.toPod.discard();
    }
    writability.changed();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.log(Level.INFO, "{0}: port forward websocket: {1}", request.owner(), cause.toString());
    // Not at once, as in SpdySession: the decoder may still be in the read that failed.
    ctx.executor().execute(ctx::close);
  }

  /** The connection to one port of the request. */
  private static final class Connection {
    final int index;
    final int port;
    final ToPod toPod;
    SocketChannel socket;

    Connection(int index, int port, ToPod toPod) {
      this.index = index;
      this.port = port;
      this.toPod = toPod;
    }

    synchronized void closeSocket() {
      if (socket != null) {
        try {
          socket.close();
        } catch (IOException e) {
          // closed either way
        }
      }
    }
  }
}
