package io.krill.cri.streaming;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.spdy.DefaultSpdyDataFrame;
import io.netty.handler.codec.spdy.DefaultSpdyPingFrame;
import io.netty.handler.codec.spdy.DefaultSpdyRstStreamFrame;
import io.netty.handler.codec.spdy.DefaultSpdySynReplyFrame;
import io.netty.handler.codec.spdy.SpdyDataFrame;
import io.netty.handler.codec.spdy.SpdyPingFrame;
import io.netty.handler.codec.spdy.SpdyRstStreamFrame;
import io.netty.handler.codec.spdy.SpdyStreamStatus;
import io.netty.handler.codec.spdy.SpdySynStreamFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One upgraded port forward connection ({@code portforward.k8s.io} over SPDY/3.1, as kubelet's
 * streaming server speaks it). For each forwarded connection the client opens two streams with the
 * same {@code requestID} header: {@code error} and {@code data}, each naming the {@code port}. Once
 * both are open, the pod's port is connected ({@link ForwardRequest.Forwarder}) and bytes are
 * copied both ways on the data stream; a connection that fails is reported as text on the error
 * stream. The pair ends when either side does: the pod closing its end (or failing) finishes both
 * streams, the client finishing the data stream half-closes the pod's end, and the client resetting
 * it closes the pod's end. The connection itself lasts until the client closes it, carrying any
 * number of pairs, in sequence or at once.
 *
 * <p>As in {@link SpdySession}, SPDY flow control is not applied (spdystream neither sends nor
 * honours WINDOW_UPDATE): what the pod sends is paced by TCP, and what the client sends is paused
 * while a pod does not read it.
 */
final class PortForwardSession extends ChannelInboundHandlerAdapter {
  private static final System.Logger LOG = System.getLogger("krill.cri");

  static final String PROTOCOL = "portforward.k8s.io";

  private static final String STREAM_TYPE = "streamtype";
  private static final String PORT = "port";
  private static final String REQUEST_ID = "requestid";

  /** Until the client has opened both streams of a pair; kubelet waits as long. */
  private static final long PAIR_CREATION_TIMEOUT_SECONDS = 30;

  private static final int MAX_FRAME = 32 * 1024;

  /** Client bytes held for a pod that does not read them before the client is paused. */
  private static final int TO_POD_HIGH_WATER = 1 << 20;

  private final ForwardRequest request;
  private final ExecutorService sessions;

  /** Pairs still waiting for a stream, by request id; event loop only. */
  private final Map<String, Pair> waiting = new HashMap<>();

  /** Every stream of a pair not yet ended, by stream id; event loop only. */
  private final Map<Integer, Pair> byStream = new HashMap<>();

  private final Set<Pair> forwarding = ConcurrentHashMap.newKeySet();
  private final Writability writability = new Writability();
  private volatile boolean gone;
  private Channel channel;
  private boolean closing;

  PortForwardSession(ForwardRequest request, ExecutorService sessions) {
    this.request = request;
    this.sessions = sessions;
  }

  /**
   * {@link #PROTOCOL} if the client offers it (in one or more {@code X-Stream-Protocol-Version}
   * headers, each possibly a comma-separated list); null otherwise, as kubelet refuses a client
   * that offers none.
   */
  static String negotiate(List<String> offered) {
    for (String h : offered) {
      for (String p : h.split(",")) {
        if (p.strip().equals(PROTOCOL)) {
          return PROTOCOL;
        }
      }
    }
    return null;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (closing) {
        return;
      }
      if (msg instanceof SpdySynStreamFrame f) {
        opened(ctx, f);
      } else if (msg instanceof SpdyDataFrame f) {
        Pair p = byStream.get(f.streamId());
        // What the client sends on an error stream (only its FIN) is not read.
        if (p != null && p.data != null && p.data == f.streamId()) {
          if (f.content().isReadable()) {
            byte[] b = new byte[f.content().readableBytes()];
            f.content().readBytes(b);
            p.toPod.offer(b);
          }
          if (f.isLast()) {
            p.toPod.finish();
          }
        }
      } else if (msg instanceof SpdyRstStreamFrame f) {
        Pair p = byStream.get(f.streamId());
        if (p != null) {
          // client-go resets the data stream once it has all the pod sent, or gave up on it.
          p.clientReset = true;
          if (waiting.get(p.requestId) == p) {
            waiting.remove(p.requestId);
            p.timeout.cancel(false);
            forget(p);
          } else {
            p.closeSocket();
          }
        }
      } else if (msg instanceof SpdyPingFrame f) {
        if ((f.id() & 1) == 1) {
          ctx.writeAndFlush(new DefaultSpdyPingFrame(f.id()));
        }
      }
      // SETTINGS, WINDOW_UPDATE, HEADERS and GOAWAY change nothing here; the client closes the
      // connection when it is done.
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private void opened(ChannelHandlerContext ctx, SpdySynStreamFrame f) {
    String type = f.headers().getAsString(STREAM_TYPE);
    String portText = f.headers().getAsString(PORT);
    String why = null;
    int port = 0;
    if (type == null || !(type.equals("error") || type.equals("data"))) {
      why = "stream type " + (type == null ? "(none)" : "'" + type + "'") + " is not error or data";
    } else {
      try {
        port = portText == null ? 0 : Integer.parseInt(portText);
      } catch (NumberFormatException e) {
        port = 0;
      }
      if (port < 1 || port > 65535) {
        why = "port " + (portText == null ? "(none)" : "'" + portText + "'") + " is not 1 to 65535";
      }
    }
    String requestId = f.headers().getAsString(REQUEST_ID);
    if (why == null && (requestId == null || requestId.isEmpty())) {
      // An old client without request ids opens error, then data, one pair at a time: pair them
      // by stream id as kubelet does.
      requestId = Integer.toString(type.equals("error") ? f.streamId() : f.streamId() - 2);
    }
    Pair p = why == null ? waiting.get(requestId) : null;
    if (why == null && p != null && (type.equals("error") ? p.error : p.data) != null) {
      why = "request " + requestId + " already has its " + type + " stream";
    }
    if (why != null) {
      LOG.log(
          Level.INFO,
          "{0}: refusing port forward stream {1}: {2}",
          request.owner(),
          f.streamId(),
          why);
      ctx.writeAndFlush(
          new DefaultSpdyRstStreamFrame(f.streamId(), SpdyStreamStatus.REFUSED_STREAM));
      return;
    }
    if (p == null) {
      Pair fresh = new Pair(requestId);
      fresh.timeout =
          ctx.executor()
              .schedule(() -> timedOut(fresh), PAIR_CREATION_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      waiting.put(requestId, fresh);
      p = fresh;
    }
    if (type.equals("error")) {
      p.error = f.streamId();
    } else {
      p.data = f.streamId();
      p.port = port;
    }
    byStream.put(f.streamId(), p);
    // netty encodes an empty header set as an empty block, which spdystream cannot inflate; echo
    // the type.
    DefaultSpdySynReplyFrame reply = new DefaultSpdySynReplyFrame(f.streamId());
    reply.headers().set(STREAM_TYPE, type);
    ctx.writeAndFlush(reply);
    if (type.equals("data") && f.isLast()) {
      p.toPod.finish();
    }
    if (p.error != null && p.data != null) {
      p.timeout.cancel(false);
      waiting.remove(requestId);
      forwarding.add(p);
      Pair ready = p;
      sessions.execute(() -> forward(ready));
    }
  }

  private void timedOut(Pair p) {
    if (waiting.remove(p.requestId) != p) {
      return;
    }
    String message =
        "error forwarding to "
            + request.owner()
            + ": request "
            + p.requestId
            + " opened only its "
            + (p.error != null ? "error" : "data")
            + " stream in "
            + PAIR_CREATION_TIMEOUT_SECONDS
            + "s; a client opens both";
    LOG.log(Level.INFO, "{0}", message);
    if (p.error != null) {
      byte[] b = message.getBytes(StandardCharsets.UTF_8);
      channel.write(new DefaultSpdyDataFrame(p.error, Unpooled.wrappedBuffer(b)));
    }
    finishStreams(p);
    forget(p);
  }

  /** On a session thread: connects to the pod's port, then copies what the pod sends. */
  private void forward(Pair p) {
    String failure = null;
    try {
      SocketChannel s = request.forwarder().connect(p.port);
      synchronized (p) {
        p.socket = s;
      }
      if (gone || p.clientReset) {
        p.closeSocket();
      } else {
        sessions.execute(() -> copyToPod(p, s));
        copyFromPod(p, s);
      }
    } catch (IOException | RuntimeException e) {
      failure =
          "error forwarding port " + p.port + " to " + request.owner() + ": " + e.getMessage();
      LOG.log(Level.INFO, "{0}", failure);
    } finally {
      end(p, failure);
    }
  }

  private void copyFromPod(Pair p, SocketChannel s) {
    ByteBuffer buf = ByteBuffer.allocate(MAX_FRAME);
    try {
      while (!gone && !p.clientReset) {
        buf.clear();
        int n = s.read(buf);
        if (n < 0) {
          return;
        }
        awaitWritable();
        if (gone || p.clientReset) {
          return;
        }
        channel.writeAndFlush(
            new DefaultSpdyDataFrame(p.data, Unpooled.copiedBuffer(buf.array(), 0, n)));
      }
    } catch (IOException e) {
      // The pod reset its end, or the client's reset closed it: the pair ends either way.
      LOG.log(
          Level.DEBUG,
          "{0}: port {1} (request {2}): {3}",
          request.owner(),
          p.port,
          p.requestId,
          e.toString());
    }
  }

  /** On a session thread: copies what the client sends to the pod, then half-closes. */
  private void copyToPod(Pair p, SocketChannel s) {
    byte[] b;
    try {
      while ((b = p.toPod.take()) != null) {
        ByteBuffer buf = ByteBuffer.wrap(b);
        while (buf.hasRemaining()) {
          s.write(buf);
        }
      }
      if (s.isOpen()) {
        s.shutdownOutput();
      }
    } catch (IOException e) {
      // The pod's end is closed: copyFromPod ends the pair.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Writes {@code failure} (if any) on the error stream and finishes both streams, once. */
  private void end(Pair p, String failure) {
    if (!p.ended.compareAndSet(false, true)) {
      return;
    }
    p.closeSocket();
    p.toPod.discard();
    forwarding.remove(p);
    if (!gone) {
      if (failure != null) {
        byte[] b = failure.getBytes(StandardCharsets.UTF_8);
        awaitWritable();
        channel.write(new DefaultSpdyDataFrame(p.error, Unpooled.wrappedBuffer(b)));
      }
      finishStreams(p);
    }
    channel.eventLoop().execute(() -> forget(p));
  }

  private void finishStreams(Pair p) {
    for (Integer id : new Integer[] {p.error, p.data}) {
      if (id != null) {
        DefaultSpdyDataFrame fin = new DefaultSpdyDataFrame(id);
        fin.setLast(true);
        channel.write(fin);
      }
    }
    channel.flush();
  }

  private void forget(Pair p) {
    if (p.error != null) {
      byStream.remove(p.error);
    }
    if (p.data != null) {
      byStream.remove(p.data);
    }
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
    for (Pair p : waiting.values()) {
      p.timeout.cancel(false);
    }
    waiting.clear();
    for (Pair p : forwarding) {
      p.closeSocket();
      p.toPod.finish();
    }
    writability.changed();
    LOG.log(Level.DEBUG, "{0}: port forward connection closed", request.owner());
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (closing) {
      return;
    }
    closing = true;
    LOG.log(Level.INFO, "{0}: port forward stream: {1}", request.owner(), cause.toString());
    // Not at once: the codec is still decoding the read that failed (see SpdySession).
    ctx.executor().execute(ctx::close);
  }

  /** One forwarded connection: its two streams, the pod's socket, and the bytes for the pod. */
  private final class Pair {
    final String requestId;
    final ToPod toPod = new ToPod(channel, TO_POD_HIGH_WATER);
    final AtomicBoolean ended = new AtomicBoolean();
    Integer error;
    Integer data;
    int port;
    ScheduledFuture<?> timeout;
    SocketChannel socket;
    volatile boolean clientReset;

    Pair(String requestId) {
      this.requestId = requestId;
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
