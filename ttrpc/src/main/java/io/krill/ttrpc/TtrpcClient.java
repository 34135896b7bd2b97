package io.krill.ttrpc;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.EOFException;
import java.io.IOException;
import java.net.ProtocolException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/** A ttrpc client on one unix socket connection; calls may be issued from any thread. */
public final class TtrpcClient implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(TtrpcClient.class.getName());
  private static final AtomicInteger CLIENT_IDS = new AtomicInteger();
  private static final long MAX_STREAM_ID = 0xFFFF_FFFFL;

  private static final ScheduledThreadPoolExecutor TIMER = timer();

  /**
   * Futures are completed here rather than on the reader or timer thread: a caller that blocks
   * inside a dependent stage (say, joining another call) would otherwise stall every response on
   * the connection, or deadlock outright.
   */
  private static final Executor CALLBACKS =
      new ThreadPoolExecutor(
          0,
          Integer.MAX_VALUE,
          30,
          TimeUnit.SECONDS,
          new SynchronousQueue<>(),
          daemonThreads("ttrpc-client-callback-"));

  private final SocketChannel channel;
  private final int id;
  private final Map<Integer, CompletableFuture<byte[]>> pending = new ConcurrentHashMap<>();

  /** Also orders stream id allocation with writes: the server rejects ids that go backwards. */
  private final Object writeLock = new Object();

  private long nextStreamId = 1;
  private final AtomicBoolean closed = new AtomicBoolean();

  private TtrpcClient(SocketChannel channel) {
    this.channel = channel;
    this.id = CLIENT_IDS.incrementAndGet();
  }

  public static TtrpcClient connect(Path socket) throws IOException {
    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      ch.connect(UnixDomainSocketAddress.of(socket));
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
    TtrpcClient client = new TtrpcClient(ch);
    Thread reader = new Thread(client::readLoop, "ttrpc-client-" + client.id);
    reader.setDaemon(true);
    reader.start();
    return client;
  }

  /**
   * Sends one unary request. The future fails with {@link TtrpcException} for a non-OK status
   * (DEADLINE_EXCEEDED when {@code timeout} elapses first) and with an {@link IOException} when the
   * connection is or becomes closed. Dependent stages never run on the reader thread.
   */
  public CompletableFuture<byte[]> call(
      String service,
      String method,
      byte[] payload,
      Duration timeout,
      Map<String, String> metadata) {
    CompletableFuture<byte[]> f = new CompletableFuture<>();
    long timeoutNanos = 0;
    if (timeout != null) {
      if (timeout.isZero() || timeout.isNegative()) {
        f.completeExceptionally(deadline(service, method, timeout));
        return f;
      }
      timeoutNanos = saturatedNanos(timeout);
    }
    byte[] data =
        new RequestMessage(service, method, payload, timeoutNanos, asMulti(metadata)).encode();
    if (data.length > Frame.MAX_DATA) {
      f.completeExceptionally(
          new TtrpcException(Code.RESOURCE_EXHAUSTED, Frame.oversizeMessage(data.length)));
      return f;
    }
    int streamId;
    synchronized (writeLock) {
      if (closed.get()) {
        f.completeExceptionally(new IOException("ttrpc: client closed"));
        return f;
      }
      if (nextStreamId > MAX_STREAM_ID) {
        f.completeExceptionally(new IOException("ttrpc: stream ids exhausted on this connection"));
        return f;
      }
      streamId = (int) nextStreamId;
      nextStreamId += 2;
      pending.put(streamId, f);
      try {
        Frame.of(streamId, Frame.TYPE_REQUEST, data).writeTo(channel);
      } catch (IOException e) {
        // A partial frame may be on the wire, so the connection cannot be reused;
        // closeWith fails f together with every other pending call.
        closeWith(e);
        return f;
      }
    }
    ScheduledFuture<?> timer = null;
    if (timeout != null) {
      timer =
          TIMER.schedule(
              () -> {
                if (pending.remove(streamId, f)) {
                  completeLater(f, null, deadline(service, method, timeout));
                }
              },
              timeoutNanos,
              TimeUnit.NANOSECONDS);
    }
    ScheduledFuture<?> t = timer;
    f.whenComplete(
        (r, e) -> {
          // Covers caller cancellation as well as normal completion.
          pending.remove(streamId, f);
          if (t != null) {
            t.cancel(false);
          }
        });
    return f;
  }

  public boolean isClosed() {
    return closed.get();
  }

  /** Fails all pending calls with an IOException and closes the socket. */
  @Override
  public void close() {
    closeWith(null);
  }

  private void closeWith(IOException cause) {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      channel.close();
    } catch (IOException e) {
      LOG.log(System.Logger.Level.DEBUG, "closing ttrpc client " + id, e);
    }
    // Taken after closing the channel, which unblocks any writer holding the lock; every
    // call that registered before this point is drained, every later one sees closed.
    synchronized (writeLock) {
      for (Integer sid : List.copyOf(pending.keySet())) {
        CompletableFuture<byte[]> f = pending.remove(sid);
        if (f != null) {
          String why =
              cause == null
                  ? "ttrpc: client closed"
                  : "ttrpc: connection closed: " + cause.getMessage();
          completeLater(f, null, new IOException(why, cause));
        }
      }
    }
  }

  private void readLoop() {
    ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
    FrameDecoder decoder = new FrameDecoder();
    FrameDecoder.Sink sink =
        new FrameDecoder.Sink() {
          @Override
          public void onFrame(Frame frame) {
            onResponse(frame);
          }

          @Override
          public void onOversize(int streamId, byte type, long length) {
            CompletableFuture<byte[]> f = pending.remove(streamId);
            if (f != null) {
              completeLater(
                  f,
                  null,
                  new TtrpcException(Code.RESOURCE_EXHAUSTED, Frame.oversizeMessage(length)));
            }
          }
        };
    IOException cause = null;
    try {
      while (!closed.get()) {
        if (channel.read(buf) < 0) {
          cause = new EOFException(decoder.midFrame() ? "EOF mid-frame" : "EOF");
          break;
        }
        buf.flip();
        decoder.feed(buf, sink);
        buf.clear();
      }
    } catch (ProtocolException e) {
      LOG.log(System.Logger.Level.WARNING, "ttrpc client " + id + ": " + e.getMessage());
      cause = e;
    } catch (IOException e) {
      cause = e;
    } finally {
      closeWith(cause == null ? new IOException("reader stopped") : cause);
    }
  }

  private void onResponse(Frame frame) {
    if (frame.type() != Frame.TYPE_RESPONSE) {
      return;
    }
    // Unknown ids are late replies to calls that already timed out or were cancelled.
    CompletableFuture<byte[]> f = pending.remove(frame.streamId());
    if (f == null) {
      return;
    }
    ResponseMessage resp;
    try {
      resp = ResponseMessage.decode(frame.data());
    } catch (InvalidProtocolBufferException e) {
      completeLater(
          f,
          null,
          new TtrpcException(Code.INTERNAL, "unmarshal response error: " + e.getMessage(), e));
      return;
    }
    if (resp.isOk()) {
      completeLater(f, resp.payload(), null);
    } else {
      completeLater(f, null, new TtrpcException(Code.of(resp.code()), resp.message()));
    }
  }

  private static void completeLater(CompletableFuture<byte[]> f, byte[] value, Throwable error) {
    Runnable r = error == null ? () -> f.complete(value) : () -> f.completeExceptionally(error);
    try {
      CALLBACKS.execute(r);
    } catch (RuntimeException e) {
      r.run();
    }
  }

  private static TtrpcException deadline(String service, String method, Duration timeout) {
    return new TtrpcException(
        Code.DEADLINE_EXCEEDED, "ttrpc: " + service + "/" + method + " timed out after " + timeout);
  }

  private static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  private static Map<String, List<String>> asMulti(Map<String, String> metadata) {
    if (metadata == null || metadata.isEmpty()) {
      return Map.of();
    }
    Map<String, List<String>> m = new LinkedHashMap<>();
    metadata.forEach((k, v) -> m.put(k, List.of(v == null ? "" : v)));
    return m;
  }

  private static ScheduledThreadPoolExecutor timer() {
    ScheduledThreadPoolExecutor t =
        new ScheduledThreadPoolExecutor(1, daemonThreads("ttrpc-client-timer-"));
    // Most calls finish long before their deadline; don't keep dead timers queued.
    t.setRemoveOnCancelPolicy(true);
    return t;
  }

  private static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
