package io.krill.ttrpc;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One accepted client. Owns no thread: the server's I/O thread reads and decodes, handlers run on
 * the handler executor, and replies go out from whichever thread completes them, or are queued for
 * the I/O thread when the client is not reading fast enough.
 */
final class ServerConnection implements FrameDecoder.Sink {
  private static final System.Logger LOG = System.getLogger(ServerConnection.class.getName());

  /** Largest slice handed to one write: heap buffers are copied to a native one per write. */
  private static final int WRITE_CHUNK = 64 * 1024;

  /**
   * Replies waiting beyond this stop the reading of further requests until the client catches up.
   */
  static final long PAUSE_READING_BYTES = 1L << 20;

  /**
   * A client whose unread replies pass this has stopped reading for good (or never meant to), and
   * holding more would let it fill the daemon's heap.
   */
  static final long MAX_QUEUED_BYTES = 32L << 20;

  private final TtrpcServer server;
  private final SocketChannel channel;
  private final SelectionKey key;
  private final int id;
  private final FrameDecoder decoder = new FrameDecoder();
  private final AtomicBoolean closed = new AtomicBoolean();

  /** Guards the outbound queue, so frames from concurrent replies never interleave. */
  private final Object writeLock = new Object();

  private final ArrayDeque<ByteBuffer> outbound = new ArrayDeque<>();
  private long queuedBytes;
  private boolean readingPaused;

  /** Only touched by the I/O thread. Stream ids are uint32, hence unsigned comparisons. */
  private int lastStreamId;

  ServerConnection(TtrpcServer server, SocketChannel channel, SelectionKey key, int id) {
    this.server = server;
    this.channel = channel;
    this.key = key;
    this.id = id;
  }

  void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      channel.close();
    } catch (IOException e) {
      LOG.log(System.Logger.Level.DEBUG, "closing ttrpc connection " + id, e);
    }
    synchronized (writeLock) {
      outbound.clear();
      queuedBytes = 0;
    }
    server.connectionClosed(this);
  }

  /** I/O thread: one read, so a chatty client cannot starve the others. */
  void onReadable(ByteBuffer buf) {
    buf.clear();
    try {
      if (channel.read(buf) < 0) {
        if (decoder.midFrame()) {
          LOG.log(System.Logger.Level.DEBUG, "ttrpc connection " + id + ": EOF mid-frame");
        }
        close();
        return;
      }
    } catch (IOException e) {
      if (!closed.get()) {
        LOG.log(System.Logger.Level.DEBUG, "ttrpc connection " + id + " read failed", e);
      }
      close();
      return;
    }
    buf.flip();
    try {
      decoder.feed(buf, this);
    } catch (ProtocolException e) {
      LOG.log(
          System.Logger.Level.WARNING,
          "ttrpc connection " + id + ": " + e.getMessage() + "; closing only this connection");
      close();
    }
  }

  /** I/O thread: the socket has room again. */
  void onWritable() {
    synchronized (writeLock) {
      if (closed.get()) {
        return;
      }
      try {
        while (!outbound.isEmpty()) {
          ByteBuffer b = outbound.peek();
          queuedBytes -= writeSome(b);
          if (b.hasRemaining()) {
            break;
          }
          outbound.poll();
        }
      } catch (IOException e) {
        writeFailed(e);
        return;
      }
      try {
        if (outbound.isEmpty()) {
          key.interestOpsAnd(~SelectionKey.OP_WRITE);
        }
        if (readingPaused && queuedBytes < PAUSE_READING_BYTES) {
          readingPaused = false;
          key.interestOpsOr(SelectionKey.OP_READ);
        }
      } catch (CancelledKeyException e) {
        // closed meanwhile
      }
    }
  }

  @Override
  public void onOversize(int streamId, byte type, long length) {
    // The data was skipped, so the stream stays in sync and only this call fails.
    sendStatus(streamId, Code.RESOURCE_EXHAUSTED, Frame.oversizeMessage(length));
  }

  @Override
  public void onFrame(Frame frame) {
    if (frame.type() != Frame.TYPE_REQUEST) {
      // Data frames belong to streaming RPCs, which the containerd task API never uses;
      // anything else from a client is meaningless. Neither is worth dropping the peer.
      LOG.log(
          System.Logger.Level.DEBUG,
          "ttrpc connection "
              + id
              + ": ignoring frame type "
              + frame.type()
              + " on stream "
              + Integer.toUnsignedString(frame.streamId()));
      return;
    }
    int streamId = frame.streamId();
    if ((streamId & 1) == 0) {
      sendStatus(
          streamId, Code.INVALID_ARGUMENT, "StreamID must be odd for client initiated streams");
      return;
    }
    if (Integer.compareUnsigned(streamId, lastStreamId) <= 0) {
      sendStatus(streamId, Code.INVALID_ARGUMENT, "StreamID cannot be re-used and must increment");
      return;
    }
    lastStreamId = streamId;
    RequestMessage req;
    try {
      req = RequestMessage.decode(frame.data());
    } catch (InvalidProtocolBufferException e) {
      sendStatus(streamId, Code.INVALID_ARGUMENT, "unmarshal request error: " + e.getMessage());
      return;
    }
    Handler handler;
    try {
      handler = server.lookup(req.service(), req.method());
    } catch (TtrpcException e) {
      sendStatus(streamId, e.code(), e.getMessage());
      return;
    }
    RequestContext ctx =
        new RequestContext(req.service(), req.method(), req.timeoutNanos(), req.metadata());
    try {
      server.handlerExecutor().execute(() -> invoke(streamId, handler, ctx, req.payload()));
    } catch (RejectedExecutionException e) {
      sendStatus(
          streamId,
          Code.UNAVAILABLE,
          server.isClosed()
              ? "server is shutting down"
              : "server is overloaded: too many calls waiting for a handler; retry "
                  + req.service()
                  + "/"
                  + req.method());
    }
  }

  private void invoke(int streamId, Handler handler, RequestContext ctx, byte[] payload) {
    CompletionStage<byte[]> stage;
    try {
      stage = handler.handle(ctx, payload);
    } catch (Throwable t) {
      reply(streamId, null, t);
      if (t instanceof VirtualMachineError vme) {
        throw vme;
      }
      return;
    }
    if (stage == null) {
      reply(streamId, null, null);
      return;
    }
    stage.whenComplete((result, error) -> reply(streamId, result, error));
  }

  private void reply(int streamId, byte[] result, Throwable error) {
    ResponseMessage resp;
    if (error == null) {
      resp = ResponseMessage.ok(result);
    } else {
      Throwable cause = unwrap(error);
      if (cause instanceof TtrpcException te && te.code() != Code.OK) {
        resp = ResponseMessage.error(te.code(), te.getMessage());
      } else {
        String msg = cause.getMessage() != null ? cause.getMessage() : cause.getClass().getName();
        resp = ResponseMessage.error(Code.UNKNOWN, msg);
      }
    }
    byte[] data = resp.encode();
    if (data.length > Frame.MAX_DATA) {
      // The client would discard it anyway; tell it why instead.
      data =
          ResponseMessage.error(Code.RESOURCE_EXHAUSTED, Frame.oversizeMessage(data.length))
              .encode();
    }
    send(Frame.of(streamId, Frame.TYPE_RESPONSE, data));
  }

  private void sendStatus(int streamId, Code code, String message) {
    send(Frame.of(streamId, Frame.TYPE_RESPONSE, ResponseMessage.error(code, message).encode()));
  }

  /**
   * Never blocks: writes what the socket takes now and queues the rest for the I/O thread, so a
   * client that does not read holds up no handler thread.
   */
  private void send(Frame frame) {
    ByteBuffer[] parts =
        frame.data().length <= WRITE_CHUNK
            ? new ByteBuffer[] {ByteBuffer.wrap(frame.toBytes())}
            : new ByteBuffer[] {frame.header(), ByteBuffer.wrap(frame.data())};
    synchronized (writeLock) {
      if (closed.get()) {
        return;
      }
      try {
        for (ByteBuffer p : parts) {
          if (outbound.isEmpty()) {
            writeSome(p);
          }
          if (p.hasRemaining()) {
            outbound.add(p);
            queuedBytes += p.remaining();
          }
        }
      } catch (IOException e) {
        writeFailed(e);
        return;
      }
      if (outbound.isEmpty()) {
        return;
      }
      if (queuedBytes > MAX_QUEUED_BYTES) {
        LOG.log(
            System.Logger.Level.WARNING,
            "ttrpc connection "
                + id
                + ": the client is not reading its replies ("
                + queuedBytes
                + " bytes waiting); closing only this connection");
        close();
        return;
      }
      try {
        key.interestOpsOr(SelectionKey.OP_WRITE);
        if (!readingPaused && queuedBytes >= PAUSE_READING_BYTES) {
          readingPaused = true;
          key.interestOpsAnd(~SelectionKey.OP_READ);
        }
      } catch (CancelledKeyException e) {
        return;
      }
    }
    server.wakeup();
  }

  /** Writes as much of {@code b} as the socket takes now; returns the byte count written. */
  private int writeSome(ByteBuffer b) throws IOException {
    int total = 0;
    while (b.hasRemaining()) {
      int n = Math.min(b.remaining(), WRITE_CHUNK);
      ByteBuffer slice = b.slice(b.position(), n);
      int written = channel.write(slice);
      b.position(b.position() + written);
      total += written;
      if (written < n) {
        break;
      }
    }
    return total;
  }

  private void writeFailed(IOException e) {
    // A half-written frame leaves the stream unusable, so drop the connection.
    LOG.log(System.Logger.Level.DEBUG, "ttrpc connection " + id + " write failed", e);
    close();
  }

  static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
