package io.krill.cri.streaming;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.spdy.DefaultSpdyDataFrame;
import io.netty.handler.codec.spdy.DefaultSpdyGoAwayFrame;
import io.netty.handler.codec.spdy.DefaultSpdyPingFrame;
import io.netty.handler.codec.spdy.DefaultSpdyRstStreamFrame;
import io.netty.handler.codec.spdy.DefaultSpdySynReplyFrame;
import io.netty.handler.codec.spdy.SpdyDataFrame;
import io.netty.handler.codec.spdy.SpdyGoAwayFrame;
import io.netty.handler.codec.spdy.SpdyPingFrame;
import io.netty.handler.codec.spdy.SpdyRstStreamFrame;
import io.netty.handler.codec.spdy.SpdyStreamStatus;
import io.netty.handler.codec.spdy.SpdySynStreamFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One upgraded streaming connection. The client opens its streams (error first, then stdin, stdout,
 * stderr, resize as requested); each gets a SYN_REPLY at once. When all are open the {@link
 * Session} runs on its own thread: stdin arrives as DATA frames, output leaves as DATA frames, and
 * at the end the outcome is written on the error stream, every stream is finished and the
 * connection is half-closed.
 *
 * <p>SPDY/3.1 flow control is not applied: the client library kubelet, kubectl and crictl share
 * (spdystream) neither sends nor honours WINDOW_UPDATE, so output is paced by TCP instead (a writer
 * waits while the channel is not writable).
 */
final class SpdySession extends ChannelInboundHandlerAdapter {
  private static final System.Logger LOG = System.getLogger("krill.cri");

  /** Until the client has opened all its streams; kubelet waits as long. */
  private static final long STREAM_CREATION_TIMEOUT_SECONDS = 30;

  private static final int MAX_FRAME = 32 * 1024;

  /** Stdin bytes held for a guest that does not read them before the client is paused. */
  private static final int STDIN_HIGH_WATER = 1 << 20;

  private final StreamRequest request;
  private final int version;
  private final ExecutorService sessions;
  private final Map<String, Integer> streams = new HashMap<>();
  private final StdinPipe stdin = new StdinPipe();
  private final AtomicBoolean gone = new AtomicBoolean();
  private final Writability writability = new Writability();
  private volatile Runnable onGone = () -> {};
  private Channel channel;
  private ScheduledFuture<?> creationTimeout;
  private boolean started;
  private boolean closing;

  SpdySession(StreamRequest request, int version, ExecutorService sessions) {
    this.request = request;
    this.version = version;
    this.sessions = sessions;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
    creationTimeout =
        ctx.executor()
            .schedule(
                () -> {
                  LOG.log(
                      Level.INFO,
                      "container {0}: the {1} client opened {2} of {3} streams in {4}s; closing",
                      request.containerId(),
                      request.kind().path,
                      streams.size(),
                      RemoteCommand.expectedStreams(request, version),
                      STREAM_CREATION_TIMEOUT_SECONDS);
                  ctx.close();
                },
                STREAM_CREATION_TIMEOUT_SECONDS,
                TimeUnit.SECONDS);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (closing) {
        // The rest of the read that failed: decoded, not acted on.
        return;
      }
      if (msg instanceof SpdySynStreamFrame f) {
        opened(ctx, f);
      } else if (msg instanceof SpdyDataFrame f) {
        Integer in = streams.get("stdin");
        if (in != null && in == f.streamId()) {
          if (f.content().isReadable()) {
            byte[] b = new byte[f.content().readableBytes()];
            f.content().readBytes(b);
            if (stdin.offer(b) > STDIN_HIGH_WATER) {
              channel.config().setAutoRead(false);
            }
          }
          if (f.isLast()) {
            stdin.finish();
          }
        }
        // Resize events carry a terminal size; a wasm guest has no terminal to resize.
      } else if (msg instanceof SpdyRstStreamFrame f) {
        Integer in = streams.get("stdin");
        if (in != null && in == f.streamId()) {
          stdin.finish();
        }
      } else if (msg instanceof SpdyPingFrame f) {
        if ((f.id() & 1) == 1) {
          ctx.writeAndFlush(new DefaultSpdyPingFrame(f.id()));
        }
      } else if (msg instanceof SpdyGoAwayFrame) {
        stdin.finish();
      }
      // SETTINGS, WINDOW_UPDATE and HEADERS change nothing here.
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private void opened(ChannelHandlerContext ctx, SpdySynStreamFrame f) {
    String type = f.headers().getAsString(RemoteCommand.STREAM_TYPE);
    boolean wanted =
        type != null
            && switch (type) {
              case "error" -> true;
              case "stdin" -> request.stdin();
              case "stdout" -> request.stdout();
              case "stderr" -> request.stderr();
              case "resize" -> request.tty() && version >= 3;
              default -> false;
            };
    if (!wanted || streams.containsKey(type) || started) {
      LOG.log(
          Level.INFO,
          "container {0}: refusing unexpected stream {1} (type {2})",
          request.containerId(),
          f.streamId(),
          type);
      ctx.writeAndFlush(
          new DefaultSpdyRstStreamFrame(f.streamId(), SpdyStreamStatus.REFUSED_STREAM));
      return;
    }
    streams.put(type, f.streamId());
    // netty encodes an empty header set as an empty block, which spdystream cannot inflate; echo
    // the type.
    DefaultSpdySynReplyFrame reply = new DefaultSpdySynReplyFrame(f.streamId());
    reply.headers().set(RemoteCommand.STREAM_TYPE, type);
    ctx.writeAndFlush(reply);
    if (type.equals("stdin") && f.isLast()) {
      stdin.finish();
    }
    if (streams.size() == RemoteCommand.expectedStreams(request, version)) {
      started = true;
      creationTimeout.cancel(false);
      sessions.execute(this::run);
    }
  }

  private void run() {
    OutputStream out = output("stdout");
    OutputStream err = output("stderr");
    Session.Outcome outcome;
    try {
      outcome =
          request
              .session()
              .run(
                  new Session.Streams() {
                    @Override
                    public InputStream stdin() {
                      return request.stdin() ? stdin : null;
                    }

                    @Override
                    public OutputStream stdout() {
                      return out;
                    }

                    @Override
                    public OutputStream stderr() {
                      return err;
                    }

                    @Override
                    public boolean tty() {
                      return request.tty();
                    }

                    @Override
                    public void onClientGone(Runnable action) {
                      onGone = action;
                      if (gone.get()) {
                        action.run();
                      }
                    }
                  });
    } catch (Exception e) {
      LOG.log(
          Level.WARNING,
          "container {0}: {1} failed: {2}",
          request.containerId(),
          request.kind().path,
          e);
      outcome =
          new Session.Outcome.Failed(
              "container "
                  + request.containerId()
                  + ": "
                  + request.kind().path
                  + " failed: "
                  + e.getMessage());
    }
    finish(outcome);
  }

  private void finish(Session.Outcome outcome) {
    byte[] status = RemoteCommand.status(outcome, version);
    int error = streams.get("error");
    if (status.length > 0) {
      write(error, status, 0, status.length);
    }
    for (int id : streams.values()) {
      DefaultSpdyDataFrame fin = new DefaultSpdyDataFrame(id);
      fin.setLast(true);
      channel.write(fin);
    }
    int last = streams.values().stream().mapToInt(Integer::intValue).max().orElse(0);
    // Then half-close: a client still sending (a ping) must not meet a reset that could discard
    // unread output.
    channel
        .writeAndFlush(new DefaultSpdyGoAwayFrame(last))
        .addListener(
            (ChannelFutureListener)
                f -> {
                  if (channel instanceof SocketChannel s && s.isActive()) {
                    s.shutdownOutput();
                    s.eventLoop().schedule(() -> s.close(), 10, TimeUnit.SECONDS);
                  } else {
                    channel.close();
                  }
                });
  }

  private OutputStream output(String type) {
    Integer id = streams.get(type);
    if (id == null) {
      return null;
    }
    return new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        SpdySession.this.write(id, b, off, len);
      }
    };
  }

  /**
   * Sends data on a stream, waiting while the socket is backed up; dropped once the client is gone.
   */
  private void write(int streamId, byte[] b, int off, int len) {
    while (len > 0) {
      int n = Math.min(len, MAX_FRAME);
      awaitWritable();
      if (gone.get()) {
        return;
      }
      channel.writeAndFlush(new DefaultSpdyDataFrame(streamId, Unpooled.copiedBuffer(b, off, n)));
      off += n;
      len -= n;
    }
  }

  private void awaitWritable() {
    writability.await(channel, () -> gone.get());
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    writability.changed();
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (creationTimeout != null) {
      creationTimeout.cancel(false);
    }
    gone.set(true);
    stdin.finish();
    writability.changed();
    onGone.run();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (closing) {
      return;
    }
    closing = true;
    LOG.log(
        Level.INFO,
        "container {0}: {1} stream: {2}",
        request.containerId(),
        request.kind().path,
        cause.toString());
    // Not at once: the codec is still decoding the read that failed, and a close releases its
    // inflater and buffers under it (a NullPointerException, a buffer allocated after and leaked).
    ctx.executor().execute(ctx::close);
  }

  /**
   * The client's stdin as an InputStream; frames are queued by the event loop and read by the
   * session.
   */
  private final class StdinPipe extends InputStream {
    private final ArrayDeque<byte[]> chunks = new ArrayDeque<>();
    private byte[] current;
    private int pos;
    private int queued;
    private boolean eof;

    synchronized int offer(byte[] b) {
      if (!eof) {
        chunks.add(b);
        queued += b.length;
        notifyAll();
      }
      return queued;
    }

    synchronized void finish() {
      eof = true;
      notifyAll();
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public synchronized int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      while (current == null || pos == current.length) {
        current = chunks.poll();
        pos = 0;
        if (current != null) {
          break;
        }
        if (eof) {
          return -1;
        }
        try {
          wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted reading stdin", e);
        }
      }
      int n = Math.min(len, current.length - pos);
      System.arraycopy(current, pos, b, off, n);
      pos += n;
      queued -= n;
      if (queued < STDIN_HIGH_WATER / 2 && channel != null && !channel.config().isAutoRead()) {
        channel.config().setAutoRead(true);
      }
      return n;
    }
  }
}
